"""The one YAML module of the package: reading YAML the way helm reads it, fast, with line numbers only when a
message needs one, and writing it back for display.

- ``load(path)`` / ``loads(text)`` parse with PyYAML's libyaml-based safe loader: YAML 1.1, as helm's YAML
  library resolves ``yes``/``on``/``010``, and about three times faster than ruamel's safe loader (it matters:
  planning a 2,000-hub fleet must take well under a second). Duplicate keys are an error. Every YAML file the
  deployer reads goes through it: cluster.yaml, values files (plain and decrypted), Chart.yaml and Chart.lock (on disk
  and inside ``.tgz`` archives alike), kubeconfigs and YAML credentials files (JSON ones are read with ``json``).
- ``load_all(text)``: the documents of a multi-document stream (helm's rendered manifests), same loader.
- ``dumps(data)``: block-style YAML, keys in the order given (for showing manifests in a diff).
- ``line_of(path, keys)`` re-parses with the round-trip loader, which keeps positions, and returns the
  1-based line of the key (or list item) at ``keys``. It is only called on the error path.

Depth limit: ``load``/``loads`` refuse a document nested deeper than ``MAX_DEPTH`` (100) levels of mappings and
lists (aliases followed; a node that contains itself through an alias is refused too) with ``nested deeper than
100 levels`` and the line where it happens. No real values file comes near it (the charts' own values.yaml files
stay under 15), and it bounds every recursive walk downstream (values coalescing, schema validation, helm's
values), so that no input can make one overflow the stack. libyaml itself refuses text nested deeper than 1,000.

Errors are ``YamlError`` carrying a line and a message that never quotes a value (the file may be a
decrypted secret); that includes text that is not UTF-8, so no caller needs to catch ``UnicodeDecodeError``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache, lru_cache
from pathlib import Path
from typing import Any


class YamlError(Exception):
    def __init__(self, line: int | None, message: str):
        self.line = line
        self.message = message
        super().__init__(message)


@cache
def _fast_loader_class() -> Any:
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[valid-type,misc]
        """The safe loader, refusing duplicate keys (and naming both lines)."""

        def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
            merges = any(k.tag == "tag:yaml.org,2002:merge" for k, _ in node.value)
            own = [k for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge"]  # before << is expanded
            mapping = super().construct_mapping(node, deep=deep)
            if merges or len(mapping) < len(own):  # fewer keys than entries: a duplicate
                seen: dict[Any, Any] = {}
                for key_node in own:
                    key = self.construct_object(key_node, deep=True)
                    first = seen.setdefault(key, key_node)
                    if first is not key_node:
                        raise yaml.constructor.ConstructorError(
                            "while constructing a mapping",
                            first.start_mark,
                            f'found duplicate key "{key}"',
                            key_node.start_mark,
                        )
            return mapping  # type: ignore[no-any-return]

    # helm turns YAML into JSON, where a date is just a string: don't make datetime objects.
    Loader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in base.yaml_implicit_resolvers.items()
    }
    return Loader


def _rt_loader() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.version = (1, 1)
    return yaml


MAX_DEPTH = 100  # levels of mappings and lists a loaded document may have (see the module's docstring)


def loads(text: str | bytes) -> Any:
    """Parse YAML text (or bytes, which must be UTF-8); raise ``YamlError`` (with line) on bad syntax, duplicate
    keys, bytes that are not UTF-8, or nesting deeper than ``MAX_DEPTH``."""
    import yaml

    if isinstance(text, bytes):
        text = _utf8(text)
    try:
        data = yaml.load(text, Loader=_fast_loader_class())
    except yaml.YAMLError as exc:
        if "maximum nesting depth" in str(getattr(exc, "problem", "")):  # libyaml's own limit (1,000)
            raise _too_deep(text) from None
        raise _describe(exc) from None
    except RecursionError:  # the pure-Python loader (no libyaml) on deep text
        raise _too_deep(text) from None
    if _deeper_than(data, MAX_DEPTH):
        raise _too_deep(text)
    return data


def _deeper_than(data: Any, limit: int) -> bool:
    """Whether ``data`` has more than ``limit`` levels of dicts and lists. Iterative; a node shared through aliases
    is walked again only when reached deeper than before, so this is linear in the nodes (times ``limit`` at
    worst), and a node containing itself ends as too deep."""
    seen: dict[int, int] = {}
    stack = [(data, 1)] if isinstance(data, (dict, list)) else []
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        if seen.get(id(node), 0) >= depth:
            continue
        seen[id(node)] = depth
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _line(mark: Any) -> int | None:
    return mark.line + 1 if mark is not None else None


def _too_deep(text: str) -> YamlError:
    """The error for a document deeper than ``MAX_DEPTH``, with the line where it gets too deep (found by reading
    the text's events again: only on this error path)."""
    import yaml

    limit = f"nested deeper than {MAX_DEPTH} levels"
    opened: list[str | None] = []  # anchors of the mappings and lists open at this point
    try:
        for event in yaml.parse(text, Loader=_fast_loader_class()):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                opened.append(event.anchor)
                if len(opened) > MAX_DEPTH:
                    return YamlError(_line(event.start_mark), f"{limit}: flatten it (no real file needs that many)")
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                opened.pop()
            elif isinstance(event, yaml.AliasEvent) and event.anchor in opened:
                return YamlError(
                    _line(event.start_mark),
                    f"the alias *{event.anchor} is inside the node it names (&{event.anchor}): it would be {limit} "
                    "(endlessly); values cannot contain themselves",
                )
    except yaml.YAMLError as exc:  # libyaml may stop at its own limit (1,000) before the events get that deep
        mark = getattr(exc, "problem_mark", None)
        if mark is not None and "maximum nesting depth" in str(getattr(exc, "problem", "")):
            return YamlError(mark.line + 1, f"{limit}: flatten it (no real file needs that many)")
    except RecursionError:
        pass
    return YamlError(None, f"{limit} (through its aliases): flatten it (no real file needs that many)")


def load(path: Path) -> Any:
    """Parse a YAML file (see ``loads``); a file that is not UTF-8 is a ``YamlError`` too. ``OSError`` (a missing
    or unreadable file) is the caller's to handle."""
    return loads(path.read_bytes())


def _utf8(data: bytes) -> str:
    """``data`` decoded as UTF-8 (as helm and kubectl read YAML), or a ``YamlError`` with the line of the first
    bad byte (never its neighbours: the file may be a decrypted secret)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise YamlError(line, f"is not UTF-8 text (byte 0x{data[exc.start]:02x}): save the file as UTF-8") from None


def load_all(text: str) -> list[Any]:
    """Parse every document of a multi-document YAML stream (``---`` separated); empty documents are None."""
    import yaml

    try:
        return list(yaml.load_all(text, Loader=_fast_loader_class()))
    except yaml.YAMLError as exc:
        raise _describe(exc) from None


def dumps(data: Any) -> str:
    """``data`` as block-style YAML, mapping keys in their given order."""
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(data, Dumper=dumper, default_flow_style=False, sort_keys=False, allow_unicode=True)


_DUPLICATE = re.compile(r'found duplicate key "(?P<key>[^"]*)"')


def _describe(exc: Exception) -> YamlError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else None
    problem = str(getattr(exc, "problem", "") or "")
    dup = _DUPLICATE.search(problem)
    if dup:
        first = getattr(exc, "context_mark", None)
        where = f" (first defined on line {first.line + 1})" if first is not None else ""
        return YamlError(line, f"duplicate key '{dup.group('key')}'{where}: keep only one")
    # libyaml's problem texts describe syntax ("mapping values are not allowed here"), never values.
    return YamlError(line, f"invalid YAML: {problem or type(exc).__name__}")


@lru_cache(maxsize=32)
def _positions(path: Path, mtime_ns: int, size: int) -> Any:
    """The round-trip parse of a file (which keeps positions), cached while the file is unchanged."""
    return _rt_loader().load(path.read_text(encoding="utf-8"))


def line_of(path: Path, keys: Iterable[Any]) -> int | None:
    """1-based line of the node at ``keys`` (mapping keys / list indexes), or of its deepest ancestor found."""
    try:
        stat = path.stat()
        node = _positions(path, stat.st_mtime_ns, stat.st_size)
    except Exception:
        return None
    line = None
    for key in keys:
        lc = getattr(node, "lc", None)
        try:
            if isinstance(node, dict) and key in node:
                line = lc.key(key)[0] + 1 if lc is not None else line
                node = node[key]
            elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
                line = lc.item(key)[0] + 1 if lc is not None else line
                node = node[key]
            else:
                break
        except (KeyError, TypeError, AttributeError):
            break
    if line is None and getattr(node, "lc", None) is not None and isinstance(node, (dict, list)):
        line = node.lc.line + 1  # type: ignore[union-attr]
    return line
