"""Helm's values semantics, as pure functions, with provenance for messages.

``merge_layers`` folds values files in order exactly as ``helm --values a --values b`` does (maps merge
deeply, lists and scalars replace, a ``null`` is kept so that it can delete a chart default).
(Laying them over the charts' defaults, as helm does before validating, is ``deployer.config.helmvalues``.)
``source_of`` tells which layer set the value at a key path, so a schema error can name its file.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Layer = tuple[str, Any]  # (name of the file, its parsed content)


def merge_maps(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_maps(out[key], value)
        else:
            out[key] = value
    return out


def merge_layers(layers: Sequence[Layer]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for _, data in layers:
        if isinstance(data, dict):
            merged = merge_maps(merged, data)
    return merged


def depth_held(data: Any, keys: Sequence[str | int]) -> int:
    """How many leading keys of ``keys`` exist in ``data``."""
    node, depth = data, 0
    for key in keys:
        held_in_map = isinstance(node, dict) and key in node
        held_in_list = isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node)
        if held_in_map or held_in_list:
            node = node[key]
        else:
            break
        depth += 1
    return depth


def source_of(layers: Sequence[Layer], keys: Sequence[str | int]) -> str | None:
    """The last layer that holds the deepest part of ``keys`` (the one helm took that value from)."""
    best, best_depth = None, 0
    for name, data in layers:
        depth = depth_held(data, keys)
        if depth and depth >= best_depth:
            best, best_depth = name, depth
    return best
