"""The gate between deploy stages: which legs of a ``Rollout`` may go on, from the results earlier legs recorded.
Pure.

Each leg of the workflow writes report files (``deployer deploy --report``: ``{"cluster", "results": [{"release",
"kind", "status", ...}]}``; ``deployer health-check --report``: ``{"cluster", "hub", "healthy", ...}``). For the
``canary`` stage a cluster's canary legs go on only if its support leg (when planned) deployed; for ``prod``,
its support leg and every planned canary must have deployed and, when a health report exists (or health is
required), be healthy. "Deployed" includes ``unchanged`` (not upgraded: its deployed revision already has the
config's inputs). A planned leg without a report counts as failed: it did not finish. Cluster names are compared
exactly.

Reports are untrusted, and a bad one can only hold legs back, never let one go on:

- a file that is not one of our reports at all (not a regular file, too big, not UTF-8 JSON, nested too deep, not
  an object, no valid cluster name) is ignored (the CLI says so on stderr): whatever leg should have written it
  counts as not finished;
- a report that names a cluster but is malformed (``results`` not a list, an entry without a string ``release``
  or ``status``, a health report without a string ``hub``) holds back every leg of that cluster;
- ``healthy`` counts as healthy only when it is JSON ``true`` (``"no"``, ``1`` or ``"true"`` are unhealthy).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from deployer.deploy.report import SUCCESS
from deployer.planning.legs import HubLeg, Rollout, name_problem


@dataclass
class Outcomes:
    """What the reports say, per exact cluster name."""

    support: dict[str, str] = field(default_factory=dict)  # cluster -> status
    hubs: dict[tuple[str, str], str] = field(default_factory=dict)  # (cluster, hub) -> status
    health: dict[tuple[str, str], bool] = field(default_factory=dict)  # (cluster, hub) -> healthy
    malformed: dict[str, str] = field(default_factory=dict)  # cluster -> what was wrong with a report of it


def read_outcomes(reports: Iterable[Any]) -> Outcomes:
    """What ``reports`` (parsed JSON of any shape: whatever is not one of our reports is ignored) say."""
    out = Outcomes()
    for report in reports:
        cluster = report.get("cluster") if isinstance(report, Mapping) else None
        if not isinstance(cluster, str) or name_problem(cluster, "cluster"):
            continue  # not a report of ours: whatever leg should have written one counts as not finished
        problem = _read_report(report, cluster, out)
        if problem:
            out.malformed.setdefault(cluster, problem)
    return out


def _read_report(report: Mapping[str, Any], cluster: str, out: Outcomes) -> str | None:
    """Record what one report of ``cluster`` says; what is malformed in it, if anything."""
    if "healthy" in report:
        hub = report.get("hub")
        if not isinstance(hub, str):
            return "a health report without a hub name"
        key = (cluster, hub)
        out.health[key] = report["healthy"] is True and out.health.get(key, True)  # only JSON true is healthy
        return None
    results = report.get("results")
    if not isinstance(results, list):
        return "a deploy report without a list of results"
    problem = None
    for result in results:
        status = result.get("status") if isinstance(result, Mapping) else None
        release = result.get("release") if isinstance(result, Mapping) else None
        if not isinstance(status, str) or not isinstance(release, str):
            problem = problem or "a result without a string release and status"
            continue
        if result.get("kind") == "support":
            out.support[cluster] = _worst(out.support.get(cluster), status)
        else:
            out.hubs[(cluster, release)] = _worst(out.hubs.get((cluster, release)), status)
    return problem


def _worst(before: str | None, now: str) -> str:
    """A release reported more than once counts as deployed only if every report says it deployed (or was
    ``unchanged``: its deployed revision already has the config's inputs)."""
    if before is None:
        return now
    return before if before not in SUCCESS else now


@dataclass(frozen=True)
class GateResult:
    allowed: tuple[HubLeg, ...]
    blocked: tuple[tuple[HubLeg, str], ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "allowed": [leg.to_json() for leg in self.allowed],
            "blocked": [{**leg.to_json(), "blocked_because": why} for leg, why in self.blocked],
        }


def gate(rollout: Rollout, stage: str, outcomes: Outcomes, *, require_health: bool = False) -> GateResult:
    """The legs of ``stage`` (``canary`` or ``prod``) that may run, and why the others may not."""
    if stage not in ("canary", "prod"):
        raise ValueError(f"unknown stage {stage!r}")
    problems: dict[str, list[str]] = defaultdict(list)
    for cluster, what in outcomes.malformed.items():
        problems[cluster].append(f"a report of {cluster} is malformed ({what})")
    for support in rollout.support:
        status = outcomes.support.get(support.cluster)
        if status not in SUCCESS:
            problems[support.cluster].append(f"support {_said(status)}")
    if stage == "prod":
        for leg in rollout.canary:
            for hub in leg.hubs:
                status = outcomes.hubs.get((leg.cluster, hub))
                healthy = outcomes.health.get((leg.cluster, hub))
                if status not in SUCCESS:
                    problems[leg.cluster].append(f"canary {hub} {_said(status)}")
                elif healthy is False or (healthy is None and require_health):
                    why = "unhealthy" if healthy is False else "has no health report"
                    problems[leg.cluster].append(f"canary {hub} {why}")
    legs = rollout.canary if stage == "canary" else rollout.prod
    allowed = tuple(leg for leg in legs if leg.cluster not in problems)
    blocked = tuple((leg, "; ".join(problems[leg.cluster])) for leg in legs if leg.cluster in problems)
    return GateResult(allowed, blocked)


def _said(status: str | None) -> str:
    return "has no report (the leg did not finish)" if status is None else status
