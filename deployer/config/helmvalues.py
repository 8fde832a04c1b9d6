"""What helm does with a release's values before it renders: dependencies, coalescing, schema targets.

Written from helm's own rules (helm 3.17 ``pkg/chartutil``, helm 4.1 ``pkg/chart/v2/util`` and
``pkg/chart/common/util``), as pure functions over an immutable chart tree:

1. ``process_dependencies(chart, values)`` (helm's ``ProcessDependencies``): each chart's ``dependencies:`` pick
   their charts from ``charts/`` (name and a compatible version), an ``alias`` renames the copy; every dependency
   starts enabled; ``tags`` (top-level ``tags:`` table of the coalesced values: disabled when a listed tag is
   false and none is true), then ``condition`` (comma-separated paths, relative to the parent's place in the
   values tree, the first that resolves to a boolean wins; non-booleans are skipped) switch them; disabled charts
   are dropped, then the same happens inside each kept one. The ``enabled`` field of Chart.yaml is reset by helm
   and has no effect. Then, deepest first, ``import-values`` (``child``/``parent`` maps or ``exports.<name>``
   strings) are merged under the parent's own values, which become the chart's merged defaults (subcharts
   included, nulls kept).
2. ``coalesce_values(chart, values)`` (helm's ``CoalesceValues``): user values over the chart's defaults; maps
   merge, anything else replaces; a user ``null`` deletes a key the chart sets (helm 4 keeps a ``null`` the chart
   itself sets); inside a subchart's part, nulls survive the parent's merge and are applied by the subchart; each
   subchart's part gets ``global`` copied down from its parent (parent wins, maps merged); a subchart's part that
   is not a map is an error ("type mismatch").
3. ``schema_targets(chart, coalesced)`` (helm's ``ValidateAgainstSchema``): the chart's schema checks its whole
   coalesced values, then each loaded (enabled) subchart's schema checks the part under its name or alias, at any
   depth; a subchart whose part is missing or null is skipped (helm 4).

Untouched default subtrees are shared, never copied or changed: a release costs what its own values touch.
Not reproduced: helm's Go map aliasing side effects (a parent's nested ``global`` tables can pick up a child's
defaults three levels down) and its log warnings.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, cast

from deployer.charts import ChartDependency

KeyPath = tuple[str, ...]  # mapping keys, from the top of the values


Requirement = ChartDependency  # one ``dependencies:`` entry of a Chart.yaml: name, version, alias, condition, tags...


@dataclass(frozen=True, eq=False)
class Chart:
    """A loaded chart: ``name`` is helm's ``Chart.Name()`` (the alias once processed)."""

    name: str
    version: str
    values: Mapping[str, Any]  # values.yaml (after processing: the merged defaults); never changed in place
    schema: Any = None  # an opaque handle of its values.schema.json, or None
    requirements: tuple[Requirement, ...] | None = None  # None when Chart.yaml has no dependencies
    charts: tuple[Chart, ...] = field(default=())  # what charts/ holds (after processing: the enabled ones)
    chart_name: str = ""  # the chart's own name, whatever its alias
    origin: str = ""  # where it was read from, for messages

    @property
    def real_name(self) -> str:
        return self.chart_name or self.name

    def needs_conditions(self) -> bool:
        """Whether any dependency at any depth has a condition or tags (else enabling needs no values)."""
        return any(r.condition or r.tags for r in self.requirements or ()) or any(
            c.needs_conditions() for c in self.charts
        )


class CoalesceError(Exception):
    """helm's "type mismatch": a subchart's part of the values is not a map."""

    def __init__(self, keys: KeyPath, chart: str):
        self.keys, self.chart = keys, chart
        super().__init__(f"type mismatch on {chart}")


# --- coalescing (helm's coalesce.go), functional: returns the same object when nothing changes ---------------


def _tables(dst: Any, src: Any, merge: bool) -> Any:
    """``coalesceTablesFullKey``: ``src`` under ``dst`` (``dst`` wins); with ``merge`` nulls are kept."""
    if src is None:
        return dst
    if dst is None:
        return src
    if dst is src:
        return dst
    out = None
    for key, val in src.items():
        if key in dst:
            dv = dst[key]
            if dv is None:
                if not merge and val is not None:  # the user nullifies a chart default
                    if out is None:
                        out = dict(dst)
                    del out[key]
            elif type(val) is dict and type(dv) is dict:
                new = _tables(dv, val, merge)
                if new is not dv:
                    if out is None:
                        out = dict(dst)
                    out[key] = new
        else:
            if out is None:
                out = dict(dst)
            out[key] = val
    return dst if out is None else out


def _coalesce_own(chart: Chart, dest: dict[str, Any], merge: bool) -> dict[str, Any]:
    """``coalesceValues``: the chart's own values under ``dest``."""
    out = None
    subnames = {c.name for c in chart.charts}
    for key, val in chart.values.items():
        if key in dest:
            value = dest[key]
            if value is None and not merge:
                if out is None:
                    out = dict(dest)
                del out[key]
            elif type(value) is dict and type(val) is dict:
                new = _tables(value, val, merge or key in subnames)
                if new is not value:
                    if out is None:
                        out = dict(dest)
                    out[key] = new
        else:
            if out is None:
                out = dict(dest)
            out[key] = val
    return dest if out is None else out


def _globals(child: dict[str, Any], parent: Mapping[str, Any]) -> dict[str, Any]:
    """``coalesceGlobals``: the parent's ``global`` over the child's (maps merged, the parent's values win)."""
    dg = child.get("global", {})
    sg = parent.get("global", {})
    if type(dg) is not dict or type(sg) is not dict:
        return child  # helm warns "skipping globals ... is not a table"
    new = dict(dg)
    for key, val in sg.items():
        if type(val) is dict:
            if key not in new:
                new[key] = val
            elif type(new[key]) is dict:
                new[key] = _tables(val, new[key], True)
        elif not (key in new and type(new[key]) is dict):
            new[key] = val
    out = dict(child)
    out["global"] = new
    return out


def _coalesce(chart: Chart, dest: dict[str, Any], merge: bool, at: KeyPath) -> dict[str, Any]:
    dest = _coalesce_own(chart, dest, merge)
    if not chart.charts:
        return dest
    dest = dict(dest)
    for sub in chart.charts:
        current = dest.get(sub.name, _MISSING)
        if current is _MISSING:
            current = {}
        elif type(current) is not dict:
            raise CoalesceError((*at, sub.name), sub.real_name)
        dest[sub.name] = _coalesce(sub, _globals(current, dest), merge, (*at, sub.name))
    return dest


_MISSING = object()


def coalesce_values(chart: Chart, values: Mapping[str, Any] | None) -> dict[str, Any]:
    """helm's ``CoalesceValues(chart, values)`` (nulls delete chart defaults)."""
    return _coalesce(chart, dict(values or {}), False, ())


def merge_values(chart: Chart, values: Mapping[str, Any] | None) -> dict[str, Any]:
    """helm's ``MergeValues(chart, values)`` (nulls kept)."""
    return _coalesce(chart, dict(values or {}), True, ())


# --- paths (helm's Values.Table / PathValue) ---------------------------------------------------------------


def _table(values: Any, dotted: str) -> dict[str, Any] | None:
    node = values
    for part in dotted.split("."):
        node = node.get(part) if type(node) is dict else None
        if type(node) is not dict:
            return None
    return cast(dict[str, Any], node)


def _path_value(values: Mapping[str, Any], dotted: str) -> tuple[bool, Any]:
    """(found, value) as helm's ``PathValue``: the last key must hold a non-map value."""
    parts = dotted.split(".")
    table = values if len(parts) == 1 else _table(values, ".".join(parts[:-1]))
    if type(table) is not dict or parts[-1] not in table or type(table[parts[-1]]) is dict:
        return False, None
    return True, table[parts[-1]]


def _path_to_map(parent: str, data: dict[str, Any]) -> dict[str, Any]:
    if parent == ".":
        return data
    out = data
    for key in reversed(parent.split(".")):
        out = {key: out}
    return out


# --- versions (Masterminds semver constraints, as helm's IsCompatibleRange) ---------------------------------

_VERSION = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")


_Version = tuple[int, int, int, str]  # major, minor, patch, prerelease ("" for none)


def _parse_version(text: str) -> _Version | None:
    match = _VERSION.match(text.strip())
    if not match:
        return None
    major, minor, patch, pre = match.groups()
    return int(major), int(minor or 0), int(patch or 0), pre or ""


def _cmp(a: _Version, b: _Version) -> int:
    if a[:3] != b[:3]:
        return -1 if a[:3] < b[:3] else 1
    if a[3] == b[3]:
        return 0
    if not a[3]:
        return 1
    if not b[3]:
        return -1
    return -1 if a[3] < b[3] else 1


def _leading_number(text: str) -> int:
    match = re.match(r"\d+", text)
    if match is None:
        raise ValueError(f"not a version number: {text!r}")
    return int(match.group())


def _check_one(op: str, text: str, version: _Version) -> bool:
    parts = re.split(r"\.", text.lstrip("v")) if text else ["*"]
    wild = [p in ("x", "X", "*") for p in parts] + [True] * (3 - len(parts))
    nums = [0 if w or i >= len(parts) else _leading_number(parts[i]) for i, w in enumerate(wild[:3])]
    base = _parse_version(".".join(str(n) for n in nums) + ("-" + text.split("-", 1)[1] if "-" in text else ""))
    if base is None:
        return False
    if version[3] and not base[3]:
        return False  # prereleases only match constraints that name one
    first_wild = wild.index(True) if True in wild[:3] else 3
    if op in ("", "=") and first_wild < 3:
        op, text = "~" if first_wild == 2 else "^", text
        if first_wild == 0:
            return True
        upper = (nums[0] + 1, 0, 0, "") if first_wild == 1 else (nums[0], nums[1] + 1, 0, "")
        return _cmp(version, base) >= 0 and _cmp(version, upper) < 0
    c = _cmp(version, base)
    if op in ("", "="):
        return c == 0
    if op == "!=":
        return c != 0
    if op == ">":
        return c > 0
    if op == ">=" or op == "=>":
        return c >= 0
    if op == "<":
        return c < 0
    if op == "<=" or op == "=<":
        return c <= 0
    if op in ("~", "~>"):
        upper = (nums[0] + 1, 0, 0, "") if first_wild == 1 else (nums[0], nums[1] + 1, 0, "")
        return c >= 0 and _cmp(version, upper) < 0
    if op == "^":
        if nums[0] > 0 or first_wild <= 1:
            upper = (nums[0] + 1, 0, 0, "")
        elif nums[1] > 0 or first_wild == 2:
            upper = (0, nums[1] + 1, 0, "")
        else:
            upper = (0, 0, nums[2] + 1, "")
        return c >= 0 and _cmp(version, upper) < 0
    return False


def compatible(constraint: str, version: str) -> bool:
    """Whether ``version`` satisfies the semver ``constraint`` (``1.21.*``, ``^1.2``, ``>=1, <2 || 3.x``...)."""
    parsed = _parse_version(version)
    if parsed is None or not constraint.strip():
        return False
    for alternative in constraint.split("||"):
        text = re.sub(r"\s*-\s+", " - ", alternative.strip())
        if " - " in text:
            low, high = text.split(" - ", 1)
            text = f">= {low.strip()}, <= {high.strip()}"
        terms = [t for t in re.split(r"[\s,]+", re.sub(r"(=<|=>|>=|<=|!=|~>|[<>=~^])\s+", r"\1", text)) if t]
        ok = True
        for term in terms:
            match = re.match(r"^(=<|=>|>=|<=|!=|~>|[<>=~^])?(.*)$", term)
            assert match is not None  # the pattern matches any term
            op, rest = match.group(1) or "", match.group(2)
            try:
                if not _check_one(op, rest, parsed):
                    ok = False
                    break
            except ValueError:
                ok = False
                break
        if ok and terms:
            return True
    return False


# --- dependencies (helm's dependencies.go) ------------------------------------------------------------------


def _alias_copies(chart: Chart) -> tuple[list[Chart], list[Requirement]]:
    reqs = list(chart.requirements or ())
    kept = [c for c in chart.charts if not any(c.name == r.name and compatible(r.version, c.version) for r in reqs)]
    renamed = []
    for req in reqs:
        for sub in chart.charts:
            if sub.name == req.name and compatible(req.version, sub.version):
                kept.append(replace(sub, name=req.alias or sub.name, chart_name=sub.real_name))
                break
        renamed.append(replace(req, name=req.alias) if req.alias else req)
    return kept, renamed


def _enabled(chart: Chart, values: Mapping[str, Any] | None, path: str, need_values: bool) -> Chart:
    """``processDependencyEnabled``: ``chart`` without its disabled dependencies, at every depth."""
    if not chart.requirements:
        return chart
    subs, reqs = _alias_copies(chart)
    working = replace(chart, charts=tuple(subs), requirements=tuple(reqs))
    cvals = coalesce_values(working, values) if need_values else {}
    tags = cvals.get("tags")
    removed = set()
    for req in reqs:
        on = True
        if type(tags) is dict and req.tags:
            flags = [tags[t] for t in req.tags if t in tags and type(tags[t]) is bool]
            on = not (False in flags and True not in flags)
        for cond in req.condition.strip().split(","):
            if cond:
                found, value = _path_value(cvals, path + cond)
                if found and type(value) is bool:
                    on = value
                    break
        if not on:
            removed.add(req.name)
    kept = [c for c in subs if c.name not in removed]
    kept = [_enabled(c, cvals, f"{path}{c.name}.", need_values) for c in kept]
    reqs = [r for r in reqs if r.name not in removed]
    return replace(chart, charts=tuple(kept), requirements=tuple(reqs) or None)


def _imports(chart: Chart) -> Chart:
    """``processDependencyImportValues`` (merge mode, as install/upgrade/template use it), deepest first."""
    charts = tuple(_imports(c) for c in chart.charts)
    chart = replace(chart, charts=charts)
    if not chart.requirements:
        return chart
    cvals = merge_values(chart, None)
    imported: dict[str, Any] = {}
    for req in chart.requirements:
        for item in req.import_values:
            if isinstance(item, dict):
                child, parent = str(item.get("child")), str(item.get("parent"))
                table = _table(cvals, f"{req.name}.{child}")
                if table is not None:
                    imported = _tables(imported, _path_to_map(parent, table), True)
            elif isinstance(item, str):
                table = _table(cvals, f"{req.name}.exports.{item}")
                if table is not None:
                    imported = _tables(imported, table, True)
    return replace(chart, values=_tables(cvals, imported, True))


def process_dependencies(chart: Chart, values: Mapping[str, Any] | None) -> Chart:
    """helm's ``ProcessDependencies``: the chart as helm renders it for these user values."""
    return _imports(_enabled(chart, values, "", chart.needs_conditions()))


def schema_targets(
    chart: Chart, coalesced: Mapping[str, Any], at: KeyPath = ()
) -> Iterator[tuple[KeyPath, Chart, Any]]:
    """``ValidateAgainstSchema``'s walk: ``(key path of the part, chart, part)`` for every chart with a schema.

    A subchart's part that is not a map yields ``(path, chart, part)`` too; the caller reports it.
    """
    if chart.schema is not None:
        yield at, chart, coalesced
    for sub in chart.charts:
        part = coalesced.get(sub.name) if type(coalesced) is dict else None
        if part is None:
            continue
        if type(part) is not dict:
            yield (*at, sub.name), sub, part
            continue
        yield from schema_targets(sub, part, (*at, sub.name))
