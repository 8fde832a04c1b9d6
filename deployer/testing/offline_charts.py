"""Offline stand-in dependency charts, served to the REAL ``helm dependency build`` from a local chart repository.

The public chart repositories (hub.jupyter.org, helm.dask.org, ...) cannot be reached on some machines. The folder
``deployer/testing/offline_charts/`` (shipped with the package) holds one small STAND-IN chart per dependency that
``helm-charts/*/Chart.lock`` pins, with the same name and exact version. This module makes helm use them:

1. ``package_standins(cache_dir)`` runs ``helm package`` on each stand-in into ``cache_dir`` (skipped when the
   archives there are already up to date), giving ``<name>-<version>.tgz`` files.
2. ``local_chart_repository(cache_dir, repository_urls)`` serves ``cache_dir`` over HTTP on 127.0.0.1 (free port)
   and writes, in a private temporary folder, a helm repository config that maps each REAL repository URL of the
   locks (e.g. ``https://hub.jupyter.org/helm-chart/``) to a cached index listing the stand-ins on that server. It
   yields the environment variables (``HELM_REPOSITORY_CONFIG``, ``HELM_REPOSITORY_CACHE``, ``HELM_CACHE_HOME``)
   to give helm. Nothing of the user's helm configuration or cache is read or written.
3. ``ensure_offline_dependencies(chart_dir, cache_dir)`` runs the unmodified
   ``helm dependency build <chart> --skip-refresh`` with that environment, for the chart and, first, every
   ``file://`` dependency of it (daskhub -> basehub, since helm packages a ``file://`` chart together with its own
   ``charts/``). helm itself checks the committed ``Chart.lock`` digest, finds each pinned name and version in the
   repository index, downloads and writes ``<chart>/charts/*.tgz``. Charts whose ``charts/`` already match their
   lock are skipped.

Why this way: it is the same command a real deploy runs (``helm dependency build helm-charts/<chart>``), only with
the repository URLs answered locally, so the lock check, version resolution and ``file://`` packaging are helm's
own. Laying archives straight into ``charts/`` would skip all of that.

What it writes: only ``<chart>/charts/`` (and helm's transient ``<chart>/tmpcharts-*``), which ``.gitignore`` lists
for ``helm-charts/*/``. ``Chart.yaml`` and ``Chart.lock`` are never modified (``build`` does not rewrite the lock).
To leave the repository's chart folders alone entirely, ``copy_charts(src, dest)`` copies ``helm-charts/`` (the
committed files only) to ``dest`` first; tests do that. After ``ensure_offline_dependencies``, ``helm template`` and
``helm upgrade --install`` of the chart work offline with the ordinary environment (they only read ``charts/``).

On a machine that can reach the real repositories, do not call this: the deploy's own ``helm dependency build``
fetches the real charts. Each stand-in's ``Chart.yaml`` and README say "STAND-IN for offline tests, not the real
chart", and the index served here describes every entry the same way.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from deployer.charts import build_order, dependencies_built, lock_in_sync, read_archive, read_chart, read_lock
from deployer.errors import CommandError, DeployerError
from deployer.tools import find_tool

__all__ = [
    "STANDINS_DIR",
    "OfflineChartsError",
    "copy_charts",
    "ensure_offline_dependencies",
    "local_chart_repository",
    "package_standins",
    "standin_charts",
]

STANDINS_DIR = Path(__file__).resolve().parent / "offline_charts"
_STAMP = "standins.sha256"


class OfflineChartsError(DeployerError):
    """The stand-ins cannot serve a chart's dependencies (lock out of sync, no stand-in for a pin...)."""

    exit_code = 2


def standin_charts(standins_dir: Path = STANDINS_DIR) -> dict[tuple[str, str], Path]:
    """The stand-in charts by ``(name, version)``."""
    found: dict[tuple[str, str], Path] = {}
    for chart_yaml in sorted(Path(standins_dir).glob("*/Chart.yaml")):
        info = read_chart(chart_yaml.parent)
        found[(info.name, info.version)] = chart_yaml.parent
    return found


def _tree_digest(folders: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(str(path.relative_to(folder.parent)).encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()


def _run(argv: list[str], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, env=dict(env), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise CommandError(argv, result.returncode, result.stderr or result.stdout)
    return result


def package_standins(
    cache_dir: Path,
    *,
    helm: str | None = None,
    env: Mapping[str, str] | None = None,
    standins_dir: Path = STANDINS_DIR,
) -> Path:
    """``helm package`` every stand-in into ``cache_dir``; a no-op when they are already there and current.

    Safe to call from concurrent processes: archives are packaged in a private folder and moved into place.
    Returns ``cache_dir``.
    """
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    charts = standin_charts(standins_dir)
    digest = _tree_digest(charts.values())
    wanted = [f"{name}-{version}.tgz" for name, version in charts]
    stamp = cache_dir / _STAMP
    if stamp.is_file() and stamp.read_text().strip() == digest and all((cache_dir / w).is_file() for w in wanted):
        return cache_dir
    helm = helm or find_tool("helm", env=env)
    base_env = dict(env if env is not None else os.environ)
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".packaging-") as tmp:
        for folder in charts.values():
            _run([helm, "package", str(folder), "--destination", tmp], base_env)
        for archive in Path(tmp).glob("*.tgz"):
            os.replace(archive, cache_dir / archive.name)
        tmp_stamp = Path(tmp) / _STAMP
        tmp_stamp.write_text(digest + "\n")
        os.replace(tmp_stamp, stamp)
    return cache_dir


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


def _index_yaml(cache_dir: Path, base_url: str) -> str:
    """A helm repository index (apiVersion v1) of the archives in ``cache_dir``, with absolute URLs."""
    import json

    entries: dict[str, list[dict[str, object]]] = {}
    for archive in sorted(cache_dir.glob("*.tgz")):
        meta = read_archive(archive)
        if meta is None:
            continue
        name, version = meta
        entries.setdefault(name, []).append(
            {
                "apiVersion": "v2",
                "name": name,
                "version": version,
                "description": "STAND-IN for offline tests, not the real chart",
                "digest": hashlib.sha256(archive.read_bytes()).hexdigest(),
                "created": "2000-01-01T00:00:00Z",
                "urls": [f"{base_url}/{archive.name}"],
            }
        )
    # JSON is YAML: no YAML writer needed.
    return json.dumps({"apiVersion": "v1", "entries": entries, "generated": "2000-01-01T00:00:00Z"}, indent=1)


@contextlib.contextmanager
def local_chart_repository(cache_dir: Path, repository_urls: Iterable[str]) -> Iterator[dict[str, str]]:
    """Serve ``cache_dir`` on 127.0.0.1 and yield helm env vars mapping each URL in ``repository_urls`` to it.

    The yielded mapping is meant to be merged into the environment of ``helm dependency build|update
    --skip-refresh`` (``--skip-refresh`` so helm reads the prepared index instead of fetching the real one).
    The server and the temporary helm folders last until the ``with`` block ends.
    """
    cache_dir = Path(cache_dir)
    handler = functools.partial(_QuietHandler, directory=str(cache_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="offline-chart-repository", daemon=True)
    thread.start()
    try:
        base_url = f"http://127.0.0.1:{server.server_address[1]}"
        with tempfile.TemporaryDirectory(prefix="deployer-offline-helm-") as home:
            home_path = Path(home)
            repo_cache = home_path / "repository"
            repo_cache.mkdir()
            index = _index_yaml(cache_dir, base_url)
            lines = ["apiVersion: v1", "generated: \"2000-01-01T00:00:00Z\"", "repositories:"]
            for url in sorted(set(repository_urls)):
                name = "standin-" + hashlib.sha256(url.encode()).hexdigest()[:12]
                lines += [f"- name: {name}", f"  url: {url}"]
                (repo_cache / f"{name}-index.yaml").write_text(index)
            (home_path / "repositories.yaml").write_text("\n".join(lines) + "\n")
            yield {
                "HELM_REPOSITORY_CONFIG": str(home_path / "repositories.yaml"),
                "HELM_REPOSITORY_CACHE": str(repo_cache),
                "HELM_CACHE_HOME": str(home_path / "cache"),
            }
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _remote_pins(charts: Iterable[Path]) -> list[tuple[Path, str, str, str]]:
    pins = []
    for chart in charts:
        lock = read_lock(chart)
        for dep in lock.dependencies if lock else ():
            if not dep.is_local:
                pins.append((chart, dep.name, dep.version, dep.repository))
    return pins


def ensure_offline_dependencies(
    chart_dir: Path,
    cache_dir: Path,
    *,
    helm: str | None = None,
    env: Mapping[str, str] | None = None,
    force: bool = False,
) -> list[Path]:
    """Make ``helm template|upgrade --install <chart_dir>`` work offline, from the stand-ins.

    Packages the stand-ins into ``cache_dir`` (once), then for ``chart_dir`` and its ``file://`` dependencies
    (those first) runs the real ``helm dependency build <chart> --skip-refresh`` against a local chart repository
    that answers for the locks' repository URLs. Writes only ``<chart>/charts/``. Charts whose ``charts/`` already
    match their ``Chart.lock`` are skipped unless ``force``. Returns the chart folders actually built.

    Not for concurrent calls on the same chart folder (helm's build replaces ``charts/``): build once per chart
    per run, before deploying in parallel. Raises ``OfflineChartsError`` when a lock is out of sync with its ``Chart.yaml`` or pins a version no stand-in
    has, and ``CommandError`` (with helm's stderr) when helm fails.
    """
    base_env = dict(env if env is not None else os.environ)
    order = build_order(chart_dir)
    for chart in order:
        if not lock_in_sync(chart):
            raise OfflineChartsError(
                f"{chart}: Chart.lock is missing or out of sync with Chart.yaml; run `helm dependency update` "
                "where the chart repositories can be reached, and commit the new Chart.lock"
            )
    todo = [chart for chart in order if force or not dependencies_built(chart)]
    if not todo:
        return []
    available = standin_charts()
    missing = [pin for pin in _remote_pins(order) if (pin[1], pin[2]) not in available]
    if missing:
        listed = ", ".join(
            f"{name} {version} ({repo}, pinned by {chart.name})" for chart, name, version, repo in missing
        )
        raise OfflineChartsError(f"no offline stand-in chart for: {listed}; add one under {STANDINS_DIR}")
    helm = helm or find_tool("helm", env=base_env)
    package_standins(cache_dir, helm=helm, env=base_env)
    urls = {repo for _, _, _, repo in _remote_pins(order)}
    with local_chart_repository(cache_dir, urls) as helm_env:
        for chart in todo:
            _run([helm, "dependency", "build", str(chart), "--skip-refresh"], {**base_env, **helm_env})
    return todo


def copy_charts(src: Path, dest: Path) -> Path:
    """Copy a ``helm-charts/`` folder to ``dest`` without built dependencies (``charts/``, ``tmpcharts*``).

    ``file://`` dependencies between the charts keep working because the whole folder moves together.
    Returns ``dest``.
    """

    def ignore(folder: str, names: list[str]) -> set[str]:
        top = Path(folder).parent == Path(src)  # inside helm-charts/<chart>/
        return {n for n in names if top and (n == "charts" or n.startswith("tmpcharts"))} | {"__pycache__"}

    shutil.copytree(src, dest, ignore=ignore)
    return Path(dest)


@dataclass(frozen=True)
class ChartCache:
    """What the ``chart_cache`` fixture yields: the packaged stand-ins and the helper to use them.

    ``folder`` holds ``<name>-<version>.tgz`` of every stand-in; ``ensure(chart_dir)`` builds a chart's
    dependencies offline (see ``ensure_offline_dependencies``); ``copy_charts(src, dest)`` copies a
    ``helm-charts/`` folder and builds every chart in the copy.
    """

    folder: Path
    helm: str

    def ensure(self, chart_dir: Path, *, env: Mapping[str, str] | None = None, force: bool = False) -> list[Path]:
        return ensure_offline_dependencies(chart_dir, self.folder, helm=self.helm, env=env, force=force)

    def copy_charts(self, src: Path, dest: Path, *, env: Mapping[str, str] | None = None) -> Path:
        copy_charts(src, dest)
        for chart_yaml in sorted(Path(dest).glob("*/Chart.yaml")):
            self.ensure(chart_yaml.parent, env=env)
        return Path(dest)
