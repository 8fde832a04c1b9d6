"""``deployer gate``: which legs of the next stage may run, from the reports earlier legs wrote."""

from __future__ import annotations

import click


@click.command()
@click.option("--plan", "plan_file", required=True, type=click.File("r"), help="The JSON that generate-matrix printed.")
@click.option("--stage", required=True, type=click.Choice(["canary", "prod"]), help="The stage about to run.")
@click.option("--results", "results_dir", required=True, type=click.Path(file_okay=False),
              help="Folder of report files (*.json, searched recursively) written by earlier legs.")
@click.option("--require-health/--no-require-health", default=False,
              help="For prod: a canary without a health report counts as failed.")
@click.pass_obj
def gate(app, plan_file, stage, results_dir, require_health) -> None:
    """Print the legs of STAGE whose cluster's earlier legs all succeeded (JSON), and why others are held.

    Inside GitHub Actions the allowed legs are also written as the step output `legs`.
    """
    import json
    from pathlib import Path

    from deployer.errors import UsageError
    from deployer.gate import gate as decide, plan_from_json, read_outcomes
    from deployer.github import write_outputs

    try:
        plan = plan_from_json(json.load(plan_file))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UsageError(f"{plan_file.name}: not a plan printed by 'deployer generate-matrix' ({exc})") from None
    reports = []
    for path in sorted(Path(results_dir).rglob("*.json")) if Path(results_dir).is_dir() else []:
        try:
            reports.append(json.loads(path.read_text(encoding="utf-8")))
        except ValueError:
            click.echo(f"{path}: not JSON; ignored (its leg counts as not finished)", err=True)
    result = decide(plan, stage, read_outcomes(reports), require_health=require_health)
    click.echo(json.dumps(result.to_json(), indent=2))
    for leg, why in result.blocked:
        click.echo(f"held back: {leg.cluster} {', '.join(leg.hubs)}: {why}", err=True)
    if app.env.get("GITHUB_OUTPUT"):
        legs = result.to_json()["allowed"]
        write_outputs(app.env["GITHUB_OUTPUT"], {"legs": json.dumps(legs, separators=(",", ":"))})
