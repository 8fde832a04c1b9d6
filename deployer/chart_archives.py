"""Where the packaged dependency charts a ``Chart.lock`` pins are found, and what is inside them.

- ``mirror_dir(env)``: the chart mirror folder named by ``DEPLOYER_CHART_MIRROR`` (files ``<name>-<version>.tgz``),
  None when unset. The one reader of that variable: validation and the deploy both use it.
- ``helm_cache_dir(env)``: helm's repository cache (``$HELM_CACHE_HOME/repository``, else
  ``$XDG_CACHE_HOME/helm/repository``, else ``~/.cache/helm/repository``), where ``helm dependency build`` leaves
  the ``<name>-<version>.tgz`` it downloaded.
- ``find_archive(chart_dir, name, version, env)``: the first archive holding that pinned chart, looked for in
  ``<chart_dir>/charts/``, then the mirror, then helm's cache; an archive counts only when its own ``Chart.yaml``
  has that name and version.
- ``read_packaged(path)``: the charts inside an archive (``PackagedChart``: Chart.yaml, values.yaml,
  values.schema.json, and its subcharts, whether packaged as ``charts/<sub>/`` folders or as nested ``.tgz``),
  read once per process (cached by path, size and modification time).

Pure Python; no subprocess, no network.
"""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from deployer.charts import read_archive
from deployer.errors import UsageError
from deployer.userfiles import MAX_CHART_ARCHIVE, MAX_CHART_FILE, Refused, human, read_capped

MIRROR_VARIABLE = "DEPLOYER_CHART_MIRROR"
REFETCH = "helm would refuse it too; delete it and run 'helm dependency build' on its chart"

__all__ = [
    "MIRROR_VARIABLE",
    "ArchiveError",
    "PackagedChart",
    "find_archive",
    "helm_cache_dir",
    "holds",
    "mirror_dir",
    "places",
    "read_packaged",
]


class ArchiveError(UsageError):
    """A chart archive (or the mirror setting) cannot be used; the message says what to do."""


def mirror_dir(env: Mapping[str, str]) -> Path | None:
    """The folder named by ``DEPLOYER_CHART_MIRROR`` in ``env``; None when unset or empty.

    A value naming no folder raises ``ArchiveError`` (exit 2): a typo must not silently fall back to the network.
    """
    value = env.get(MIRROR_VARIABLE, "")
    if not value:
        return None
    folder = Path(value).expanduser()
    if not folder.is_dir():
        raise ArchiveError(
            f"{MIRROR_VARIABLE}={value}: not a folder; point it at a folder of <name>-<version>.tgz "
            "chart archives, or unset it"
        )
    return folder.absolute()


def helm_cache_dir(env: Mapping[str, str]) -> Path:
    """helm's repository cache folder for this environment (helm's own rules; HELM_REPOSITORY_CACHE first)."""
    if env.get("HELM_REPOSITORY_CACHE"):
        return Path(env["HELM_REPOSITORY_CACHE"]).expanduser()
    if env.get("HELM_CACHE_HOME"):
        return Path(env["HELM_CACHE_HOME"]).expanduser() / "repository"
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]).expanduser() / "helm" / "repository"
    home = env.get("HOME") or os.path.expanduser("~")
    return Path(home) / ".cache" / "helm" / "repository"


def places(chart_dir: Path, env: Mapping[str, str]) -> list[Path]:
    """The folders ``find_archive`` looks in, in order."""
    found = [Path(chart_dir) / "charts"]
    mirror = mirror_dir(env)
    if mirror is not None:
        found.append(mirror)
    found.append(helm_cache_dir(env))
    return found


_VERIFIED: dict[tuple[str, int, int], tuple[str, str] | None] = {}


def holds(path: Path, name: str, version: str) -> bool:
    """Whether ``path`` is an archive whose own ``Chart.yaml`` has this name and version (cached per process)."""
    return path.is_file() and _identity(path) == (name, version)


def _identity(path: Path) -> tuple[str, str] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _VERIFIED:
        _VERIFIED[key] = read_archive(path)
    return _VERIFIED[key]


def find_archive(chart_dir: Path, name: str, version: str, env: Mapping[str, str]) -> Path | None:
    """The archive of chart ``name`` at ``version``: ``<chart_dir>/charts/``, the mirror, helm's cache; or None."""
    filename = f"{name}-{version}.tgz"
    for folder in places(chart_dir, env):
        candidate = folder / filename
        if holds(candidate, name, version):
            return candidate
    return None


@dataclass(frozen=True)
class PackagedChart:
    """One chart as helm loads it from a package: its files of interest and its subcharts (``charts/``)."""

    chart_yaml: bytes
    values_yaml: bytes | None
    schema: bytes | None
    requirements_yaml: bytes | None  # apiVersion v1 charts list their dependencies there
    subcharts: tuple[PackagedChart, ...] = field(default=())
    origin: str = ""  # e.g. "prometheus-27.23.0.tgz:prometheus/charts/alertmanager"


_PACKAGES: dict[tuple[str, int, int], PackagedChart] = {}


def read_packaged(path: Path) -> PackagedChart:
    """The chart in the archive at ``path`` (cached per process); ``ArchiveError`` when it is not a chart."""
    path = Path(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _PACKAGES:
        try:
            data = read_capped(path, MAX_CHART_ARCHIVE, "a chart archive (helm's own limit)", REFETCH)
        except Refused as exc:
            raise ArchiveError(f"{path.name}: {exc}") from None
        _PACKAGES[key] = _from_bytes(data, path.name)
    return _PACKAGES[key]


def _from_bytes(data: bytes, origin: str) -> PackagedChart:
    files: dict[str, bytes] = {}
    total = 0  # bytes taken out of the archive, bounded as helm bounds them (MaxDecompressedChartSize)
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                name = member.name[2:] if member.name.startswith("./") else member.name
                base = name.rsplit("/", 1)[-1]
                if base in ("Chart.yaml", "values.yaml", "values.schema.json", "requirements.yaml") or (
                    base.endswith(".tgz") and "/charts/" in name
                ):
                    total += member.size
                    if member.size > MAX_CHART_FILE:
                        raise ArchiveError(
                            f"{origin}: {name} is {human(member.size)}, more than the {human(MAX_CHART_FILE)} limit "
                            f"for a chart file (helm's own limit): {REFETCH}"
                        )
                    if total > MAX_CHART_ARCHIVE:
                        raise ArchiveError(
                            f"{origin}: more than the {human(MAX_CHART_ARCHIVE)} limit for a chart unpacked (helm's "
                            f"own limit): {REFETCH}"
                        )
                    handle = tar.extractfile(member)
                    if handle is not None:
                        files[name] = handle.read(MAX_CHART_FILE + 1)
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise ArchiveError(f"{origin}: not a readable chart archive ({exc})") from None
    roots = {n.split("/", 1)[0] for n in files if "/" in n}
    tops = [r for r in roots if f"{r}/Chart.yaml" in files]
    if len(tops) != 1:
        raise ArchiveError(f"{origin}: not a chart archive (expected one top folder holding Chart.yaml)")
    return _chart_at(files, tops[0], origin)


def _chart_at(files: Mapping[str, bytes], prefix: str, origin: str) -> PackagedChart:
    subs: list[PackagedChart] = []
    inner = f"{prefix}/charts/"
    folders = sorted(
        {n[len(inner) :].split("/", 1)[0] for n in files if n.startswith(inner) and n[len(inner) :].count("/") >= 1}
    )
    for folder in folders:
        if folder[:1] in (".", "_"):
            continue  # helm's loader ignores charts/ entries starting with . or _
        if f"{inner}{folder}/Chart.yaml" in files:
            subs.append(_chart_at(files, f"{inner}{folder}", f"{origin}:{inner}{folder}"))
    for name in sorted(n for n in files if n.startswith(inner) and "/" not in n[len(inner) :] and n.endswith(".tgz")):
        if name[len(inner) :][:1] in (".", "_"):
            continue
        subs.append(_from_bytes(files[name], f"{origin}:{name}"))
    return PackagedChart(
        chart_yaml=files[f"{prefix}/Chart.yaml"],
        values_yaml=files.get(f"{prefix}/values.yaml"),
        schema=files.get(f"{prefix}/values.schema.json"),
        requirements_yaml=files.get(f"{prefix}/requirements.yaml"),
        subcharts=tuple(subs),
        origin=origin,
    )
