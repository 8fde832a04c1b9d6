"""The fleet as a list of plain rows (for ``deployer list`` and anyone scripting against it)."""

from __future__ import annotations

from typing import TypedDict

from deployer.config.model import Fleet


class HubRow(TypedDict):
    name: str
    display_name: str | None
    chart: str
    canary: bool
    domain: str


class ClusterRow(TypedDict):
    cluster: str
    provider: str
    support: bool  # whether the cluster has a support chart
    hubs: list[HubRow]


def inventory(fleet: Fleet) -> list[ClusterRow]:
    return [
        {
            "cluster": c.name,
            "provider": c.provider,
            "support": c.support is not None,
            "hubs": [
                {
                    "name": h.name,
                    "display_name": h.display_name,
                    "chart": h.helm_chart,
                    "canary": h.canary,
                    "domain": h.domain,
                }
                for h in c.hubs
            ],
        }
        for c in fleet.clusters
    ]


def inventory_table(rows: list[ClusterRow]) -> str:
    header = ("CLUSTER", "PROVIDER", "HUB", "CHART", "CANARY", "DOMAIN")
    table: list[tuple[str, ...]] = [header]
    for cluster in rows:
        if cluster["support"]:
            table.append((cluster["cluster"], cluster["provider"], "(support)", "support", "", ""))
        for hub in cluster["hubs"]:
            table.append(
                (
                    cluster["cluster"],
                    cluster["provider"],
                    hub["name"],
                    hub["chart"],
                    "yes" if hub["canary"] else "no",
                    hub["domain"],
                )
            )
        if not cluster["support"] and not cluster["hubs"]:
            table.append((cluster["cluster"], cluster["provider"], "(no hubs)", "", "", ""))
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in table)
