"""``deployer gate``: which legs of the next stage may run, from the reports earlier legs wrote."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from deployer.cli import App

MAX_PLAN_BYTES = 64 * 1024 * 1024  # a plan of the largest fleet is a few MB; more is not one of ours
MAX_REPORT_BYTES = 16 * 1024 * 1024  # a deploy report of the biggest leg is a few kB; more is not one of ours


def read_report(path: Path) -> tuple[Any, str | None]:
    """The parsed JSON of report file ``path``, or why it is not a report (then None). Never waits on a FIFO, never
    reads more than ``MAX_REPORT_BYTES``, never raises for what the file holds."""
    import json

    from deployer.userfiles import read_bounded

    data, problem = read_bounded(path, MAX_REPORT_BYTES, "a report file")
    if data is None:
        return None, problem
    try:
        return json.loads(data.decode("utf-8")), None
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None, "not JSON (or nested too deep)"


@click.command()
@click.option(
    "--plan", "plan_file", required=True, metavar="FILE", help="The JSON that generate-matrix printed ('-' = stdin)."
)
@click.option("--stage", required=True, type=click.Choice(["canary", "prod"]), help="The stage about to run.")
@click.option(
    "--results",
    "results_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder of report files (*.json, searched recursively) written by earlier legs.",
)
@click.option(
    "--require-health/--no-require-health",
    default=False,
    help="For prod: a canary without a health report counts as failed.",
)
@click.pass_obj
def gate(app: App, plan_file: str, stage: str, results_dir: str, require_health: bool) -> None:
    """Print the legs of STAGE whose cluster's earlier legs all succeeded (JSON), and why others are held.

    A report file that is not a report (a folder, a FIFO, not JSON, too big) is ignored with a warning and its leg
    counts as not finished; a malformed report of a cluster holds that cluster's legs back; only `"healthy": true`
    is healthy. A plan whose cluster or hub names are not valid names is refused (exit 2).

    Inside GitHub Actions the allowed legs are also written as the step output `legs`.
    """
    import json
    import sys

    from deployer.errors import UsageError
    from deployer.github import OUTPUT, check_outputs, write_outputs
    from deployer.planning.gate import gate as decide, read_outcomes
    from deployer.planning.legs import Rollout
    from deployer.userfiles import read_bounded

    check_outputs(app.env, (OUTPUT,))  # before anything is read or decided
    if plan_file == "-":
        given = sys.stdin.buffer.read(MAX_PLAN_BYTES + 1)
        big = len(given) > MAX_PLAN_BYTES
        raw, problem = (None, f"more than {MAX_PLAN_BYTES} bytes, not a plan file") if big else (given, None)
    else:
        raw, problem = read_bounded(plan_file, MAX_PLAN_BYTES, "a plan file")
    if raw is None or problem:
        raise UsageError(f"{plan_file}: {problem}; pass the plan file that 'deployer generate-matrix' wrote")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise UsageError(
            f"{plan_file}: not a plan printed by 'deployer generate-matrix' (not JSON: "
            f"{str(exc)[:200]}); pass the plan file that generate-matrix wrote"
        ) from None
    plan = Rollout.from_json(data, source=plan_file)
    reports = []
    for path in sorted(Path(results_dir).rglob("*.json")) if Path(results_dir).is_dir() else []:
        report, problem = read_report(path)
        if problem:
            click.echo(f"{path}: {problem}; ignored (its leg counts as not finished)", err=True)
        else:
            reports.append(report)
    result = decide(plan, stage, read_outcomes(reports), require_health=require_health)
    click.echo(json.dumps(result.to_json(), indent=2))
    for leg, why in result.blocked:
        click.echo(f"held back: {leg.cluster} {', '.join(leg.hubs)}: {why}", err=True)
    if app.env.get("GITHUB_OUTPUT"):
        legs = [leg.to_json() for leg in result.allowed]
        write_outputs(app.env["GITHUB_OUTPUT"], {"legs": json.dumps(legs, separators=(",", ":"))})
