"""JSON Schema validation with messages people can act on.

``compiled(path)`` compiles a schema file once per process. ``schema_problems(validator, instance)``
turns jsonschema's errors into ``(key path, message)`` pairs. Messages are built from the *schema* side
(the rule that failed), so they can be shown for decrypted secrets too: only with ``show_values=True``
do they quote the offending value.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator

KeyPath = tuple  # of str (mapping keys) and int (list indexes)


@lru_cache(maxsize=None)
def compiled(path: Path):
    """The Draft 2020-12 validator for the schema file at ``path`` (compiled once)."""
    schema = json.loads(path.read_text(encoding="utf-8"))
    cls = _validator_class(schema)
    cls.check_schema(schema)
    return cls(schema)


def _validator_class(schema: dict):
    from jsonschema import validators

    return validators.validator_for(schema, default=validators.Draft202012Validator)


def format_path(keys: KeyPath) -> str:
    out = ""
    for key in keys:
        if isinstance(key, int):
            out += f"[{key}]"
        else:
            out += ("." if out else "") + str(key)
    return out or "(top level)"


def schema_problems(
    validator, instance: Any, *, show_values: bool | Callable[[KeyPath], bool]
) -> Iterator[tuple[KeyPath, str]]:
    """Yield ``(key path, message)`` for every schema violation in ``instance``.

    ``show_values`` (or, called with the key path, its answer) allows quoting the offending value.
    """
    for error in sorted(validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path]):
        yield from _explain(error, show_values)


def _explain(error, show_values) -> Iterator[tuple[KeyPath, str]]:
    path = tuple(error.absolute_path)
    rule, expected, value = error.validator, error.validator_value, error.instance
    quote = show_values(path) if callable(show_values) else show_values
    got = f" (got {_short(value)})" if quote and not isinstance(value, (dict, list)) else ""
    if rule == "additionalProperties" and isinstance(value, dict):
        known = set(error.schema.get("properties", {}))
        patterns = list(error.schema.get("patternProperties", {}))
        for key in sorted(k for k in value if k not in known and not any(re.search(p, k) for p in patterns)):
            allowed = ", ".join(sorted(known)) if known and len(known) <= 12 else ""
            hint = f"; allowed here: {allowed}" if allowed else ""
            yield path + (key,), f"unknown key '{key}'{hint}"
        return
    if rule == "required" and isinstance(value, dict):
        for key in expected:
            if key not in value:
                yield path, f"missing required key '{key}'"
        return
    if rule in ("anyOf", "oneOf") and error.context:
        best = min(error.context, key=lambda e: len(list(e.absolute_path)) * -1)
        yield from _explain(best, show_values)
        return
    yield path, _rule_message(rule, expected, error, got)


def _rule_message(rule: str, expected: Any, error, got: str) -> str:
    if rule == "type":
        kinds = expected if isinstance(expected, list) else [expected]
        return f"must be {' or '.join(_article(k) for k in kinds)}{got}"
    if rule == "enum":
        return f"must be one of: {', '.join(_short(v) for v in expected)}{got}"
    if rule == "const":
        return f"must be {_short(expected)}{got}"
    if rule == "pattern":
        return f"must match the pattern {expected}{got}"
    if rule == "maxLength":
        return f"must be at most {expected} characters long{got}"
    if rule == "minLength":
        return "must not be empty" if expected == 1 else f"must be at least {expected} characters long"
    if rule == "minItems":
        return f"must list at least {expected} item(s)"
    if rule == "maxItems":
        return f"must list at most {expected} item(s)"
    if rule == "uniqueItems":
        return "lists the same item more than once: keep one"
    if rule in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        sign = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}[rule]
        return f"must be {sign} {expected}{got}"
    if rule == "not":
        return "is not allowed here"
    if rule is None:
        return "is not allowed here"
    return f"breaks the schema rule {rule}: {_short(expected)}"


def _article(kind: str) -> str:
    return {"object": "a mapping", "array": "a list", "integer": "an integer", "null": "null"}.get(kind, f"a {kind}")


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
