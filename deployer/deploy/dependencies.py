"""Chart dependencies, built at most once per chart per run.

``Dependencies(root, helm_path, runner, env).ensure("helm-charts/daskhub")`` walks ``build_order`` (``file://``
dependencies first: basehub, then daskhub) and, for each chart not yet handled in this run:

- refuses a ``Chart.lock`` out of sync with ``Chart.yaml`` (helm would refuse it too; the fix is a committed lock);
- skips the chart when ``charts/`` already holds exactly what the lock pins (``deployer.charts.dependencies_built``);
- otherwise runs the real ``helm dependency build <chart>`` from the repository root with the environment given.

The outcome (done, or the error) is remembered, so a chart shared by many releases is checked and built once, and
a failure is reported for every release that needs it without running helm again. ``built``/``checked`` list what
happened, for reports and benchmarks. Thread-safe (one lock: builds never overlap).

Nothing here knows about offline stand-ins: tests that need them give an environment whose helm repository config
points at a local repository, or pre-build ``charts/``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Mapping

from deployer import helm as helm_args
from deployer.charts import build_order, dependencies_built, lock_in_sync, read_lock
from deployer.errors import CommandError, DeployerError
from deployer.repo import relative
from deployer.run import Runner


class DependencyError(DeployerError):
    """A chart's dependencies cannot be built; the message says what to do."""


def repo_add_hints(chart_dirs: list[Path]) -> list[list[str]]:
    """``helm repo add NAME URL`` argv (without ``helm``) for the remote repositories the charts' locks use."""
    seen: dict[str, str] = {}
    for chart in chart_dirs:
        lock = read_lock(chart)
        for dep in lock.dependencies if lock else ():
            if not dep.is_local and dep.repository not in seen.values():
                seen[dep.name] = dep.repository
    return [helm_args.repo_add_args(name, url) for name, url in seen.items()]


class Dependencies:
    def __init__(self, root: Path, helm: str, runner: Runner, env: Mapping[str, str]) -> None:
        self.root = root
        self.helm = helm
        self.runner = runner
        self.env = env
        self._lock = threading.Lock()
        self._outcome: dict[Path, DeployerError | None] = {}
        self.built: list[str] = []
        self.checked: list[str] = []

    def ensure(self, chart: str) -> None:
        """Make ``<root>/<chart>`` and its ``file://`` dependencies ready for helm; raise ``DeployerError`` if not."""
        with self._lock:
            for path in build_order(self.root / chart):
                if path not in self._outcome:
                    self._outcome[path] = self._prepare(path)
                error = self._outcome[path]
                if error is not None:
                    raise error

    def _prepare(self, path: Path) -> DeployerError | None:
        rel = relative(self.root, path)
        self.checked.append(rel)
        if not lock_in_sync(path):
            return DependencyError(
                f"{rel}/Chart.lock is missing or out of sync with {rel}/Chart.yaml: run `helm dependency update "
                f"{rel}` where the chart repositories can be reached, and commit the new Chart.lock"
            )
        if dependencies_built(path):
            return None
        try:
            self.runner.run([self.helm, *helm_args.dependency_build_args(rel)], env=self.env, cwd=self.root)
        except CommandError as exc:
            match = helm_args.NO_REPOSITORY.search(exc.stderr)
            if match:
                adds = "; ".join("helm " + " ".join(a) for a in repo_add_hints([path]))
                return DependencyError(f"{rel}: helm knows no chart repository {match.group(1)}: run {adds} "
                                       "once on this machine, then deploy again")
            return DependencyError(f"{rel}: helm dependency build failed:\n{exc.stderr.strip()}")
        self.built.append(rel)
        return None
