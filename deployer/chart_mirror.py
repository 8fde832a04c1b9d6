"""A local chart mirror: the pinned dependency charts from a folder, for machines that cannot reach the repositories.

``DEPLOYER_CHART_MIRROR=DIR`` (read by ``deployer.chart_archives.mirror_dir``, which validation uses too to find
the dependency charts' schemas) names a folder of ``<name>-<version>.tgz`` archives (e.g. made with ``helm pull NAME
--repo URL --version V -d DIR`` on a machine that reaches the repositories). When it is set, every ``helm
dependency build`` the deployer runs gets its charts from there:

- ``missing(mirror, charts)`` lists the pins of the charts' ``Chart.lock`` files that the folder does not hold
  (an archive counts only when its own ``Chart.yaml`` has the pinned name and version);
- ``serving(mirror, charts)`` serves the folder over HTTP on 127.0.0.1 (a free port) for the duration of a ``with``
  block and yields the helm environment (``HELM_REPOSITORY_CONFIG``, ``HELM_REPOSITORY_CACHE``,
  ``HELM_CACHE_HOME``, all in a private temporary folder) under which each repository URL of the locks resolves
  to that server. The unmodified ``helm dependency build --skip-refresh`` then checks the lock digest, resolves the
  versions and writes ``charts/`` exactly as it does online.

Nothing of the user's own helm configuration or cache is read or written, and nothing is written into the mirror
(it may be read-only). Without the variable helm fetches from the real repositories; ``repositories(charts)``
yields a private repository config naming the locks' URLs for a helm that has none of them (no ``helm repo add``
needed on a new machine or CI runner).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import json
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from deployer.chart_archives import MIRROR_VARIABLE, holds, mirror_dir
from deployer.charts import read_lock
from deployer.errors import UsageError
from deployer.helm_argv import pull_args
from deployer.private import private_dir
from deployer.shellwords import shell_join

__all__ = [
    "MIRROR_VARIABLE",
    "MirrorError",
    "Pin",
    "mirror_dir",
    "missing",
    "pins",
    "repositories",
    "serving",
]


class MirrorError(UsageError):
    """The chart mirror cannot serve what the locks pin; the message says what to add."""


@dataclass(frozen=True)
class Pin:
    """A remote dependency a chart's ``Chart.lock`` pins."""

    chart: Path  # the depending chart's folder
    name: str
    version: str
    repository: str

    @property
    def archive_name(self) -> str:
        return f"{self.name}-{self.version}.tgz"

    def fetch_hint(self, folder: Path | str) -> str:
        return shell_join(
            ["helm", *pull_args(self.name, repository=self.repository, version=self.version, destination=str(folder))]
        )


def pins(charts: Iterable[Path]) -> list[Pin]:
    """The remote (non-``file://``) dependencies pinned by the charts' locks, in order, without repeats."""
    found: list[Pin] = []
    for chart in charts:
        lock = read_lock(chart)
        for dep in lock.dependencies if lock else ():
            pin = Pin(Path(chart), dep.name, dep.version, dep.repository)
            if not dep.is_local and pin not in found:
                found.append(pin)
    return found


def missing(mirror: Path, charts: Iterable[Path]) -> list[Pin]:
    """The pins of ``charts`` that ``mirror`` does not hold."""
    return [pin for pin in pins(charts) if not holds(mirror / pin.archive_name, pin.name, pin.version)]


def missing_message(mirror: Path, absent: list[Pin], shown: Mapping[Path, str] | None = None) -> str:
    """One message listing what the mirror lacks and the command that adds each archive."""
    shown = shown or {}
    lines = [f"the chart mirror {mirror} ({MIRROR_VARIABLE}) lacks {len(absent)} pinned chart(s):"]
    for pin in absent:
        where = shown.get(pin.chart, str(pin.chart))
        lines.append(f"  {pin.archive_name} (pinned by {where}/Chart.lock); add it with: {pin.fetch_hint(mirror)}")
    lines.append(
        f"(run that where {', '.join(sorted({p.repository for p in absent}))} can be reached), "
        f"or unset {MIRROR_VARIABLE} to fetch from the repositories"
    )
    return "\n".join(lines)


def _index(mirror: Path, wanted: Iterable[tuple[str, str]], base_url: str) -> str:
    """A helm repository index (apiVersion v1) listing the wanted (name, version) archives with absolute URLs."""
    entries: dict[str, list[dict[str, object]]] = {}
    for name, version in sorted(set(wanted)):
        archive = mirror / f"{name}-{version}.tgz"
        entries.setdefault(name, []).append(
            {
                "apiVersion": "v2",
                "name": name,
                "version": version,
                "digest": hashlib.sha256(archive.read_bytes()).hexdigest(),
                "created": "2000-01-01T00:00:00Z",
                "urls": [f"{base_url}/{archive.name}"],
            }
        )
    return json.dumps({"apiVersion": "v1", "entries": entries, "generated": "2000-01-01T00:00:00Z"}, indent=1)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # `format`: the base class's name
        pass


@contextlib.contextmanager
def serving(
    mirror: Path,
    charts: Iterable[Path],
    *,
    shown: Mapping[Path, str] | None = None,
) -> Iterator[dict[str, str]]:
    """Serve ``mirror`` on 127.0.0.1 and yield the helm environment mapping the charts' lock URLs to it.

    Raises ``MirrorError`` (before serving anything) when a pinned archive is missing; ``shown`` names the charts
    in that message (chart folder -> how to show it). Meant for ``helm dependency build --skip-refresh`` (which
    reads the prepared index instead of fetching one).
    """
    charts = list(charts)
    absent = missing(mirror, charts)
    if absent:
        raise MirrorError(missing_message(mirror, absent, shown))
    wanted = pins(charts)
    with _serve(mirror, [(p.name, p.version) for p in wanted], {p.repository for p in wanted}) as env:
        yield env


@contextlib.contextmanager
def repositories(charts: Iterable[Path]) -> Iterator[dict[str, str]]:
    """The helm environment of a private repository config naming each repository URL the charts' locks use, for
    a machine whose helm has none of them (``helm repo add``); helm then fetches their indexes as usual."""
    urls = sorted({p.repository for p in pins(charts)})
    with private_dir("deployer-helm-repositories-") as home:  # a throwaway helm home; it holds no secret
        yield _repository_config(home, urls)


def _repository_config(home: Path, urls: Iterable[str]) -> dict[str, str]:
    """Write ``repositories.yaml`` in ``home`` naming each URL (a name derived from the URL, which also names its
    index file in the cache) and return helm's environment for it."""
    cache = home / "repository"
    cache.mkdir(exist_ok=True)
    lines = ["apiVersion: v1", 'generated: "2000-01-01T00:00:00Z"', "repositories:"]
    for url in sorted(urls):
        lines += [f"- name: {_repository_name(url)}", f"  url: {url}"]
    (home / "repositories.yaml").write_text("\n".join(lines) + "\n")
    return {
        "HELM_REPOSITORY_CONFIG": str(home / "repositories.yaml"),
        "HELM_REPOSITORY_CACHE": str(cache),
        "HELM_CACHE_HOME": str(home / "cache"),
    }


def _repository_name(url: str) -> str:
    return "repo-" + hashlib.sha256(url.encode()).hexdigest()[:12]


@contextlib.contextmanager
def _serve(mirror: Path, archives: list[tuple[str, str]], urls: set[str]) -> Iterator[dict[str, str]]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(mirror)))
    thread = threading.Thread(target=server.serve_forever, name="chart-mirror", daemon=True)
    thread.start()
    try:
        base_url = f"http://127.0.0.1:{server.server_address[1]}"
        with private_dir("deployer-chart-mirror-") as home:  # a throwaway helm home; it holds no secret
            # each lock URL keeps its own name; --skip-refresh makes helm read these prepared indexes
            helm_env = _repository_config(home, urls)
            index = _index(mirror, archives, base_url)
            for url in urls:
                (Path(helm_env["HELM_REPOSITORY_CACHE"]) / f"{_repository_name(url)}-index.yaml").write_text(index)
            yield helm_env
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
