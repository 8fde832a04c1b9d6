"""A plan as a markdown table (job summary, pull-request comment). Pure."""

from __future__ import annotations

from deployer.plan import Plan

MARKER = "<!-- deployer-plan -->"


def plan_markdown(plan: Plan, *, title: str = "Deploy plan") -> str:
    rows = [(s.cluster, "support", "support", s.reason) for s in plan.support]
    rows += [(leg.cluster, "canary", ", ".join(leg.hubs), leg.reason) for leg in plan.canary]
    rows += [(leg.cluster, "prod", ", ".join(leg.hubs), leg.reason) for leg in plan.prod]
    lines = [MARKER, f"### {title}", ""]
    if not rows and not plan.removed:
        lines.append("Nothing to deploy: no changed file affects a cluster or hub.")
        return "\n".join(lines) + "\n"
    if rows:
        lines += ["| cluster | stage | release | why |", "| --- | --- | --- | --- |"]
        lines += [f"| {c} | {stage} | {rel} | {_cell(why)} |" for c, stage, rel, why in rows]
        lines.append("")
        lines.append(f"{len(plan.support)} support, {len(plan.canary)} canary and {len(plan.prod)} prod legs; "
                     "a cluster's prod legs run only after its support and canaries succeed.")
    if plan.removed:
        lines += ["", "Removed from the config (not deployed, not uninstalled): "
                  + ", ".join(f"{r.cluster}/{r.hub}" for r in plan.removed)]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
