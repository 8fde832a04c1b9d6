"""Gathering a plan's inputs (the fleet, changed paths, the base revision, chart dependencies) and
shaping its outputs (folding, GitHub outputs). The decisions themselves are in ``deployer.plan``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Mapping

from deployer.charts import local_dependents
from deployer.config.load import load_fleet
from deployer.errors import UsageError
from deployer.plan import Plan, fold_legs, plan_deploys


@dataclass(frozen=True)
class MatrixRequest:
    paths: tuple[str, ...] = ()
    base: str | None = None
    force: str | None = None
    max_legs: int = 256


def make_plan(root: Path, request: MatrixRequest, env: Mapping[str, str] | None = None) -> Plan:
    fleet = load_fleet(root)  # a broken config raises ConfigError: exit 2
    changed = list(request.paths)
    base = None
    if request.base:
        from deployer.gitrev import changed_paths, clusters_at

        changed += changed_paths(root, request.base, env)
        base = clusters_at(root, request.base, env)
    plan = plan_deploys(
        fleet, [normalize(p) for p in changed], base=base,
        chart_dependents=local_dependents(root / "helm-charts"), force=request.force,
    )
    try:
        return replace(plan, canary=fold_legs(plan.canary, request.max_legs), prod=fold_legs(plan.prod, request.max_legs))
    except ValueError as exc:
        raise UsageError(f"--max-legs {request.max_legs}: {exc}") from None


def normalize(path: str) -> str:
    path = path.strip().replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return path


def read_paths(lines: Iterable[str]) -> list[str]:
    return [normalize(line) for line in lines if line.strip() and not line.lstrip().startswith("#")]


def github_outputs(plan: Plan) -> dict[str, str]:
    data = plan.to_json()
    return {key: json.dumps(value, separators=(",", ":")) for key, value in data.items()}
