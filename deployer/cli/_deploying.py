"""What ``deploy`` and ``deploy-support`` share: their options, progress lines, and rendering the report.

Not a command. Progress goes to stderr (a redrawn status line on a terminal, plain lines otherwise, e.g. in CI);
the summary table to stdout; ``--report FILE`` gets the JSON; inside GitHub Actions the table is appended to
``$GITHUB_STEP_SUMMARY`` too. Exit 0 when every release deployed or was unchanged, 1 otherwise (2 for bad input,
raised earlier).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

import click

if TYPE_CHECKING:
    from deployer.cli import App
    from deployer.deploy.engine import Event
    from deployer.deploy.report import ReleaseResult


def _timeout(ctx: click.Context, param: click.Parameter, value: str) -> str:
    from deployer.helm_argv import go_duration, parse_duration

    try:
        return go_duration(parse_duration(value))
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


# the cluster's deploy lock (deployer.deploy.lock): for every command that changes the cluster
WAIT_FOR_LOCK = click.option(
    "--wait-for-lock",
    type=click.FloatRange(0, 24 * 3600),
    default=0,
    metavar="SECONDS",
    help="If another deploy of the cluster holds its deploy lock, wait this long for it (default: refuse at once, "
    "exit 2).",
)


def common_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        [
            click.option(
                "--dry-run",
                is_flag=True,
                help="Print the plain helm and sops commands that do the same deploy; touch no cluster, "
                "decrypt nothing (no unchanged check: every release is in the script).",
            ),
            click.option(
                "--force-upgrade",
                is_flag=True,
                help="Upgrade every release, also those whose inputs (chart, values, helm flags) are the same as "
                "their deployed revision's (by default reported 'unchanged' and not upgraded).",
            ),
            click.option(
                "--report",
                "report_file",
                type=click.Path(),  # checked by deployer.jsonfile.check_writable, before anything runs
                metavar="FILE",
                help="Write the results as JSON: {cluster, results: [{release, kind, status (deployed, unchanged, "
                "failed, skipped), revision, "
                "live_revision, seconds, error}]} (revision: this run's, null if helm recorded none; "
                "live_revision: the one deployed afterwards).",
            ),
            click.option(
                "--timeout",
                default="10m",
                show_default=True,
                callback=_timeout,
                metavar="DURATION",
                help="How long helm waits for each release (e.g. 300s, 10m, 1h).",
            ),
            click.option(
                "--wait/--no-wait",
                default=True,
                show_default=True,
                help="Wait until each release's workloads are ready before it counts as deployed.",
            ),
            WAIT_FOR_LOCK,
            click.option("--verbose", "-v", is_flag=True, help="Print every command run (secrets redacted)."),
        ]
    ):
        func = option(func)
    return func


class Progress:
    """A line per release as it starts and ends; on a terminal, also a redrawn line of what is running."""

    def __init__(self, stream: TextIO | None = None, tty: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.lock = threading.Lock()
        self.running: dict[str, float] = {}
        self.finished = 0
        self.redact: Callable[[str], str] = str  # the run's Redactor, once there is one: every line passes it

    def __call__(self, event: Event) -> None:
        with self.lock:
            if self.tty:
                self.stream.write("\r\033[K")
            job = event.job
            if event.result is None:
                self.running[job.release] = time.monotonic()
                if not self.tty:
                    self._line(
                        f"{job.release}: deploying ({job.kind}, chart {job.chart_path}, namespace {job.namespace})"
                    )
            else:
                self.running.pop(job.release, None)
                self.finished += 1
                self._line(describe(event.result))
            if self.tty and self.running:
                names = ", ".join(self.running)
                self.stream.write(f"deploying: {names} ({self.finished} done)")
            self.stream.flush()

    def log(self, line: str) -> None:
        with self.lock:
            if self.tty:
                self.stream.write("\r\033[K")
            self._line(line)
            self.stream.flush()

    def _line(self, text: str) -> None:
        self.stream.write(self.redact(text) + "\n")


def describe(result: ReleaseResult) -> str:
    if result.status == "deployed":
        return f"{result.release}: deployed, revision {result.revision}, {result.seconds:.1f} s"
    if result.status == "unchanged":
        return f"{result.release}: unchanged (revision {result.live_revision} has the same inputs), not upgraded"
    if result.status == "skipped":
        return f"{result.release}: skipped: {result.error}"
    error = (result.error or "").strip()
    indented = "\n".join("    " + line for line in error.splitlines()[-15:])
    return f"{result.release}: FAILED after {result.seconds:.1f} s\n{indented}"


def run_deploy(
    app: App,
    cluster: str,
    hubs: tuple[str, ...] | None,
    *,
    support: bool | None,
    jobs: int,
    dry_run: bool,
    report_file: str | None,
    timeout: str,
    wait: bool,
    wait_for_lock: float,
    verbose: bool,
    force_upgrade: bool = False,
) -> None:
    from deployer.cli._warnings import echo_warnings
    from deployer.deploy.engine import DeployOptions

    echo_warnings(app, cluster, hubs if hubs else ("support",) if support else None)
    options = DeployOptions(jobs=jobs, wait=wait, timeout=timeout, lock_wait=wait_for_lock, force_upgrade=force_upgrade)
    if dry_run:
        from deployer.deploy.script import dry_run_script

        click.echo(dry_run_script(app.root, cluster, hubs, env=app.env, support=support, options=options), nl=False)
        return
    from deployer.deploy.engine import deploy
    from deployer.github import SUMMARY, check_outputs
    from deployer.jsonfile import check_writable
    from deployer.run import Runner

    if report_file:  # before anything is deployed: not a traceback after the deploy ran
        check_writable(report_file, f"--report {report_file}")
    check_outputs(app.env, (SUMMARY,))

    progress = Progress()
    runner = Runner(log=progress.log if verbose else None)
    progress.redact = runner.redactor
    report = deploy(
        app.root,
        cluster,
        hubs,
        env=app.env,
        support=support,
        options=options,
        runner=runner,
        on_event=progress,
        on_message=progress.log,
    )
    report = report.redacted(runner.redactor)  # whatever produced an error: no secret in what is shown
    if report.dependency_builds:
        click.echo(f"built chart dependencies once: {', '.join(report.dependency_builds)}", err=True)
    click.echo(report.table())
    if report_file:
        report.write(report_file)
    if app.env.get("GITHUB_STEP_SUMMARY"):
        from deployer.github import append_summary

        append_summary(app.env["GITHUB_STEP_SUMMARY"], report.markdown())
    failure = report.failure()
    if failure is not None:
        raise failure
