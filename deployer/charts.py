"""Reading the project's helm charts (``helm-charts/<chart>/``) and their dependency locks, without running helm.

- ``read_chart(path) -> ChartInfo``: name, version and the dependencies that ``Chart.yaml`` requests.
- ``read_lock(path) -> ChartLock``: the dependencies ``Chart.lock`` pins and its ``digest``.
- ``lock_digest(requested, locked) -> str``: the digest helm writes into ``Chart.lock`` (helm's ``HashReq``):
  ``"sha256:" + sha256`` of the JSON ``[[requested...], [locked...]]``, each dependency encoded as Go encodes
  helm's ``chart.Dependency`` (fields in struct order, empty ones omitted except ``repository``, ``<>&`` escaped).
  Locked entries carry only name, version and repository, as helm writes them.
- ``lock_in_sync(chart_dir) -> bool``: whether ``helm dependency build`` would accept the committed lock rather
  than fail with "the lock file (Chart.lock) is out of sync with the dependencies file (Chart.yaml)".
- ``build_order(chart_dir)``: the charts whose dependencies must be built, ``file://`` dependencies first (helm
  packages a ``file://`` chart with whatever its own ``charts/`` holds).
- ``dependencies_built(chart_dir) -> bool``: whether ``charts/`` already holds every locked dependency.
- ``read_archive(path)``: ``(name, version)`` of a packaged chart (``.tgz``).

Pure Python; nothing here runs a subprocess or touches the network.
"""

from __future__ import annotations

import hashlib
import json
import tarfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deployer.errors import ConfigError, Problem

__all__ = [
    "ChartDependency",
    "ChartInfo",
    "ChartLock",
    "build_order",
    "dependencies_built",
    "dependencies_of",
    "local_dependents",
    "lock_digest",
    "lock_in_sync",
    "read_archive",
    "read_chart",
    "read_lock",
]


@dataclass(frozen=True)
class ChartDependency:
    """One entry of ``dependencies:`` in ``Chart.yaml`` (or of ``Chart.lock``)."""

    name: str
    version: str = ""
    repository: str = ""
    alias: str = ""
    condition: str = ""
    tags: tuple[str, ...] = ()
    enabled: bool = False
    import_values: tuple[Any, ...] = ()

    @property
    def is_local(self) -> bool:
        """True for ``file://`` dependencies, which helm packages from a local folder."""
        return self.repository.startswith("file://")

    def local_path(self, chart_dir: Path) -> Path:
        """The folder of a ``file://`` dependency, resolved against the depending chart's folder."""
        if not self.is_local:
            raise ValueError(f"{self.name}: {self.repository!r} is not a file:// repository")
        return (Path(chart_dir) / self.repository[len("file://") :]).resolve()

    def go_json(self) -> dict[str, Any]:
        """The mapping Go's ``encoding/json`` makes of helm's ``chart.Dependency`` (field order kept)."""
        out: dict[str, Any] = {"name": self.name}
        if self.version:
            out["version"] = self.version
        out["repository"] = self.repository
        if self.condition:
            out["condition"] = self.condition
        if self.tags:
            out["tags"] = list(self.tags)
        if self.enabled:
            out["enabled"] = True
        if self.import_values:
            out["import-values"] = [_sorted_maps(v) for v in self.import_values]
        if self.alias:
            out["alias"] = self.alias
        return out


@dataclass(frozen=True)
class ChartInfo:
    """What ``Chart.yaml`` says about a chart."""

    path: Path
    name: str
    version: str
    dependencies: tuple[ChartDependency, ...] = field(default=())


@dataclass(frozen=True)
class ChartLock:
    """What ``Chart.lock`` pins."""

    dependencies: tuple[ChartDependency, ...]
    digest: str


def _shown(path: Path) -> str:
    """``helm-charts/<chart>/<file>`` for a file of a project chart (as messages name files), else the path."""
    path = Path(path)
    return f"helm-charts/{path.parent.name}/{path.name}" if path.parent.parent.name == "helm-charts" else str(path)


def _chart_problem(path: Path, line: int | None, message: str) -> ConfigError:
    return ConfigError([Problem(_shown(path), line, message)])


def _load_yaml(path: Path) -> Any:
    """Parse a chart's YAML file as helm does (YAML 1.1); a broken or missing file is a ``ConfigError``."""
    from deployer import yamlio
    from deployer.userfiles import HELM_TOO, MAX_CHART_FILE

    try:
        return yamlio.load(Path(path), most=MAX_CHART_FILE, what="a chart file (helm's own limit)", hint=HELM_TOO)
    except yamlio.YamlError as exc:
        raise _chart_problem(path, exc.line, exc.message) from None
    except FileNotFoundError:
        raise _chart_problem(
            path, None, "missing: every chart folder (and every file:// dependency) needs one"
        ) from None


def _text(value: Any) -> str:
    """A YAML scalar as the string Go would unmarshal into a string field (quote versions such as "1.10")."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _dependency(entry: Mapping[str, Any]) -> ChartDependency:
    return ChartDependency(
        name=_text(entry.get("name")),
        version=_text(entry.get("version")),
        repository=_text(entry.get("repository")),
        alias=_text(entry.get("alias")),
        condition=_text(entry.get("condition")),
        tags=tuple(_text(t) for t in entry.get("tags") or ()),
        enabled=bool(entry.get("enabled") or False),
        import_values=tuple(entry.get("import-values") or ()),
    )


def dependencies_of(data: Any) -> tuple[ChartDependency, ...] | None:
    """The ``dependencies:`` of a parsed Chart.yaml (or requirements.yaml) mapping; None when there is no list.

    Entries that are not mappings are skipped (helm would refuse the file; validation reports that elsewhere).
    """
    deps = data.get("dependencies") if isinstance(data, Mapping) else None
    if not isinstance(deps, list):
        return None
    return tuple(_dependency(d) for d in deps if isinstance(d, Mapping)) or None


def read_chart(path: str | Path) -> ChartInfo:
    """Read ``<path>/Chart.yaml`` (``path`` may also name the ``Chart.yaml`` file itself)."""
    path = Path(path)
    chart_dir = path.parent if path.name == "Chart.yaml" else path
    data = _load_yaml(chart_dir / "Chart.yaml") or {}
    if not isinstance(data, Mapping) or not isinstance(data.get("dependencies") or [], list):
        raise _chart_problem(chart_dir / "Chart.yaml", 1, "must be a YAML mapping whose dependencies are a list")
    return ChartInfo(
        path=chart_dir,
        name=_text(data.get("name")),
        version=_text(data.get("version")),
        dependencies=tuple(_dependency(d) for d in data.get("dependencies") or ()),
    )


def read_lock(chart_dir: str | Path) -> ChartLock | None:
    """Read ``<chart_dir>/Chart.lock``; None when there is none."""
    lock_path = Path(chart_dir) / "Chart.lock"
    if not lock_path.is_file():
        return None
    data = _load_yaml(lock_path) or {}
    if not isinstance(data, Mapping) or not isinstance(data.get("dependencies") or [], list):
        raise _chart_problem(lock_path, 1, "must be a YAML mapping whose dependencies are a list")
    return ChartLock(
        dependencies=tuple(
            ChartDependency(
                name=_text(d.get("name")), version=_text(d.get("version")), repository=_text(d.get("repository"))
            )
            for d in data.get("dependencies") or ()
        ),
        digest=_text(data.get("digest")),
    )


def _sorted_maps(value: Any) -> Any:
    """Go encodes map keys sorted; struct fields keep their order (handled by ``go_json``)."""
    if isinstance(value, Mapping):
        return {str(k): _sorted_maps(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, (list, tuple)):
        return [_sorted_maps(v) for v in value]
    return value


def _go_marshal(value: Any) -> str:
    """Compact JSON as Go's ``json.Marshal`` writes it (UTF-8, HTML-safe escapes)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    for char in "<>&\u2028\u2029":
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text


def _as_dependency(dep: ChartDependency | Mapping[str, Any]) -> ChartDependency:
    return dep if isinstance(dep, ChartDependency) else _dependency(dep)


def lock_digest(
    requested: Iterable[ChartDependency | Mapping[str, Any]],
    locked: Iterable[ChartDependency | Mapping[str, Any]],
) -> str:
    """helm's ``HashReq``: the ``digest`` of a ``Chart.lock`` for these requested and locked dependencies.

    ``locked`` entries are reduced to name, version and repository, the only fields helm writes in a lock.
    """
    req = [_as_dependency(d).go_json() for d in requested]
    lock = [
        ChartDependency(name=d.name, version=d.version, repository=d.repository).go_json()
        for d in map(_as_dependency, locked)
    ]
    data = _go_marshal([req, lock]).encode("utf-8")
    return "sha256:" + hashlib.sha256(data).hexdigest()


def lock_in_sync(chart_dir: str | Path) -> bool:
    """True when ``Chart.lock`` matches ``Chart.yaml`` as ``helm dependency build`` checks it.

    A chart without dependencies is in sync without a lock; one with dependencies needs a lock whose digest
    is helm's digest of the requested and locked dependencies.
    """
    info = read_chart(chart_dir)
    lock = read_lock(chart_dir)
    if lock is None:
        return not info.dependencies
    return lock.digest == lock_digest(info.dependencies, lock.dependencies)


def build_order(chart_dir: str | Path) -> list[Path]:
    """Chart folders whose dependencies to build, in order: ``file://`` dependencies (recursively) first.

    E.g. ``build_order("helm-charts/daskhub")`` is ``[<abs>/basehub, <abs>/daskhub]``. A cycle, or a broken or
    missing ``Chart.yaml``, raises ``ConfigError`` naming the file.
    """
    order: list[Path] = []
    visiting: set[Path] = set()

    def visit(path: Path) -> None:
        path = path.resolve()
        if path in order:
            return
        if path in visiting:
            raise _chart_problem(path / "Chart.yaml", None, "file:// dependencies form a cycle")
        visiting.add(path)
        for dep in read_chart(path).dependencies:
            if dep.is_local:
                visit(dep.local_path(path))
        visiting.discard(path)
        order.append(path)

    visit(Path(chart_dir))
    return order


def read_archive(archive: str | Path) -> tuple[str, str] | None:
    """(name, version) from the ``<name>/Chart.yaml`` inside a packaged chart, None if unreadable."""
    from deployer import yamlio
    from deployer.userfiles import MAX_CHART_FILE

    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                parts = member.name.split("/")
                if len(parts) == 2 and parts[1] == "Chart.yaml" and member.isfile():
                    handle = tar.extractfile(member)
                    data = yamlio.loads(handle.read(MAX_CHART_FILE)) if handle else None
                    if isinstance(data, Mapping):
                        return _text(data.get("name")), _text(data.get("version"))
    except (OSError, tarfile.TarError, yamlio.YamlError):
        return None
    return None


def dependencies_built(chart_dir: str | Path) -> bool:
    """True when ``charts/`` holds exactly one archive for every dependency pinned in ``Chart.lock``.

    For ``file://`` dependencies the archive must also be newer than every file of the local chart (including
    that chart's own ``charts/``), since helm packages it afresh on each build. Name and version are read from
    each archive's ``Chart.yaml``, so a stale archive with the right file name does not count.
    """
    chart_dir = Path(chart_dir)
    lock = read_lock(chart_dir)
    if lock is None:
        return not read_chart(chart_dir).dependencies
    archives = sorted((chart_dir / "charts").glob("*.tgz"))
    found: dict[tuple[str, str], list[Path]] = {}
    for archive in archives:
        key = read_archive(archive)
        if key is not None:
            found.setdefault(key, []).append(archive)
    if sum(len(v) for v in found.values()) != len(lock.dependencies):
        return False  # missing, extra or outdated archives: helm would rebuild
    for dep in lock.dependencies:
        matches = found.get((dep.name, dep.version), [])
        if len(matches) != 1:
            return False
        if dep.is_local:
            source = dep.local_path(chart_dir)
            newest = max((p.stat().st_mtime for p in source.rglob("*") if p.is_file()), default=0.0)
            if matches[0].stat().st_mtime < newest:
                return False
    return True


def local_dependents(charts_dir: str | Path) -> dict[str, frozenset[str]]:
    """chart folder name -> the charts of ``charts_dir`` that use it through ``file://``, transitively.

    E.g. ``{"basehub": frozenset({"daskhub"})}``: a change to basehub affects every daskhub hub too.
    """
    charts_dir = Path(charts_dir).resolve()
    direct: dict[str, set[str]] = {}
    for chart_yaml in sorted(charts_dir.glob("*/Chart.yaml")):
        user = chart_yaml.parent.name
        for dep in read_chart(chart_yaml.parent).dependencies:
            if dep.is_local:
                target = dep.local_path(chart_yaml.parent)
                if target.parent == charts_dir:
                    direct.setdefault(target.name, set()).add(user)
    closed: dict[str, frozenset[str]] = {}
    for chart in direct:
        seen: set[str] = set()
        todo = list(direct[chart])
        while todo:
            user = todo.pop()
            if user not in seen:
                seen.add(user)
                todo.extend(direct.get(user, ()))
        closed[chart] = frozenset(seen)
    return closed
