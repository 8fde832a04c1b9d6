"""Label and field selectors, as sent in ``labelSelector`` and ``fieldSelector`` query parameters.

Contract: ``label_matcher(text)`` and ``field_matcher(text)`` parse a selector once and return a predicate over an
object dict; an empty or missing selector matches everything. Label selectors support ``k=v``, ``k==v``, ``k!=v``,
``k in (a,b)``, ``k notin (a,b)``, ``k`` and ``!k``. Field selectors support ``=``, ``==`` and ``!=`` on any dotted
path (``metadata.name``, ``metadata.namespace``, ``status.phase``, ``spec.nodeName``...); a missing field compares as
the empty string. Malformed selectors raise :class:`ValueError` (the server answers 400).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Predicate = Callable[[dict[str, Any]], bool]


def _split(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current.strip())
    return parts


_SET = re.compile(r"^([^\s!=]+)\s+(in|notin)\s*\((.*)\)$")
_CMP = re.compile(r"^([^\s!=]+)\s*(==|=|!=)\s*(.*)$")


def _label_requirement(text: str) -> Predicate:
    match = _SET.match(text)
    if match:
        key, op, values = match.group(1), match.group(2), {v.strip() for v in match.group(3).split(",")}
        if op == "in":
            return lambda labels: key in labels and labels[key] in values
        return lambda labels: key not in labels or labels[key] not in values
    match = _CMP.match(text)
    if match:
        key, op, value = match.group(1), match.group(2), match.group(3).strip()
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: key in labels and labels[key] == value
    if text.startswith("!") and re.fullmatch(r"![^\s!=(),]+", text):
        key = text[1:]
        return lambda labels: key not in labels
    if re.fullmatch(r"[^\s!=(),]+", text):
        return lambda labels: text in labels
    raise ValueError(f"unable to parse requirement: {text!r}")


def label_matcher(text: str | None) -> Predicate:
    requirements = [_label_requirement(part) for part in _split(text or "")]
    return lambda obj: all(req((obj.get("metadata") or {}).get("labels") or {}) for req in requirements)


def _field(obj: dict[str, Any], path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def field_matcher(text: str | None) -> Predicate:
    requirements = []
    for part in _split(text or ""):
        match = _CMP.match(part)
        if not match:
            raise ValueError(f"invalid field selector: {part!r}")
        requirements.append((match.group(1), match.group(2) == "!=", match.group(3).strip()))
    return lambda obj: all(
        (_field(obj, path) != value) if negate else (_field(obj, path) == value) for path, negate, value in requirements
    )
