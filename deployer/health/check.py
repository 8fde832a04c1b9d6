"""Running the health check: the steps in order, each timed, clean-up after a failure, attempts, the report.

Steps, in order: ``hub-api``, ``user``, ``spawn``, ``proxy``, ``kernel``, ``stop``, ``remove-user``; with
``dask=True`` (a daskhub) ``dask-cluster``, ``dask-compute`` and ``dask-shutdown`` run after ``kernel``. The first
failing step ends the attempt; then ``dask-shutdown`` (when a Dask cluster may exist), ``stop`` (when a server
may exist) and ``remove-user`` (when the user exists) run as clean-up and are reported too. The same clean-up
runs when the check is interrupted (Ctrl-C, or the CLI's SIGTERM exception) during a step, and the interruption
then goes on. Each attempt has its own deadline (``timeout`` seconds);
clean-up gets ``cleanup_timeout`` more. A refused token (``TokenRefused``) is bad input: it is raised at once,
without further attempts.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Sequence

from deployer.health.base import DEFAULT_USER, CheckContext, Step, StepFailed
from deployer.health.client import HubClient
from deployer.health.dask import DASK_STEPS, Shutdown as DaskShutdown
from deployer.health.hub_api import HubAPI
from deployer.health.kernel import RunCode
from deployer.health.proxy import ServerAnswers
from deployer.health.report import AttemptResult, HealthReport, StepResult
from deployer.health.servers import StartServer, StopServer
from deployer.health.users import EnsureUser, RemoveUser

STEPS: tuple[Step, ...] = (
    HubAPI(),
    EnsureUser(),
    StartServer(),
    ServerAnswers(),
    RunCode(),
    StopServer(),
    RemoveUser(),
)

OnStep = Callable[[int, StepResult], None]


def with_dask(steps: Sequence[Step]) -> tuple[Step, ...]:
    """``steps`` with the Dask steps inserted before ``stop`` (at the end when there is no ``stop``)."""
    names = [s.name for s in steps]
    at = names.index(StopServer.name) if StopServer.name in names else len(names)
    return (*steps[:at], *DASK_STEPS, *steps[at:])


def _run_step(step: Step, ctx: CheckContext, *, cleanup: bool = False) -> StepResult:
    started = time.monotonic()
    try:
        message, ok = step.run(ctx), True
    except StepFailed as exc:
        message, ok = exc.message, False
    return StepResult(step.name, ok, time.monotonic() - started, message, cleanup=cleanup)


def run_attempt(
    client: HubClient,
    *,
    number: int,
    username: str,
    timeout: float,
    cleanup_timeout: float,
    steps: Sequence[Step] = STEPS,
    on_step: OnStep | None = None,
) -> tuple[AttemptResult, str | None]:
    """One attempt; returns its result and the hub's version (when the API answered)."""
    started = time.monotonic()
    ctx = CheckContext(client=client, username=username, deadline=started + timeout)
    results: list[StepResult] = []

    def record(result: StepResult) -> None:
        results.append(result)
        if on_step is not None:
            on_step(number, result)

    done: set[str] = set()

    def clean_up() -> None:
        ctx.deadline = time.monotonic() + cleanup_timeout
        if ctx.dask_requested and DaskShutdown.name not in done:
            record(_run_step(DaskShutdown(), ctx, cleanup=True))
        if ctx.server_requested and StopServer.name not in done:
            record(_run_step(StopServer(), ctx, cleanup=True))
        if ctx.user_exists and RemoveUser.name not in done:
            record(_run_step(RemoveUser(), ctx, cleanup=True))

    for step in steps:
        try:
            result = _run_step(step, ctx)
            done.add(step.name)
            record(result)
        except BaseException:  # interrupted (KeyboardInterrupt, the CLI's Terminated) or a bug: clean up first
            clean_up()
            raise
        if not result.ok:
            clean_up()
            break
    return AttemptResult(number, tuple(results), time.monotonic() - started), ctx.hub_version


def check_hub(
    url: str,
    token: str,
    *,
    cluster: str = "",
    hub: str = "",
    username: str | None = None,
    attempts: int = 1,
    timeout: float = 600.0,
    cleanup_timeout: float = 60.0,
    retry_delay: float = 2.0,
    on_step: OnStep | None = None,
    steps: Sequence[Step] = STEPS,
    dask: bool = False,
    ssl_context: ssl.SSLContext | None = None,
) -> HealthReport:
    """Check the hub at ``url`` with an API token; up to ``attempts`` attempts of ``timeout`` seconds each.

    Returns the ``HealthReport`` (healthy or not). Raises ``TokenRefused`` (a ``UsageError``) when the hub
    refuses the token, and ``UsageError`` for a URL that is not http(s). ``ssl_context`` decides which
    certificates an https hub may present (default: the system's trust store). ``dask`` adds the Dask steps
    (``with_dask``)."""
    from deployer.errors import UsageError

    if attempts < 1:
        raise UsageError("--attempts must be at least 1")
    try:
        client = HubClient(url, token, ssl_context=ssl_context)
    except ValueError as exc:
        raise UsageError(f"bad hub URL: {exc}") from None
    if dask:
        steps = with_dask(steps)
    results: list[AttemptResult] = []
    version = None
    for number in range(1, attempts + 1):
        if number > 1:
            time.sleep(retry_delay)
        result, seen = run_attempt(
            client,
            number=number,
            username=username or DEFAULT_USER,
            timeout=timeout,
            cleanup_timeout=cleanup_timeout,
            steps=steps,
            on_step=on_step,
        )
        results.append(result)
        version = seen or version
        if result.healthy:
            break
    return HealthReport(cluster=cluster, hub=hub, url=client.url, attempts=tuple(results), hub_version=version)
