"""``deployer health-check CLUSTER HUB`` (alias ``run-hub-health-check``): can a user really get a server?

With ``--url`` and ``--token`` CLUSTER and HUB may be left out: any hub is checked directly."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from deployer.cli import EnvOption

if TYPE_CHECKING:
    from deployer.cli import App
    from deployer.health import HealthReport, StepResult


@click.command(name="health-check", short_help="Check that a hub really works: a user gets a server and runs code.")
@click.argument("cluster", required=False)
@click.argument("hub", required=False)
@click.option("--url", metavar="URL", help="The hub's public URL (default: https://<domain>/ from the config).")
@click.option(
    "--token",
    metavar="TOKEN",
    envvar="JUPYTERHUB_API_TOKEN",
    show_envvar=True,
    cls=EnvOption,
    help="An API token with the scopes admin:users, admin:servers, access:servers (default: the "
    "deployer-health-check service token, read from the hub's Secret in the cluster).",
)
@click.option(
    "--attempts",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    metavar="N",
    help="Try this many times before calling the hub unhealthy.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=600,
    show_default=True,
    metavar="SECONDS",
    help="Time limit of one attempt.",
)
@click.option(
    "--dask/--no-dask",
    default=None,
    help="Also create a Dask cluster through the hub's Dask Gateway from the test server, scale it to one worker, "
    "compute on it and shut it down (default: on when the hub's chart brings Dask Gateway, e.g. daskhub; off with "
    "--url and --token).",
)
@click.option("--user", "username", metavar="NAME", help="The test user (default: deployer-health-check).")
@click.option(
    "--report",
    "report_file",
    type=click.Path(),  # checked by deployer.jsonfile.check_writable
    metavar="FILE",
    help="Write the JSON report of the steps to FILE.",
)
@click.pass_obj
def health_check(
    app: App,
    cluster: str | None,
    hub: str | None,
    url: str | None,
    token: str | None,
    attempts: int,
    timeout: float,
    dask: bool | None,
    username: str | None,
    report_file: str | None,
) -> None:
    """Check that HUB of CLUSTER works: API, test user, server start, proxy, kernel, (Dask), stop, clean-up.

    Exit 0 healthy, 1 unhealthy, 2 bad input (unknown hub, refused token). With --url and --token (or
    JUPYTERHUB_API_TOKEN) any hub is checked directly, without config or cluster access; CLUSTER and HUB are then
    optional (they only label the report)."""
    from deployer.errors import DeployerError, HealthCheckError
    from deployer.health import HealthReport, check_hub, hub_target
    from deployer.health.client import trust
    from deployer.jsonfile import check_writable

    if report_file:  # before the check runs: not a traceback after it
        check_writable(report_file, f"--report {report_file}")
    try:
        direct = bool(url and token) or not (cluster and hub)  # without names, hub_target says what is missing
        target = hub_target(cluster, hub, root=None if direct else app.root, env=app.env, url=url, token=token)
        report = check_hub(
            target.url,
            target.token,
            cluster=target.cluster,
            hub=target.hub,
            username=username,
            attempts=attempts,
            timeout=timeout,
            on_step=_render_step,
            dask=target.dask if dask is None else dask,
            ssl_context=trust(app.env, target.url),
        )
    except DeployerError as exc:
        if report_file:
            _write_report(report_file, HealthReport(cluster or "", hub or "", url or "", error=exc.render()))
        raise
    if report_file:
        _write_report(report_file, report)
    if not report.healthy:
        raise HealthCheckError(f"{target.label} is unhealthy: {report.message}")
    click.echo(f"{target.label} is healthy ({report.seconds:.1f}s, JupyterHub {report.hub_version})")


def _render_step(attempt: int, step: StepResult) -> None:
    mark = "ok  " if step.ok else "FAIL"
    cleanup = " (clean-up)" if step.cleanup else ""
    click.echo(f"[attempt {attempt}] {mark} {step.name:<13} {step.seconds:6.2f}s  {step.message}{cleanup}", err=True)


def _write_report(path: str, report: HealthReport) -> None:
    from deployer.jsonfile import write_json

    write_json(path, report.to_dict())


run_hub_health_check = click.Command(
    name="run-hub-health-check",
    callback=health_check.callback,
    params=health_check.params,
    help="Alias of health-check.",
    short_help="Alias of health-check.",
)
