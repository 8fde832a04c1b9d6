"""Chart dependencies, built at most once per chart per run.

``Dependencies(root, helm_path, runner, env).ensure("helm-charts/daskhub")`` walks ``build_order`` (``file://``
dependencies first: basehub, then daskhub) and, for each chart not yet handled in this run:

- refuses a ``Chart.lock`` out of sync with ``Chart.yaml`` (helm would refuse it too; the fix is a committed lock);
- skips the chart when ``charts/`` already holds exactly what the lock pins (``deployer.charts.dependencies_built``);
- otherwise runs the real ``helm dependency build <chart>`` from the repository root with the environment given;
  when ``DEPLOYER_CHART_MIRROR`` names a chart mirror (``deployer.chart_mirror``), with ``--skip-refresh`` and the
  mirror served under the lock's repository URLs, after checking that it holds every pinned archive. When helm
  knows no repository for a URL of the lock (a machine where nobody ran ``helm repo add``), the build is run
  again with a private repository config naming the lock's URLs, so no one has to add repositories by hand.

The outcome (done, or the error) is remembered, so a chart shared by many releases is checked and built once, and
a failure is reported for every release that needs it without running helm again. ``built`` lists the charts
whose dependencies were built, for the deploy report. Thread-safe (one lock: builds never overlap).

Tests use this same class (through the ``chart_cache`` fixture) with the mirror of the real pinned charts.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from pathlib import Path

from deployer import chart_mirror, helm_argv
from deployer.charts import build_order, dependencies_built, lock_in_sync
from deployer.errors import CommandError, DeployerError, UsageError
from deployer.repo import relative
from deployer.run import Runner


class DependencyError(DeployerError):
    """A chart's dependencies cannot be built; the message says what to do. Bad input (exit 2) for every command
    (template, diff, validate; a deploy reports it as that release's failure): the lock, the mirror or the
    repository access must change."""

    exit_code = 2


def fetch_failed(rel: str, chart: Path, stderr: str) -> str:
    """One line, the same for every command: which pinned dependencies could not be fetched from which repositories,
    helm's own reason, and the two ways out (build where they can be reached, or a chart mirror)."""
    remote = chart_mirror.pins([chart])
    urls = list(dict.fromkeys(pin.repository for pin in remote)) or helm_argv.missing_repositories(stderr)
    said = " ".join(line.strip() for line in stderr.strip().splitlines()[-3:] if line.strip())[:400] or "no message"
    charts = ", ".join(f"{pin.name} {pin.version}" for pin in remote) or "its dependencies"
    archives = ", ".join(pin.archive_name for pin in remote) or "<name>-<version>.tgz chart archives"
    where = ", ".join(urls) or "its chart repositories"
    return (
        f"{rel}: helm dependency build could not fetch {charts} from {where} (helm: {said}); run "
        f"'helm dependency build {rel}' where {where} can be reached, or set {chart_mirror.MIRROR_VARIABLE} to a "
        f"folder holding {archives}"
    )


def repo_add_hints(chart_dirs: list[Path]) -> list[list[str]]:
    """``helm repo add NAME URL`` argv (without ``helm``) for the remote repositories the charts' locks use."""
    first: dict[str, str] = {}  # repository URL -> the name of the first chart pinned from it
    for pin in chart_mirror.pins(chart_dirs):
        first.setdefault(pin.repository, pin.name)
    return [helm_argv.repo_add_args(name, url) for url, name in first.items()]


class Dependencies:
    def __init__(self, root: Path, helm_path: str, runner: Runner, env: Mapping[str, str]) -> None:
        self.root = root
        self.helm_path = helm_path
        self.runner = runner
        self.env = env
        self._lock = threading.Lock()
        self._outcome: dict[Path, DeployerError | None] = {}
        self.built: list[str] = []  # the charts whose dependencies this run built, repo-relative

    def ensure(self, chart: str) -> None:
        """Make ``<root>/<chart>`` and its ``file://`` dependencies ready for helm; raise ``DeployerError`` if not."""
        with self._lock:
            for path in build_order(self.root / chart):
                if path not in self._outcome:
                    self._outcome[path] = self._prepare(path)
                error = self._outcome[path]
                if error is not None:
                    raise error

    def _build(self, rel: str, env: Mapping[str, str], *, skip_refresh: bool = False) -> None:
        self.runner.run(
            [self.helm_path, *helm_argv.dependency_build_args(rel, skip_refresh=skip_refresh)], env=env, cwd=self.root
        )

    def _prepare(self, path: Path) -> DeployerError | None:
        rel = relative(self.root, path)
        if not lock_in_sync(path):
            return DependencyError(
                f"{rel}/Chart.lock is missing or out of sync with {rel}/Chart.yaml: run `helm dependency update "
                f"{rel}` where the chart repositories can be reached, and commit the new Chart.lock"
            )
        if dependencies_built(path):
            return None
        try:
            mirror = chart_mirror.mirror_dir(self.env)
            if mirror is not None:
                try:
                    with chart_mirror.serving(mirror, [path], shown={path: rel}) as helm_env:
                        self._build(rel, {**self.env, **helm_env}, skip_refresh=True)
                except chart_mirror.MirrorError as exc:  # a pin the mirror lacks: what to add, and how
                    return DependencyError(str(exc))
            else:
                try:
                    self._build(rel, self.env)
                except CommandError as exc:
                    if not helm_argv.missing_repositories(exc.stderr):
                        raise
                    # this helm has no `helm repo add` for a repository the lock names: rather than asking for it,
                    # build again with a private repository config naming the lock's URLs (the user's is untouched)
                    with chart_mirror.repositories([path]) as helm_env:
                        self._build(rel, {**self.env, **helm_env})
        except UsageError as exc:  # the mirror setting is unusable: bad input (exit 2), kept as it is
            return exc
        except CommandError as exc:
            return DependencyError(fetch_failed(rel, path, exc.stderr))
        self.built.append(rel)
        return None


def prepare(
    root: Path, charts: Iterable[str], env: Mapping[str, str], runner: Runner | None = None
) -> tuple[Dependencies, set[str]]:
    """Build the dependencies of ``charts`` (repository-relative folders), once each, before validating (validation
    reads the dependency charts' schemas from those archives). Returns the ``Dependencies`` (whose ``ensure`` raises
    a chart's error again) and the names of the charts that could not be prepared; nothing is raised here but a
    missing helm (``ToolMissingError``)."""
    from deployer.tools import find_tool

    deps = Dependencies(root, find_tool("helm", root, env), runner or Runner(), env)
    failed = set()
    for chart in charts:
        try:
            deps.ensure(chart)
        except DeployerError:
            failed.add(Path(chart).name)
    return deps, failed


def build_missing(root: Path, env: Mapping[str, str]) -> list[str]:
    """Best effort, before ``validate``: ``prepare`` every chart of ``helm-charts/`` (a fresh clone or CI runner has
    no ``charts/`` yet). Returns the charts built. A chart that cannot be built leaves its archives missing, which
    validation reports with what to do; without a usable helm, nothing is built."""
    charts = sorted(relative(root, p.parent) for p in (root / "helm-charts").glob("*/Chart.yaml"))
    try:
        deps, _ = prepare(root, charts, env)
    except DeployerError:  # no usable helm here: validation says which archives are missing
        return []
    return list(deps.built)
