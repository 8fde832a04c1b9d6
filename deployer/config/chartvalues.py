"""A chart's values contract: its ``values.yaml`` defaults, its ``values.schema.json``, and those of the
charts it depends on through ``file://`` (daskhub -> basehub), checked the way helm checks them.

``read_chart_values(root, chart)`` reads one chart folder of ``helm-charts/`` once per run (cached by
the caller's ``ChartCatalog``); ``violations(chart, user_values)`` yields every schema violation of the
user values coalesced over the chart's defaults, then of each local subchart's part of them.
Remote dependencies (the JupyterHub chart, dask-gateway...) validate their own subtrees at deploy time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from deployer.charts import read_chart
from deployer.config import yamlfile
from deployer.config.schema import KeyPath, compiled, schema_problems
from deployer.errors import ConfigError
from deployer.values import coalesce

CHARTS_DIR = "helm-charts"


@dataclass(frozen=True)
class LocalDependency:
    key: str  # alias or name: where its values live in the parent's values
    chart: "ChartValues"
    condition: str | None = None


@dataclass(frozen=True)
class ChartValues:
    name: str
    dir: str  # repo-relative
    defaults: dict
    schema: Path | None
    dependencies: tuple[LocalDependency, ...] = field(default=())

    @property
    def values_file(self) -> str:
        return f"{self.dir}/values.yaml"


class ChartError(Exception):
    def __init__(self, path: str, line: int | None, message: str):
        self.path, self.line, self.message = path, line, message
        super().__init__(message)


class ChartCatalog:
    """Reads each chart once; ``get(name)`` raises ``ChartError`` for a missing or broken chart."""

    def __init__(self, root: Path):
        self.root = root
        self._charts: dict[str, ChartValues | ChartError] = {}

    def exists(self, name: str) -> bool:
        return (self.root / CHARTS_DIR / name / "Chart.yaml").is_file()

    def get(self, name: str) -> ChartValues:
        if name not in self._charts:
            try:
                self._charts[name] = self._read(name, seen=())
            except ChartError as exc:
                self._charts[name] = exc
        found = self._charts[name]
        if isinstance(found, ChartError):
            raise found
        return found

    def _read(self, name: str, seen: tuple[str, ...]) -> ChartValues:
        rel = f"{CHARTS_DIR}/{name}"
        folder = self.root / rel
        if name in seen:
            raise ChartError(f"{rel}/Chart.yaml", None, f"file:// dependencies form a cycle: {' -> '.join(seen + (name,))}")
        try:
            info = read_chart(folder)  # the one reader of Chart.yaml (deployer.charts)
        except ConfigError as exc:
            problem = exc.problems[0]
            raise ChartError(problem.path, problem.line, problem.message) from None
        defaults = self._yaml(folder / "values.yaml", f"{rel}/values.yaml") if (folder / "values.yaml").exists() else {}
        schema = folder / "values.schema.json"
        deps = []
        for dep in info.dependencies:
            if not dep.is_local:
                continue
            target = dep.local_path(folder)
            if target.parent != (self.root / CHARTS_DIR).resolve():
                continue  # a local chart outside helm-charts/: helm checks it at deploy time
            sub = self._charts.get(target.name)
            if not isinstance(sub, ChartValues):
                sub = self._read(target.name, seen + (name,))
            deps.append(LocalDependency(key=dep.alias or dep.name, chart=sub, condition=dep.condition or None))
        return ChartValues(
            name=name,
            dir=rel,
            defaults=defaults if isinstance(defaults, dict) else {},
            schema=schema if schema.is_file() else None,
            dependencies=tuple(deps),
        )

    def _yaml(self, path: Path, rel: str) -> Any:
        if not path.is_file():
            raise ChartError(rel, None, "missing")
        try:
            return yamlfile.load(path)
        except yamlfile.YamlError as exc:
            raise ChartError(rel, exc.line, exc.message) from None


def _condition_enabled(values: dict, condition: str | None) -> bool:
    if not condition:
        return True
    for path in condition.split(","):
        node: Any = values
        for key in path.strip().split("."):
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, bool):
            return node
    return True


def violations(
    chart: ChartValues,
    user: dict,
    *,
    show_values: Callable[[KeyPath], bool],
    prefix: KeyPath = (),
) -> Iterator[tuple[KeyPath, str, ChartValues]]:
    """Yield ``(key path from the top of the user's values, message, chart whose schema failed)``."""
    merged = coalesce(user, chart.defaults)
    if chart.schema is not None:
        for keys, message in schema_problems(
            compiled(chart.schema), merged, show_values=lambda k: show_values(prefix + tuple(k))
        ):
            yield prefix + keys, message, chart
    for dep in chart.dependencies:
        if not _condition_enabled(merged, dep.condition):
            continue
        sub = merged.get(dep.key)
        sub = dict(sub) if isinstance(sub, dict) else {}
        if "global" in merged:
            sub["global"] = merged["global"]
        yield from violations(dep.chart, sub, show_values=show_values, prefix=prefix + (dep.key,))
