"""``validate``'s check that a hub's values files do not contradict its domain.

The deployer sets a basehub hub's JupyterHub ingress hosts and TLS hosts from its ``domain`` in cluster.yaml
(``deployer.hubfacts``). A plain values file of the hub that still names an ingress host, in
``jupyterhub.ingress.hosts`` or ``jupyterhub.ingress.tls[].hosts`` (under ``basehub.`` for daskhub), other than
that domain is a problem: helm would serve the hub at a host that cluster.yaml does not know. Encrypted values
files are not checked (their values are not shown in messages, and hosts are no secret to keep there).

``stray_hosts`` is pure; ``host_problems`` reads the chart's ``Chart.yaml`` and finds lines.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from deployer import yamlio
from deployer.errors import DeployerError, Problem
from deployer.hubfacts import basehub_at

KeyPath = tuple[str | int, ...]


def _hosts(value: Any, keys: KeyPath) -> Iterator[tuple[KeyPath, str]]:
    if isinstance(value, list):
        for i, host in enumerate(value):
            if isinstance(host, str):
                yield (*keys, i), host


def stray_hosts(values: Any, domain: str, at: Sequence[str] = ()) -> list[tuple[KeyPath, str]]:
    """Every ingress host (key path, host) in one values mapping that is not ``domain`` (compared as DNS does,
    ignoring case); ``at`` is where basehub's values sit (``()``, or ``("basehub",)`` for daskhub)."""
    node: Any = values
    for key in at:
        node = node.get(key) if isinstance(node, dict) else None
    jupyterhub = node.get("jupyterhub") if isinstance(node, dict) else None
    ingress = jupyterhub.get("ingress") if isinstance(jupyterhub, dict) else None
    if not isinstance(ingress, dict):
        return []
    base: KeyPath = (*at, "jupyterhub", "ingress")
    found = list(_hosts(ingress.get("hosts"), (*base, "hosts")))
    tls = ingress.get("tls")
    if isinstance(tls, list):
        for j, entry in enumerate(tls):
            if isinstance(entry, dict):
                found += _hosts(entry.get("hosts"), (*base, "tls", j, "hosts"))
    wanted = domain.lower().rstrip(".")
    return [(keys, host) for keys, host in found if host.lower().rstrip(".") != wanted]


def _show(keys: KeyPath) -> str:
    return "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in keys).lstrip(".")


def host_problems(
    root: Path, *, label: str, domain: str, chart_dir: Path, files: Sequence[tuple[str, Any]]
) -> list[Problem]:
    """The problems of one hub: ``files`` are its plain values files (repo-relative path, parsed content)."""
    from deployer.charts import read_chart

    try:
        at = basehub_at(read_chart(chart_dir))
    except DeployerError:
        return []  # a broken Chart.yaml is reported by the chart checks
    if at is None:
        return []
    out = []
    for rel, data in files:
        for keys, host in stray_hosts(data, domain, at):
            out.append(
                Problem(
                    rel,
                    yamlio.line_of(root / rel, keys),
                    f"{label}: {_show(keys)}: ingress host '{host}' is not the hub's domain '{domain}' "
                    "(cluster.yaml): the deployer sets the ingress and TLS hosts from the domain, so remove "
                    "this host from the values file, or change the hub's domain in cluster.yaml",
                )
            )
    return out
