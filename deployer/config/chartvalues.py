"""A chart's values contract as helm enforces it: the chart and EVERY chart it depends on, at any depth.

``ChartCatalog(root, env)`` reads each chart folder of ``helm-charts/`` once per run, its ``file://`` dependencies
as folders, and its other dependencies from the archives its ``Chart.lock`` pins (see
``deployer.chart_archives.find_archive``: the chart's ``charts/``, ``DEPLOYER_CHART_MIRROR``, helm's cache), subcharts
inside archives included (folders or nested ``.tgz``). A pinned archive found nowhere is a ``ChartError`` saying
what to run. ``ChartCatalog.violations(chart, user_values)`` applies helm's rules (``deployer.config.helmvalues``:
enabled dependencies, aliases, ``import-values``, globals, coalescing) and yields every schema violation, of every
chart helm would check, with its key path from the top of the user's values.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deployer import yamlio
from deployer.chart_archives import ArchiveError, PackagedChart, find_archive, helm_cache_dir, mirror_dir, read_packaged
from deployer.charts import dependencies_of, read_chart, read_lock
from deployer.config.helmvalues import (
    Chart,
    CoalesceError,
    coalesce_values,
    process_dependencies,
    schema_targets,
)
from deployer.config.schema import KeyPath, Schema, compiled_text, schema_problems
from deployer.errors import ConfigError
from deployer.userfiles import HELM_TOO, MAX_CHART_FILE, Refused, read_capped

CHARTS_DIR = "helm-charts"


@dataclass(frozen=True)
class SchemaRef:
    """A values.schema.json, compiled on first use (once per run for equal contents)."""

    text: bytes
    origin: str

    def compiled(self) -> Schema:
        return compiled_text(self.text)


class ChartError(Exception):
    def __init__(self, path: str, line: int | None, message: str):
        self.path, self.line, self.message = path, line, message
        super().__init__(message)


def _schema_ref(text: bytes, origin: str) -> SchemaRef:
    """A chart's values.schema.json, checked to be UTF-8 JSON now (helm refuses the chart otherwise) and compiled
    when first used; a ``ChartError`` naming ``origin`` if it is not."""
    try:
        too_deep = yamlio.deeper_than(json.loads(text.decode("utf-8")), yamlio.MAX_DEPTH)
    except UnicodeDecodeError as exc:
        line = text.count(b"\n", 0, exc.start) + 1
        raise ChartError(
            origin, line, f"is not UTF-8 text (byte 0x{text[exc.start]:02x}): save the file as UTF-8"
        ) from None
    except json.JSONDecodeError as exc:
        raise ChartError(origin, exc.lineno, f"invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise ChartError(origin, None, "invalid JSON: nested too deeply") from None
    if too_deep:  # compiling and applying it would recurse that deep
        raise ChartError(origin, None, f"nested deeper than {yamlio.MAX_DEPTH} levels: flatten it (with $defs)")
    return SchemaRef(text, origin)


def _chart_file(path: Path, rel: str) -> bytes:
    """The bytes of a chart's file, within helm's size limit (a ``ChartError`` naming ``rel`` otherwise)."""
    try:
        return read_capped(path, MAX_CHART_FILE, "a chart file (helm's own limit)", HELM_TOO)
    except Refused as exc:
        raise ChartError(rel, None, str(exc)) from None


@dataclass(frozen=True)
class ChartValues:
    """A chart of ``helm-charts/`` with everything it depends on, as helm loads it."""

    name: str
    dir: str  # repo-relative
    tree: Chart


class ChartCatalog:
    """Reads each chart (and archive) once; ``get(name)`` raises ``ChartError`` for a missing or broken chart."""

    def __init__(self, root: Path, env: Mapping[str, str] | None = None):
        self.root = root
        self.env = dict(env or {})
        self._charts: dict[str, ChartValues | ChartError] = {}
        self._folders: dict[Path, Chart] = {}
        self._archives: dict[int, Chart] = {}
        self._processed: dict[str, Chart] = {}
        self._clean: set[tuple[str, str]] = set()

    def exists(self, name: str) -> bool:
        return (self.root / CHARTS_DIR / name / "Chart.yaml").is_file()

    def get(self, name: str) -> ChartValues:
        if name not in self._charts:
            try:
                tree = self._folder(self.root / CHARTS_DIR / name, seen=())
                self._charts[name] = ChartValues(name=name, dir=f"{CHARTS_DIR}/{name}", tree=tree)
            except ChartError as exc:
                self._charts[name] = exc
        found = self._charts[name]
        if isinstance(found, ChartError):
            raise found
        return found

    # -- reading -------------------------------------------------------------------------------------------

    def _rel(self, path: Path) -> str:
        try:
            return str(path.resolve().relative_to(self.root.resolve()))
        except ValueError:
            return str(path)

    def _folder(self, folder: Path, seen: tuple[str, ...]) -> Chart:
        folder = folder.resolve()
        if folder in self._folders:
            return self._folders[folder]
        rel = self._rel(folder)
        if rel in seen:
            raise ChartError(
                f"{rel}/Chart.yaml", None, f"file:// dependencies form a cycle: {' -> '.join((*seen, rel))}"
            )
        try:
            info = read_chart(folder)  # the one reader of Chart.yaml (deployer.charts)
            lock = read_lock(folder)
        except ConfigError as exc:
            problem = exc.problems[0]
            raise ChartError(problem.path, problem.line, problem.message) from None
        values = self._yaml(folder / "values.yaml", f"{rel}/values.yaml") if (folder / "values.yaml").exists() else {}
        schema_path = folder / "values.schema.json"
        schema_rel = f"{rel}/values.schema.json"
        schema = _schema_ref(_chart_file(schema_path, schema_rel), schema_rel) if schema_path.is_file() else None
        locked: dict[str, tuple[str, int]] = {}  # dependency name -> its pinned version and index in Chart.lock
        for i, dep in enumerate(lock.dependencies if lock else ()):
            locked.setdefault(dep.name, (dep.version, i))
        subs: list[Chart] = []
        for dep in info.dependencies:
            if dep.is_local:
                subs.append(self._folder(dep.local_path(folder), (*seen, rel)))
                continue
            version, index = locked.get(dep.name, (dep.version, None))
            archive = find_archive(folder, dep.name, version, self.env)
            if archive is None:
                raise self._missing(folder, rel, dep.name, version, dep.repository, index, lock is not None)
            subs.append(self._archive(archive))
        chart = Chart(
            name=info.name,
            version=info.version,
            values=values if isinstance(values, dict) else {},
            schema=schema,
            requirements=tuple(info.dependencies) or None,
            charts=_unique(subs),
            origin=rel,
        )
        self._folders[folder] = chart
        return chart

    def _missing(
        self, folder: Path, rel: str, name: str, version: str, repository: str, index: int | None, has_lock: bool
    ) -> ChartError:
        looked = [f"{rel}/charts/"]
        mirror = mirror_dir(self.env)
        looked.append(f"the chart mirror {mirror}" if mirror else "DEPLOYER_CHART_MIRROR (not set)")
        looked.append(f"helm's cache {helm_cache_dir(self.env)}")
        line = yamlio.line_of(folder / "Chart.lock", ["dependencies", index]) if index is not None else None
        where = f"{rel}/Chart.lock" if has_lock else f"{rel}/Chart.yaml"
        return ChartError(
            where,
            line,
            (
                f"chart {folder.name}: the pinned dependency {name} {version} is not available here (looked in "
                f"{', '.join(looked)}), so values for it cannot be checked: run 'helm dependency build {rel}' where "
                f"{repository or 'its repository'} can be reached, or set DEPLOYER_CHART_MIRROR to a folder holding "
                f"{name}-{version}.tgz"
            ),
        )

    def _archive(self, path: Path) -> Chart:
        try:
            packaged = read_packaged(path)
        except ArchiveError as exc:
            raise ChartError(self._rel(path), None, str(exc).removeprefix(f"{path.name}: ")) from None
        key = id(packaged)
        if key not in self._archives:
            self._archives[key] = self._packaged(packaged)
        return self._archives[key]

    def _packaged(self, packaged: PackagedChart) -> Chart:
        meta = self._yaml_text(packaged.chart_yaml, f"{packaged.origin}/Chart.yaml") or {}
        if not isinstance(meta, dict):
            raise ChartError(packaged.origin, None, "Chart.yaml is not a mapping")
        values = self._yaml_text(packaged.values_yaml, f"{packaged.origin}/values.yaml") if packaged.values_yaml else {}
        reqs = dependencies_of(meta)
        if reqs is None and packaged.requirements_yaml and str(meta.get("apiVersion", "v1")) == "v1":
            reqs = dependencies_of(self._yaml_text(packaged.requirements_yaml, f"{packaged.origin}/requirements.yaml"))
        return Chart(
            name=_text(meta.get("name")),
            version=_text(meta.get("version")),
            values=values if isinstance(values, dict) else {},
            schema=_schema_ref(packaged.schema, f"{packaged.origin}/values.schema.json") if packaged.schema else None,
            requirements=reqs,
            charts=tuple(self._packaged(s) for s in packaged.subcharts),
            origin=packaged.origin,
        )

    def _yaml(self, path: Path, rel: str) -> Any:
        try:
            return yamlio.load(path, most=MAX_CHART_FILE, what="a chart file (helm's own limit)", hint=HELM_TOO)
        except yamlio.YamlError as exc:
            raise ChartError(rel, exc.line, exc.message) from None

    def _yaml_text(self, data: bytes, where: str) -> Any:
        try:
            return yamlio.loads(data)
        except yamlio.YamlError as exc:
            raise ChartError(where, exc.line, exc.message) from None

    # -- checking ------------------------------------------------------------------------------------------

    def processed(self, chart: ChartValues, user: dict[str, Any]) -> Chart:
        """The chart tree helm renders for ``user`` (computed once per chart when no condition or tag applies)."""
        if chart.tree.needs_conditions():
            return process_dependencies(chart.tree, user)
        if chart.name not in self._processed:
            self._processed[chart.name] = process_dependencies(chart.tree, None)
        return self._processed[chart.name]

    def violations(
        self,
        chart: ChartValues,
        user: dict[str, Any],
        *,
        show_values: Callable[[KeyPath], bool],
        opaque: Callable[[Any], bool] | None = None,
    ) -> Iterator[tuple[KeyPath, str, Chart]]:
        """Yield ``(key path from the top of the user's values, message, chart whose schema failed)``.

        ``opaque(value)`` tells values whose content is unknown (sops-encrypted): only their place is checked.
        """
        fingerprint = None
        with contextlib.suppress(TypeError, ValueError):
            fingerprint = hashlib.sha1(json.dumps(user, sort_keys=True, default=repr).encode()).hexdigest()
        if fingerprint is not None:
            fingerprint += "/opaque" if opaque else ""
        if fingerprint is not None and (chart.name, fingerprint) in self._clean:
            return
        found = False
        try:
            tree = self.processed(chart, user)
            coalesced = coalesce_values(tree, user)
        except CoalesceError as exc:
            yield exc.keys, f"must be a mapping: it holds the values of the subchart {exc.chart}", chart.tree
            return
        for at, target, part in schema_targets(tree, coalesced):
            if type(part) is not dict:
                found = True
                yield at, f"must be a mapping: it holds the values of the subchart {target.real_name}", target
                continue
            show = _below(at, show_values)
            for keys, message in schema_problems(target.schema.compiled(), part, show_values=show, opaque=opaque):
                found = True
                yield (*at, *keys), message, target
        if not found and fingerprint is not None:
            self._clean.add((chart.name, fingerprint))


def _below(at: KeyPath, show_values: Callable[[KeyPath], bool]) -> Callable[[KeyPath], bool]:
    """``show_values`` for key paths relative to ``at``."""
    return lambda keys: show_values((*at, *keys))


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _unique(charts: list[Chart]) -> tuple[Chart, ...]:
    """A dependency listed twice (e.g. under two aliases) is one chart in ``charts/``."""
    out: list[Chart] = []
    for c in charts:
        if not any(o is c for o in out):
            out.append(c)
    return tuple(out)


def chart_label(chart: Chart) -> str:
    """How messages name a chart: its name, and the alias it has here when it has one."""
    return chart.real_name if chart.name == chart.real_name else f"{chart.real_name} (alias {chart.name})"
