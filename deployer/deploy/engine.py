"""Orchestration of a deploy: config -> validation -> dependencies -> cluster access -> secrets -> helm -> Report.

``deploy(root, cluster, hubs, env=..., ...) -> Report`` is what ``deployer deploy`` calls:

1. load the cluster and order its releases (``jobs.order_releases``); unknown cluster or hub -> ``UsageError``
   (exit 2);
2. build each chart's dependencies once (``Dependencies``: only where ``charts/`` does not already match the
   lock), since validation reads the dependency charts' schemas from those archives;
3. validate everything the jobs use (``deployer.validate``); any problem -> ``ConfigError`` (exit 2). Nothing has
   touched a cluster yet, and helm has run at most to fetch dependency charts. Releases whose chart could not be
   prepared are not value-checked: they are reported ``failed`` with the dependency error (their later jobs
   ``skipped``), like any release that cannot deploy;
   then read helm's major version once;
4. enter ``cluster_access`` once, inside a private (0700) work folder that is removed on every exit path, and
   take the cluster's deploy lock (``deploy.lock``: a Lease in the cluster; another deploy holding it ->
   ``DeployLocked``, exit 2, before any helm run), released on every exit path. When the cluster has support
   configured but this deploy does not include it, a warning goes to ``on_message`` if its release has no
   ``deployed`` revision (``support_missing``: hubs' ingress and certificates need it);
5. run the jobs: support, then canaries one at a time, then prod hubs in parallel (up to ``jobs``). If support or
   a canary does not deploy, every later job is ``skipped`` with the reason and never touches the cluster.

Per release: ``helm history`` first; a release left ``pending-*`` by an interrupted run fails with an explanation
of how to recover (it is not retried blindly). Before that, the digest of the release's inputs (``deploy.digest``:
chart content, values in order with secrets decrypted, the helm flags that shape it) is compared with the one
recorded on its latest revision (one metadata-only list of its storage Secrets, ``kube.release_storage_labels``,
which also gives each revision's status, as ``helm history`` reads it): when that revision is ``deployed`` and
records the same digest, the release is ``unchanged`` and helm does not run at all (unless ``force_upgrade``);
otherwise ``helm history`` and ``helm upgrade`` run, and the upgrade records the new digest as release labels.
A result's ``revision`` is the one this run's helm recorded (None
when helm failed before recording one, e.g. values refused by the chart's schema); ``live_revision`` the one
deployed afterwards. Secret values files are decrypted into the work folder just for
that release's helm run (0600, removed right after), and their values are added to the runner's redactor so that
helm's stderr in the report and anything logged never shows them. helm saying the kubeconfig has no
such context (it changed since the provider checked it) ends the deploy with the provider's message
(``deployer.config.contexts``, exit 2).

Interruption (Ctrl-C, or SIGTERM which the CLI turns into an exception): the runner stops starting commands and
sends SIGTERM to live helm processes (helm 4 then marks its release failed rather than pending), waits for the
workers, and the work folder is removed before the exception propagates.

Progress: ``on_event(Event)`` is called (from worker threads) when a release starts and when it ends.
Nothing here prints.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deployer import helm_argv
from deployer.deploy import digest as inputs
from deployer.deploy.dependencies import Dependencies, prepare
from deployer.deploy.jobs import Job, ReleaseOrder, order_releases
from deployer.deploy.report import DEPLOYED, FAILED, SKIPPED, SUCCESS, UNCHANGED, ReleaseResult, Report
from deployer.errors import CommandError, ConfigError, DeployerError, UsageError
from deployer.run import Cancelled, Completed, Runner
from deployer.secret_files import is_secret_file

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

    from deployer.auth import ClusterAccess

HistoryEntry = dict[str, Any]  # one revision of a release, as `helm history -o json` lists it


@dataclass(frozen=True)
class DeployOptions:
    jobs: int = 4
    wait: bool = True
    timeout: str = helm_argv.DEFAULT_TIMEOUT  # a Go duration
    lock_wait: float = 0.0  # seconds to wait for another deploy's lock of the cluster (see deploy.lock)
    force_upgrade: bool = False  # upgrade releases whose inputs' digest is the deployed revision's too


@dataclass(frozen=True)
class Event:
    job: Job
    result: ReleaseResult | None = None  # None: the release has started; else it has ended so


class StuckRelease(DeployerError):
    """A release is pending from an interrupted helm run; the message says how to recover. ``live`` is its
    revision that is deployed (None: none is)."""

    def __init__(self, message: str, live: int | None) -> None:
        super().__init__(message)
        self.live = live


MAX_ERROR_LINES = 40  # of helm's stderr kept in the report (the end, where helm puts its error)


class HelmCli:
    """The helm binary of this run, its major version (asked once), and how it is run (cwd: the repository root)."""

    def __init__(self, root: Path, runner: Runner, env: Mapping[str, str]) -> None:
        from deployer.tools import find_tool

        self.root = root
        self.runner = runner
        self.path = find_tool("helm", root, env)
        done = runner.run([self.path, *helm_argv.version_args()], env=env, cwd=root)
        try:
            self.major = helm_argv.parse_major(done.stdout)
        except ValueError as exc:
            raise UsageError(f"{self.path}: {exc}") from None

    def run(self, args: Sequence[str], *, env: Mapping[str, str], check: bool = True) -> Completed:
        return self.runner.run([self.path, *args], env=env, cwd=self.root, check=check)


def load_release_order(
    root: Path, cluster_name: str, hubs: Sequence[str] | None, *, support: bool | None
) -> ReleaseOrder:
    """Load the cluster (strictly) and order its releases; ``hubs=None`` means every hub (see ``order_releases``)."""
    from deployer.config.load import load_cluster

    return order_releases(load_cluster(root, cluster_name), hubs, support=support)


def validate_releases(
    root: Path,
    order: ReleaseOrder,
    *,
    env: Mapping[str, str],
    unprepared: Collection[str] = (),
    runner: Runner | None = None,
) -> None:
    """The validate command's checks for everything the order deploys; raise ``ConfigError`` on any problem.

    ``unprepared``: charts whose dependencies could not be built; their releases' values are not checked.
    """
    from deployer.validate import validate

    whole = order.support is not None or not order.hub_names  # validate() checks support only with the whole cluster
    problems = validate(
        root,
        [order.cluster.name],
        () if whole else order.hub_names,
        env=env,
        unprepared=frozenset(unprepared),
        runner=runner,
    )
    if problems:
        raise ConfigError(problems)


@contextlib.contextmanager
def values_for(job: Job, *, root: Path, env: Mapping[str, str], workdir: Path, runner: Runner) -> Iterator[list[str]]:
    """The job's values files for helm, in order: first a hub's generated ``deployer-facts.values.yaml``
    (``deployer.hubfacts``, written into ``workdir``), then plain files as repository-relative paths, secret files
    decrypted into ``workdir`` (0600, removed when the block ends). Decrypted values are added to the runner's
    redactor."""
    from deployer import hubfacts, yamlio
    from deployer.private import private_file
    from deployer.secrets import decrypted

    with contextlib.ExitStack() as stack:
        paths: list[str] = []
        facts = hubfacts.facts_text(job.facts, root / job.chart_path) if job.facts else None
        if facts is not None:
            made = private_file(workdir, facts, prefix=f"{job.release}-", suffix=f"-{hubfacts.FILE_NAME}")
            paths.append(str(stack.enter_context(made)))
        for rel in job.values_files:
            if is_secret_file(rel):
                path = stack.enter_context(
                    decrypted(root / rel, display=rel, env=env, root=root, workdir=workdir, runner=runner)
                )
                with contextlib.suppress(yamlio.YamlError):  # helm will refuse it; its message quotes no values of ours
                    runner.redactor.add_tree(yamlio.loads(path.read_text(encoding="utf-8", errors="replace")))
                paths.append(str(path))
            else:
                paths.append(rel)
        yield paths


@dataclass
class Deployment:
    """One cluster's deploy in progress: what every release needs."""

    root: Path
    order: ReleaseOrder
    env: Mapping[str, str]  # for helm: the base environment plus the cluster access
    secrets_env: Mapping[str, str]  # for sops: the base environment
    helm_cli: HelmCli
    deps: Dependencies
    target: helm_argv.KubeTarget
    workdir: Path
    options: DeployOptions
    on_event: Callable[[Event], None] | None = None
    took_over_from: str | None = None  # the dead deploy whose expired lock this one took over (see deploy.lock)
    api: ApiClient | None = None  # the cluster's Kubernetes API, for the digest check (None: always upgrade)
    _charts: dict[str, bytes] = field(default_factory=dict)  # chart path -> its content's digest, once per run
    _charts_lock: threading.Lock = field(default_factory=threading.Lock)

    # -- one release -----------------------------------------------------------------------------------------------
    def history(self, job: Job, entries: int = 1) -> list[HistoryEntry]:
        argv = helm_argv.history_args(job.release, namespace=job.namespace, target=self.target, max_entries=entries)
        done = self.helm_cli.run(argv, env=self.env, check=False)
        if done.returncode != 0:
            if any(s in done.stderr for s in helm_argv.NOT_FOUND):
                return []
            raise self.helm_cli.runner.error(done)
        try:
            return sorted(json.loads(done.stdout or "[]"), key=lambda e: int(e.get("revision", 0)))
        except (ValueError, TypeError, AttributeError):
            raise DeployerError(f"cannot read `helm history {job.release}` output as JSON") from None

    def check_not_pending(self, job: Job) -> list[HistoryEntry]:
        """The release's recent history, unless it is pending (``StuckRelease``)."""
        history = self.history(job, entries=20)
        if history and str(history[-1].get("status", "")).startswith("pending-"):
            raise StuckRelease(explain_pending(job, history, self.target, self.took_over_from), live_revision(history))
        return history

    def inputs_digest(self, job: Job, values: Sequence[str]) -> str:
        """The digest of the release's inputs (``deploy.digest``); ``values`` as ``values_for`` yields them."""
        try:
            with self._charts_lock:  # a chart shared by many releases is read once
                if job.chart_path not in self._charts:
                    files = inputs.chart_files(self.root / job.chart_path)
                    self._charts[job.chart_path] = inputs.chart_digest(files)
                chart = self._charts[job.chart_path]
            contents = [(self.root / path).read_bytes() for path in values]  # decrypted files: absolute paths
        except OSError as exc:
            raise DeployerError(
                f"cannot read {exc.filename} for the digest of '{job.release}' ({exc.strerror})"
            ) from None
        shape = helm_argv.install_args(job.release, job.chart_path, namespace=job.namespace, values_files=())
        return inputs.release_digest(chart, contents, shape)

    def unchanged_revision(self, job: Job, digest: str) -> int | None:
        """The release's latest revision if it is deployed and records ``digest``; None otherwise, always with
        ``force_upgrade``."""
        if self.options.force_upgrade or self.api is None:
            return None
        from deployer.kube import release_storage_labels

        doing = f"read the revisions of release '{job.release}' (namespace {job.namespace})"
        return inputs.unchanged(digest, release_storage_labels(self.api, job.namespace, job.release, doing=doing))

    def deploy_release(self, job: Job) -> ReleaseResult:
        start = time.monotonic()
        if self.on_event:
            self.on_event(Event(job))
        before: list[HistoryEntry] | None = None  # the history before this run's helm upgrade, once read

        def failed(attempted: int | None, error: str, live: int | None) -> ReleaseResult:
            return ReleaseResult(
                job.release, job.kind, FAILED, attempted, time.monotonic() - start, error, live_revision=live
            )

        try:
            self.deps.ensure(job.chart_path)
            with values_for(
                job, root=self.root, env=self.secrets_env, workdir=self.workdir, runner=self.helm_cli.runner
            ) as values:
                digest = self.inputs_digest(job, values)
                live = self.unchanged_revision(job, digest)
                if live is not None:
                    result = ReleaseResult(
                        job.release, job.kind, UNCHANGED, None, time.monotonic() - start, live_revision=live
                    )
                    if self.on_event:
                        self.on_event(Event(job, result))
                    return result
                before = self.check_not_pending(job)
                following = max((int(e.get("revision", 0)) for e in before), default=0) + 1
                done = self.helm_cli.run(
                    helm_argv.upgrade_args(
                        job.release,
                        job.chart_path,
                        namespace=job.namespace,
                        values_files=values,
                        major=self.helm_cli.major,
                        wait=self.options.wait,
                        timeout=self.options.timeout,
                        target=self.target,
                        labels=inputs.labels(digest, following),
                    ),
                    env=self.env,
                )
            revision = helm_argv.parse_revision(done.stdout) or self._revision(job)
            result = ReleaseResult(
                job.release, job.kind, DEPLOYED, revision, time.monotonic() - start, live_revision=revision
            )
        except Cancelled:
            raise
        except StuckRelease as exc:  # this run attempted nothing
            result = failed(None, str(exc), exc.live)
        except CommandError as exc:
            wrong = self.context_error() if helm_argv.missing_context(exc.stderr) is not None else None
            if wrong is not None:
                raise wrong from None  # every release would fail the same way: the deploy ends, exit 2
            error = "\n".join(exc.stderr.strip().splitlines()[-MAX_ERROR_LINES:]) or str(exc)
            history = [] if self.helm_cli.runner.cancelled else self._safe_history(job)
            pending = bool(history) and str(history[-1].get("status", "")).startswith("pending-")
            if helm_argv.IN_PROGRESS in exc.stderr and pending:
                error = explain_pending(job, history, self.target, self.took_over_from)
            attempted = None if before is None else attempted_revision(before, history)
            result = failed(attempted, error, live_revision(history))
        except DeployerError as exc:
            result = failed(None, exc.render(), live_revision(before or []))
        if self.on_event:
            self.on_event(Event(job, result))
        return result

    def context_error(self) -> UsageError | None:
        """The message of a missing ``kubeconfig.context`` (``deployer.config.contexts``) for helm's "context ...
        does not exist" (the kubeconfig changed after the provider checked it); None when it cannot be confirmed."""
        from deployer.auth import ClusterAccess
        from deployer.config.contexts import missing_context_error

        own = Path(self.target.kubeconfig) if self.target.kubeconfig else None
        access = ClusterAccess(kubeconfig=own, context=self.target.context)
        return missing_context_error(self.order.cluster, access, root=self.root, env=self.env)

    def _safe_history(self, job: Job) -> list[HistoryEntry]:
        try:
            return self.history(job, entries=20)
        except DeployerError:
            return []

    def _revision(self, job: Job) -> int | None:
        if self.helm_cli.runner.cancelled:
            return None
        history = self._safe_history(job)
        return int(history[-1]["revision"]) if history else None

    def skip(self, job: Job, reason: str) -> ReleaseResult:
        result = ReleaseResult(job.release, job.kind, SKIPPED, None, 0.0, reason)
        if self.on_event:
            self.on_event(Event(job, result))
        return result

    # -- the whole order -------------------------------------------------------------------------------------------
    def run(self) -> list[ReleaseResult]:
        results: dict[str, ReleaseResult] = {}
        order = self.order
        pool = ThreadPoolExecutor(max_workers=max(1, self.options.jobs), thread_name_prefix="deploy")
        try:
            blocked: str | None = None
            for job in (*((order.support,) if order.support else ()), *order.canaries):
                if blocked:
                    results[job.release] = self.skip(job, blocked)
                    continue
                result = _wait_one(pool.submit(self.deploy_release, job))
                results[job.release] = result
                if result.status not in SUCCESS:
                    blocked = (
                        f"not deployed because {'support' if job.kind == 'support' else 'canary'} "
                        f"'{job.release}' failed"
                    )
            if blocked:
                for job in order.prod:
                    results[job.release] = self.skip(job, blocked)
            else:
                futures = {pool.submit(self.deploy_release, job): job for job in order.prod}
                for future, job in _wait_all(futures):
                    results[job.release] = future.result()
        except BaseException:
            self.helm_cli.runner.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        return [results[j.release] for j in order.jobs]


def _wait_one(future: Future[ReleaseResult]) -> ReleaseResult:
    while True:  # short waits keep the main thread responsive to Ctrl-C and SIGTERM
        done, _ = wait([future], timeout=0.2)
        if done:
            return future.result()


def _wait_all(
    futures: dict[Future[ReleaseResult], Job],
) -> Iterator[tuple[Future[ReleaseResult], Job]]:
    pending = set(futures)
    while pending:
        done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
        for future in done:
            yield future, futures[future]


def live_revision(history: list[HistoryEntry]) -> int | None:
    """The revision of a release that is deployed (helm keeps it ``deployed`` when an upgrade fails), if any."""
    deployed = [int(e["revision"]) for e in history if e.get("status") == "deployed" and "revision" in e]
    return deployed[-1] if deployed else None


def attempted_revision(before: list[HistoryEntry], after: list[HistoryEntry]) -> int | None:
    """The revision this run's helm run recorded: the newest after it, if newer than every one before it; None
    when helm failed before recording one (values refused by a schema, a template error)."""
    newest = max((int(e.get("revision", 0)) for e in after), default=0)
    return newest if newest > max((int(e.get("revision", 0)) for e in before), default=0) else None


def explain_pending(
    job: Job, history: list[HistoryEntry], target: helm_argv.KubeTarget, took_over_from: str | None = None
) -> str:
    """Why a pending release is not deployed, and the commands that recover it. The caller holds the cluster's
    deploy lock, so no other deploy of it is running: the helm run that left it pending was interrupted
    (``took_over_from``: the deploy whose expired lock this one took over, likely the one killed)."""
    last = history[-1]
    status, revision = last.get("status"), int(last.get("revision", 0))
    good = [int(e["revision"]) for e in history[:-1] if e.get("status") in ("deployed", "superseded")]
    context = helm_argv.KubeTarget(context=target.context)  # a person's own kubeconfig, the deploy's context
    if good:
        fix = ["helm", *helm_argv.rollback_args(job.release, good[-1], namespace=job.namespace, target=context)]
        then = f"(back to revision {good[-1]}, the last one that deployed)"
    else:
        fix = ["helm", *helm_argv.uninstall_args(job.release, namespace=job.namespace, target=context)]
        then = "(it never deployed; this removes the half-installed release)"
    history_cmd = [
        "helm",
        *helm_argv.history_args(
            job.release, namespace=job.namespace, target=context, max_entries=None, output_json=False
        ),
    ]
    who = (
        f"the deploy by {took_over_from}, whose deploy lock expired and was taken over by this one"
        if took_over_from
        else "a killed deploy or CI job"
    )
    return (
        f"release '{job.release}' (namespace {job.namespace}) is stuck in status {status} at revision {revision}: "
        f"a helm run was interrupted before it finished ({who}), and helm refuses to change a release while an "
        f"operation is pending. No other deployer deploy of this cluster is running (this one holds its deploy "
        f"lock), and the deployer does not retry it blindly. Unless someone runs helm on this release by hand, "
        f"recover with:\n  {' '.join(fix)}   {then}\nthen deploy again. Inspect first with: {' '.join(history_cmd)}"
    )


def deploy(
    root: Path,
    cluster_name: str,
    hubs: Sequence[str] | None = None,
    *,
    env: Mapping[str, str],
    support: bool | None = None,
    options: DeployOptions = DeployOptions(),
    runner: Runner | None = None,
    on_event: Callable[[Event], None] | None = None,
    on_message: Callable[[str], None] | None = None,
) -> Report:
    """Deploy ``hubs`` of ``cluster_name`` (None: support and every hub; see ``order_releases``) and report.
    The cluster's deploy lock (``deploy.lock``) is held from before the first helm run to after the last;
    ``on_message`` gets the lock's notes (an expired lock taken over, a failed release of it)."""
    from deployer.deploy.lock import deploy_lock

    started = time.monotonic()
    order = load_release_order(root, cluster_name, hubs, support=support)
    runner = runner or Runner()
    deps, unprepared = prepare(root, order.charts(), env, runner)  # failures are reported per release below
    validate_releases(root, order, env=env, unprepared=unprepared, runner=runner)
    report = Report(cluster=order.cluster.name)
    if not order.jobs:
        return report
    helm_cli = HelmCli(root, runner, env)
    with (
        cluster_session(root, order, env, runner) as (workdir, access),
        deploy_lock(
            access,
            order.cluster.name,
            env=env,
            workdir=workdir,
            runner=runner,
            wait=options.lock_wait,
            notify=on_message or (lambda line: None),
        ) as lock,
    ):
        if order.support is None and order.cluster.support is not None and on_message is not None:
            note = support_missing(lock.api, order.cluster.support.release, order.cluster.name)
            if note:
                on_message(note)
        deployment = Deployment(
            root=root,
            order=order,
            env=access.child_env(env),
            secrets_env=env,
            helm_cli=helm_cli,
            deps=deps,
            target=kube_target(access),
            workdir=workdir,
            options=options,
            on_event=on_event,
            took_over_from=lock.took_over.identity if lock.took_over else None,
            api=lock.api,
        )
        report.results = deployment.run()
    report.seconds = time.monotonic() - started
    report.dependency_builds = list(deps.built)
    return report


def support_missing(api: ApiClient, release: str, cluster: str) -> str | None:
    """A warning when the cluster's support release (in the namespace of its name) has no ``deployed`` revision
    (one metadata-only list of its storage Secrets, ``kube.release_storage_labels``); None when it has one."""
    from deployer.kube import release_storage_labels

    doing = f"read the revisions of the support release '{release}' (namespace {release})"
    if any(labels.get("status") == "deployed" for labels in release_storage_labels(api, release, release, doing=doing)):
        return None
    return (
        f"warning: the support release of cluster '{cluster}' is not deployed: ingress and certificates of its hubs "
        f"will not work until it is (deployer deploy-support {cluster})"
    )


@contextlib.contextmanager
def cluster_session(
    root: Path, order: ReleaseOrder, env: Mapping[str, str], runner: Runner
) -> Iterator[tuple[Path, ClusterAccess]]:
    """A private work folder and the cluster's access (its subprocesses run by ``runner``), entered once."""
    from deployer.auth import cluster_access
    from deployer.private import private_dir

    with (
        private_dir() as workdir,
        cluster_access(order.cluster, root=root, env=env, workdir=workdir, runner=runner) as access,
    ):
        yield workdir, access


def kube_target(access: ClusterAccess) -> helm_argv.KubeTarget:
    """helm's flags for the cluster of ``access``."""
    return helm_argv.KubeTarget(
        kubeconfig=str(access.kubeconfig) if access.kubeconfig else None, context=access.context
    )


@contextlib.contextmanager
def access_session(
    root: Path, order: ReleaseOrder, env: Mapping[str, str], runner: Runner
) -> Iterator[tuple[Path, helm_argv.KubeTarget, dict[str, str]]]:
    """``cluster_session`` as helm needs it: (workdir, helm's target flags, helm's env)."""
    with cluster_session(root, order, env, runner) as (workdir, access):
        yield workdir, kube_target(access), access.child_env(env)
