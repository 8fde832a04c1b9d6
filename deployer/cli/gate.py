"""``deployer gate``: which legs of the next stage may run, from the reports earlier legs wrote."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

import click

if TYPE_CHECKING:
    from deployer.cli import App

MAX_PLAN_CHARS = 64 * 1024 * 1024  # a plan of the largest fleet is a few MB; more is not one of ours


@click.command()
@click.option("--plan", "plan_file", required=True, type=click.File("r"), help="The JSON that generate-matrix printed.")
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
def gate(app: App, plan_file: TextIO, stage: str, results_dir: str, require_health: bool) -> None:
    """Print the legs of STAGE whose cluster's earlier legs all succeeded (JSON), and why others are held.

    Inside GitHub Actions the allowed legs are also written as the step output `legs`.
    """
    import json
    from pathlib import Path

    from deployer.errors import UsageError
    from deployer.github import write_outputs
    from deployer.planning.gate import gate as decide, read_outcomes
    from deployer.planning.legs import Rollout

    try:
        text = plan_file.read(MAX_PLAN_CHARS + 1)
    except UnicodeDecodeError:
        text = "\0"  # not JSON: refused below
    if len(text) > MAX_PLAN_CHARS:
        raise UsageError(
            f"{plan_file.name}: more than {MAX_PLAN_CHARS} characters, not a plan printed by "
            "'deployer generate-matrix'; pass the plan file that generate-matrix wrote"
        )
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise UsageError(
            f"{plan_file.name}: not a plan printed by 'deployer generate-matrix' (not JSON: "
            f"{str(exc)[:200]}); pass the plan file that generate-matrix wrote"
        ) from None
    plan = Rollout.from_json(data, source=plan_file.name)
    reports = []
    for path in sorted(Path(results_dir).rglob("*.json")) if Path(results_dir).is_dir() else []:
        try:
            reports.append(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, RecursionError):
            click.echo(f"{path}: not JSON; ignored (its leg counts as not finished)", err=True)
    result = decide(plan, stage, read_outcomes(reports), require_health=require_health)
    click.echo(json.dumps(result.to_json(), indent=2))
    for leg, why in result.blocked:
        click.echo(f"held back: {leg.cluster} {', '.join(leg.hubs)}: {why}", err=True)
    if app.env.get("GITHUB_OUTPUT"):
        legs = [leg.to_json() for leg in result.allowed]
        write_outputs(app.env["GITHUB_OUTPUT"], {"legs": json.dumps(legs, separators=(",", ":"))})
