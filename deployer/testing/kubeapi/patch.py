"""PATCH semantics: JSON merge patch, JSON patch, strategic merge patch and an approximation of server-side apply.

Contract (all functions are pure and return new values; inputs are never modified):

- ``merge_patch(target, patch)``: RFC 7386 (``application/merge-patch+json``).
- ``json_patch(target, operations)``: RFC 6902 (``application/json-patch+json``): add, remove, replace, move, copy,
  test; raises :class:`PatchError` when a path is missing or a test fails.
- ``strategic_merge(target, patch)`` (``application/strategic-merge-patch+json``): like a merge patch, but lists of
  objects whose field has a known merge key (containers and env by ``name``, volumeMounts by ``mountPath``, ports by
  ``containerPort``/``port``, conditions by ``type``...) are merged element by element. Directives understood:
  ``$patch: replace|delete|merge``, ``$retainKeys``, ``$deleteFromPrimitiveList/<field>`` and
  ``$setElementOrder/<field>`` (ordering is applied; elements it omits are kept). Merge keys come from a fixed table
  keyed by field name, not from OpenAPI schemas, so custom resources get the same treatment.
- ``apply_patch(current, applied, previous)`` (``application/apply-patch+yaml``): server-side apply approximated
  without managedFields: the fields this field manager applied last time (``previous``) but no longer applies are
  removed, then the new configuration is strategically merged. Conflicts between field managers are never reported
  (as if every apply used ``force=true``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, cast

MERGE_KEYS: dict[str, tuple[str, ...]] = {
    "containers": ("name",),
    "initContainers": ("name",),
    "ephemeralContainers": ("name",),
    "env": ("name",),
    "volumes": ("name",),
    "volumeMounts": ("mountPath",),
    "volumeDevices": ("devicePath",),
    "imagePullSecrets": ("name",),
    "ports": ("containerPort", "port"),
    "conditions": ("type",),
    "ownerReferences": ("uid",),
    "hostAliases": ("ip",),
    "topologySpreadConstraints": ("topologyKey",),
    "resourceClaims": ("name",),
    "secrets": ("name",),
}
MERGED_PRIMITIVE_LISTS = {"finalizers"}


class PatchError(ValueError):
    """The patch cannot be applied (422/409 territory)."""


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# -- JSON patch ---------------------------------------------------------------------------------
def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer {path!r}")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _container(doc: Any, parts: list[str]) -> Any:
    for part in parts:
        try:
            doc = doc[int(part)] if isinstance(doc, list) else doc[part]
        except (KeyError, IndexError, ValueError, TypeError):
            raise PatchError(f"path segment {part!r} not found") from None
    return doc


def _index(container: list[Any], part: str, *, adding: bool) -> int:
    if part == "-" and adding:
        return len(container)
    try:
        index = int(part)
    except ValueError:
        raise PatchError(f"invalid list index {part!r}") from None
    if index < 0 or index > len(container) or (index == len(container) and not adding):
        raise PatchError(f"list index {index} out of range")
    return index


def _add(doc: Any, parts: list[str], value: Any) -> Any:
    if not parts:
        return value
    parent = _container(doc, parts[:-1])
    if isinstance(parent, list):
        parent.insert(_index(parent, parts[-1], adding=True), value)
    elif isinstance(parent, dict):
        parent[parts[-1]] = value
    else:
        raise PatchError("cannot add to a scalar")
    return doc


def _remove(doc: Any, parts: list[str]) -> Any:
    if not parts:
        raise PatchError("cannot remove the whole document")
    parent = _container(doc, parts[:-1])
    if isinstance(parent, list):
        return parent.pop(_index(parent, parts[-1], adding=False))
    if isinstance(parent, dict) and parts[-1] in parent:
        return parent.pop(parts[-1])
    raise PatchError(f"path /{'/'.join(parts)} not found")


def json_patch(target: Any, operations: Any) -> Any:
    if not isinstance(operations, list):
        raise PatchError("a JSON patch must be a list of operations")
    doc = copy.deepcopy(target)
    for op in operations:
        kind, parts = op.get("op"), _pointer(op.get("path", ""))
        if kind == "add":
            doc = _add(doc, parts, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            _remove(doc, parts)
        elif kind == "replace":
            _remove(doc, parts) if parts else None
            doc = _add(doc, parts, copy.deepcopy(op.get("value")))
        elif kind in ("move", "copy"):
            source = _pointer(op.get("from", ""))
            value = _remove(doc, source) if kind == "move" else copy.deepcopy(_container(doc, source))
            doc = _add(doc, parts, value)
        elif kind == "test":
            if _container(doc, parts) != op.get("value"):
                raise PatchError(f"test failed at {op.get('path')}")
        else:
            raise PatchError(f"unknown JSON patch operation {kind!r}")
    return doc


# -- strategic merge ------------------------------------------------------------------------------
def _merge_key(field: str, items: list[Any]) -> str | None:
    candidates = MERGE_KEYS.get(field)
    if not candidates or not items or not all(isinstance(i, dict) for i in items):
        return None
    for key in candidates:
        if all(key in i for i in items if i.get("$patch") != "delete" or key in i):
            return key
    return None


def _merge_list(field: str, target: list[Any], patch: list[Any]) -> list[Any]:
    if field in MERGED_PRIMITIVE_LISTS and all(not isinstance(i, (dict, list)) for i in patch):
        return list(target) + [i for i in patch if i not in target]
    key = _merge_key(field, [i for i in patch if not (isinstance(i, dict) and set(i) == {"$patch"})])
    if key is None or not all(isinstance(i, dict) and key in i for i in target):
        if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
            return [copy.deepcopy(i) for i in patch if not (isinstance(i, dict) and "$patch" in i)]
        return [strategic_merge(None, i) for i in patch]
    result = [copy.deepcopy(i) for i in target]
    for item in patch:
        directive = item.get("$patch")
        if directive == "replace":
            return [strategic_merge(None, i) for i in patch if i.get("$patch") != "replace"]
        position = next((n for n, old in enumerate(result) if old.get(key) == item.get(key)), None)
        if directive == "delete":
            if position is not None:
                result.pop(position)
        elif position is None:
            result.append(strategic_merge(None, item))
        else:
            result[position] = strategic_merge(result[position], item)
    return result


def _order(items: list[Any], order: list[Any], field: str) -> list[Any]:
    if not order:
        return items
    value: Callable[[Any], Any]
    if all(isinstance(i, dict) for i in order) and order:
        key = next(iter(order[0]))
        ranks = {o.get(key): n for n, o in enumerate(order)}
        value = lambda i: i.get(key) if isinstance(i, dict) else None  # noqa: E731
    else:
        ranks = {o: n for n, o in enumerate(order) if not isinstance(o, (dict, list))}
        value = lambda i: i if not isinstance(i, (dict, list)) else None  # noqa: E731
    return sorted(items, key=lambda i: ranks.get(value(i), len(ranks)))


def strategic_merge(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    patch = dict(patch)
    directive = patch.pop("$patch", None)
    if directive == "delete":
        return None
    base = {} if directive == "replace" or not isinstance(target, dict) else copy.deepcopy(target)
    retain = patch.pop("$retainKeys", None)
    orders = {k.split("/", 1)[1]: patch.pop(k) for k in list(patch) if k.startswith("$setElementOrder/")}
    deletions = {k.split("/", 1)[1]: patch.pop(k) for k in list(patch) if k.startswith("$deleteFromPrimitiveList/")}
    for key, value in patch.items():
        if value is None:
            base.pop(key, None)
        elif isinstance(value, dict):
            merged = strategic_merge(base.get(key), value)
            if merged is None:
                base.pop(key, None)
            else:
                base[key] = merged
        elif isinstance(value, list) and isinstance(base.get(key), list):
            base[key] = _merge_list(key, base[key], value)
        elif isinstance(value, list):
            base[key] = [
                strategic_merge(None, i) if isinstance(i, dict) else i
                for i in value
                if not (isinstance(i, dict) and i.get("$patch"))
            ]
        else:
            base[key] = copy.deepcopy(value)
    for key, values in deletions.items():
        if isinstance(base.get(key), list):
            base[key] = [i for i in base[key] if i not in values]
    for key, order in orders.items():
        if isinstance(base.get(key), list):
            base[key] = _order(base[key], order, key)
    if retain is not None:
        base = {k: v for k, v in base.items() if k in retain}
    return base


# -- server-side apply ----------------------------------------------------------------------------
def _prune(current: Any, previous: Any, applied: Any, field: str = "") -> Any:
    """Remove from ``current`` what ``previous`` set and ``applied`` no longer sets."""
    if isinstance(current, dict) and isinstance(previous, dict):
        applied = applied if isinstance(applied, dict) else {}
        result = dict(current)
        for key, old in previous.items():
            if key not in applied:
                result.pop(key, None)
            elif key in result:
                result[key] = _prune(result[key], old, applied[key], key)
        return result
    if isinstance(current, list) and isinstance(previous, list) and isinstance(applied, list):
        key = _merge_key(field, previous + applied)
        if key is None:
            return current
        kept = {i.get(key) for i in applied}
        dropped = {i.get(key) for i in previous} - kept
        pruned = []
        for item in current:
            if isinstance(item, dict) and item.get(key) in dropped:
                continue
            old = next((p for p in previous if isinstance(item, dict) and p.get(key) == item.get(key)), None)
            new = next((a for a in applied if isinstance(item, dict) and a.get(key) == item.get(key)), None)
            pruned.append(_prune(item, old, new, field) if old is not None and new is not None else item)
        return pruned
    return current


def apply_patch(
    current: dict[str, Any] | None, applied: dict[str, Any], previous: dict[str, Any] | None
) -> dict[str, Any]:
    base = copy.deepcopy(current) if current else {}
    if previous:
        base = _prune(base, previous, applied)
    return cast(dict[str, Any], strategic_merge(base, applied))  # a map merged with a map
