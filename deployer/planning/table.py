"""A rollout as a markdown table (job summary, pull-request comment). Pure."""

from __future__ import annotations

from deployer.planning.legs import Rollout

MARKER = "<!-- deployer-plan -->"


def rollout_markdown(rollout: Rollout, *, title: str = "Deploy plan") -> str:
    rows = [(s.cluster, "support", "support", s.reason) for s in rollout.support]
    rows += [(leg.cluster, "canary", ", ".join(leg.hubs), leg.reason) for leg in rollout.canary]
    rows += [(leg.cluster, "prod", ", ".join(leg.hubs), leg.reason) for leg in rollout.prod]
    lines = [MARKER, f"### {title}", ""]
    if not rows and not rollout.removed:
        lines.append("Nothing to deploy: no changed file affects a cluster or hub.")
        return "\n".join(lines) + "\n"
    if rows:
        lines += ["| cluster | stage | release | why |", "| --- | --- | --- | --- |"]
        lines += [f"| {c} | {stage} | {rel} | {_cell(why)} |" for c, stage, rel, why in rows]
        lines.append("")
        lines.append(
            f"{len(rollout.support)} support, {len(rollout.canary)} canary and {len(rollout.prod)} prod legs; "
            "a cluster's prod legs run only after its support and canaries succeed."
        )
    if rollout.removed:
        lines += [
            "",
            f"**A merge orphans {len(rollout.removed)} hub(s)**: removed from the config, they keep running (helm "
            "release, namespace, users' home directories) until someone removes them, after the merge, with the "
            "`remove-hub` workflow (Actions, Run workflow: cluster, hub) or `deployer remove CLUSTER HUB`. "
            "Nothing is deleted automatically.",
            "",
            *(f"- `{r.cluster}` / `{r.hub}`: `deployer remove {r.cluster} {r.hub}`" for r in rollout.removed),
        ]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
