"""``deployer validate [CLUSTER [HUB...]] [--no-decrypt]``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from deployer.cli import App


@click.command()
@click.argument("cluster", required=False)
@click.argument("hubs", nargs=-1)
@click.option(
    "--jobs", "-j", type=click.IntRange(1, 64), default=8, show_default=True, help="Secret files decrypted in parallel."
)
@click.option(
    "--decrypt/--no-decrypt",
    default=True,
    show_default=True,
    help="--no-decrypt: read secret files without their keys (CI for pull requests from forks): their "
    "keys are still checked against the charts' schemas, their values are not.",
)
@click.option(
    "--fetch/--no-fetch",
    default=True,
    show_default=True,
    help="Build missing chart dependencies first (helm dependency build, from DEPLOYER_CHART_MIRROR when "
    "set): their schemas are checked too. --no-fetch: never run helm.",
)
@click.option("--strict", is_flag=True, help="Fail (exit 2) on warnings too (CI uses this).")
@click.pass_obj
def validate(
    app: App, cluster: str | None, hubs: tuple[str, ...], jobs: int, decrypt: bool, fetch: bool, strict: bool
) -> None:
    """Check the whole fleet (or CLUSTER, or some of its HUBS) and report every problem.

    Each problem is printed as PATH[:LINE]: MESSAGE. Exit 0 when all is well, 2 otherwise.
    Warnings (warning: PATH[:LINE]: MESSAGE on stderr: secret-looking values in plain values files, values files
    no release lists) do not change the exit code unless --strict.
    Secret files are decrypted in memory with sops (set SOPS_AGE_KEY_FILE for age keys). Values are checked
    against the schema of each chart and of every chart it depends on, read from the archives Chart.lock pins
    (helm-charts/<chart>/charts/, DEPLOYER_CHART_MIRROR, helm's cache); charts whose charts/ folder does not
    match their lock are built first, as a deploy builds them (unless --no-fetch).
    """
    from deployer.errors import ConfigError
    from deployer.validate import Report, validate as run_validation

    if fetch:
        from deployer.deploy.dependencies import build_missing

        build_missing(app.root, app.env)
    report = Report()
    problems = run_validation(
        app.root,
        [cluster] if cluster else [],
        hubs,
        env=app.env,
        jobs=jobs,
        decrypt=decrypt,
        report=report,
        warnings=True,
    )
    if not decrypt:
        click.echo(
            f"--no-decrypt: {report.undecrypted} secret file(s) read without decryption: their keys were "
            "checked, their values were not",
            err=True,
        )
    warned = [p for p in problems if p.warning]
    if len(warned) < len(problems) or (strict and warned):
        raise ConfigError(problems)
    for warning in warned:
        click.echo(warning.render(), err=True)
    scope = f"cluster {cluster}" + (f" (hubs {', '.join(hubs)})" if hubs else "") if cluster else "the fleet"
    click.echo(f"{scope}: no problems found" + (f", {len(warned)} warning(s)." if warned else "."))
