"""The one YAML module of the package: reading YAML the way helm reads it, fast, with line numbers only when a
message needs one, and writing it back for display.

- ``load(path)`` / ``loads(text)`` parse with PyYAML's libyaml-based safe loader: YAML 1.1, as helm's YAML
  library resolves ``yes``/``on``/``010``, and about three times faster than ruamel's safe loader (it matters:
  planning a 2,000-hub fleet must take well under a second). Duplicate keys are an error. Every YAML file the
  deployer reads goes through it: cluster.yaml, values files (plain and decrypted), Chart.yaml and Chart.lock (on disk
  and inside ``.tgz`` archives alike), kubeconfigs and YAML credentials files (JSON ones are read with ``json``).
- ``load_all(text)``: the documents of a multi-document stream (helm's rendered manifests), same loader.
- ``dumps(data)``: block-style YAML, keys in the order given (for showing manifests in a diff).
- ``round_trip(path)`` -> ``RoundTrip``: a file loaded for editing with ruamel's round-trip loader (comments, key
  order, quoting kept) and ``RoundTrip.dumps()`` writing it back in the layout it was read with, so an edit
  changes only what it touches (``deployer new hub`` appends to cluster.yaml this way). Slower than ``load``:
  only for files a command rewrites.
- ``line_of(path, keys)`` re-reads the file into libyaml's node tree, which keeps positions, and returns the
  1-based line of the key (or list item) at ``keys``. It is only called on the error path, and is linear: a file
  just under the size limit gets its line in a second or two (benchmarks/README.md).

Size limit: ``load`` reads at most ``deployer.userfiles.MAX_CONFIG_FILE`` (8 MiB) unless told less (chart files:
helm's 5 MiB), refusing a bigger file (or a folder, FIFO, device) from its ``fstat`` before reading it.

Depth limit: ``load``/``loads`` refuse a document nested deeper than ``MAX_DEPTH`` (100) levels of mappings and
lists (aliases followed; a node that contains itself through an alias is refused too) with ``nested deeper than
100 levels`` and the line where it happens. No real values file comes near it (the charts' own values.yaml files
stay under 15), and it bounds every recursive walk downstream (values coalescing, schema validation, helm's
values), so that no input can make one overflow the stack. libyaml itself refuses text nested deeper than 1,000.
``load_all`` applies it to each document.

Alias limit ("billion laughs"): PyYAML builds a node an alias names once and shares it, which is cheap, but every
walk downstream (coalescing, redaction, schema validation, the JSON given to helm) meets it at each use. A document
whose aliases add more than ``MAX_ALIAS_NODES`` (100,000) mappings, lists and items when expanded is refused with
the line of the alias that passes the bound. Helm's YAML library refuses excessive aliasing too (go-yaml's
``allowedAliasRatio``: at most about 400,000 alias-driven nodes); no real values file comes near either bound.

Errors are ``YamlError`` carrying a line and a message that never quotes a value (the file may be a
decrypted secret); that includes text that is not UTF-8, so no caller needs to catch ``UnicodeDecodeError``. A syntax
error keeps the parser's line, column and words, followed by ``syntax_hint``'s hint at the usual cause (a tab in
the indentation, an unquoted ``:``, wrong indentation, an unclosed quote or bracket), for both parsers.
"""

from __future__ import annotations

import contextlib
import gc
import re
from collections.abc import Iterable, Iterator
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from deployer.userfiles import MAX_CONFIG_FILE, SPLIT, Refused, read_capped


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


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Python's cycle collector paused while a document is built: parsing allocates hundreds of thousands of
    objects and no cycles (an alias cannot make one that ``loads`` keeps), and the collector, run again and again as
    they pile up, made parsing an 8 MiB file three times slower."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


MAX_DEPTH = 100  # levels of mappings and lists a loaded document may have (see the module's docstring)
MAX_ALIAS_NODES = 100_000  # nodes a document's aliases may add when expanded (see the module's docstring)


def loads(text: str | bytes) -> Any:
    """Parse YAML text (or bytes, which must be UTF-8); raise ``YamlError`` (with line) on bad syntax, duplicate
    keys, bytes that are not UTF-8, or nesting deeper than ``MAX_DEPTH``."""
    import yaml

    if isinstance(text, bytes):
        text = _utf8(text)
    try:
        with _no_gc():
            data = yaml.load(text, Loader=_fast_loader_class())
    except yaml.YAMLError as exc:
        if "maximum nesting depth" in str(getattr(exc, "problem", "")):  # libyaml's own limit (1,000)
            raise _too_deep(text) from None
        raise _describe(exc, text) from None
    except RecursionError:  # the pure-Python loader (no libyaml) on deep text
        raise _too_deep(text) from None
    _check_shape(data, text)
    return data


def _check_shape(data: Any, text: str) -> None:
    """Refuse a loaded document deeper than ``MAX_DEPTH`` or whose aliases expand beyond ``MAX_ALIAS_NODES``."""
    if deeper_than(data, MAX_DEPTH):
        raise _too_deep(text)
    if "*" in text and _alias_copies(data) > MAX_ALIAS_NODES:  # no "*": no alias, nothing to count
        raise _too_aliased(text)


def _alias_copies(data: Any) -> int:
    """How many more mappings, lists and items ``data`` has when every node shared through an alias is counted at
    each of its uses (what a walk of it, or its JSON, would meet) than it holds in memory. Linear: each shared node
    is sized once. ``data`` must not contain itself (``_deeper_than`` refused that)."""
    sizes: dict[int, int] = {}
    own = 0  # nodes held in memory
    stack: list[tuple[Any, bool]] = [(data, False)] if isinstance(data, (dict, list)) else []
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        values = node.values() if isinstance(node, dict) else node
        nested = [child for child in values if isinstance(child, (dict, list))]
        if children_done:
            sizes[id(node)] = 1 + len(node) - len(nested) + sum(sizes[id(child)] for child in nested)
            own += 1 + len(node) - len(nested)
        else:
            stack.append((node, True))
            stack.extend((child, False) for child in nested if id(child) not in sizes)
    return sizes.get(id(data), 0) - own


def deeper_than(data: Any, limit: int) -> bool:
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


def _too_aliased(text: str) -> YamlError:
    """The error for a document whose aliases expand too much, with the line of the alias that passes the bound
    (found by reading the text's events again, counting what each anchored node holds: only on this error path)."""
    import yaml

    sizes: dict[str, int] = {}  # anchor -> nodes of its node, aliases expanded
    opened: list[list[Any]] = []  # [anchor, nodes so far] of each mapping and list open at this point
    added = 0
    for event in yaml.parse(text, Loader=_fast_loader_class()):
        size = 0
        if isinstance(event, yaml.DocumentStartEvent):
            added = 0  # the bound is per document
        elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            opened.append([event.anchor, 1])
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            anchor, size = opened.pop()
            if anchor is not None:
                sizes[anchor] = size
        elif isinstance(event, yaml.ScalarEvent):
            size = 1
            if event.anchor is not None:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.AliasEvent):
            size = sizes.get(event.anchor or "", 1)
            added += size
            if added > MAX_ALIAS_NODES:
                return YamlError(_line(event.start_mark), _ALIASED)
        if opened:
            opened[-1][1] += size
    return YamlError(None, _ALIASED)


_ALIASED = (
    f"its aliases (*name) expand to more than {MAX_ALIAS_NODES:,} nodes (an alias bomb?): write the values out, "
    "or use fewer aliases of big nodes"
)


def load(path: Path, *, most: int = MAX_CONFIG_FILE, what: str = "one YAML file", hint: str = SPLIT) -> Any:
    """Parse a YAML file (see ``loads``) of at most ``most`` bytes (``what`` and ``hint`` word the refusal of a
    bigger one: ``deployer.userfiles.read_capped``); a bigger file, one that is not a regular file
    (a folder, FIFO, device) or not UTF-8 is a ``YamlError`` too, refused before it is read. ``OSError`` (a
    missing or unreadable file) is the caller's to handle."""
    try:
        data = read_capped(path, most, what, hint)
    except Refused as exc:
        raise YamlError(None, str(exc)) from None
    return loads(data)


def _utf8(data: bytes) -> str:
    """``data`` decoded as UTF-8 (as helm and kubectl read YAML), or a ``YamlError`` with the line of the first
    bad byte (never its neighbours: the file may be a decrypted secret)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise YamlError(line, f"is not UTF-8 text (byte 0x{data[exc.start]:02x}): save the file as UTF-8") from None


def load_all(text: str) -> list[Any]:
    """Parse every document of a multi-document YAML stream (``---`` separated); empty documents are None. The same
    ``YamlError``s as ``loads``, including the depth and alias limits (for each document)."""
    import yaml

    try:
        with _no_gc():
            documents = list(yaml.load_all(text, Loader=_fast_loader_class()))
    except yaml.YAMLError as exc:
        if "maximum nesting depth" in str(getattr(exc, "problem", "")):  # libyaml's own limit (1,000)
            raise _too_deep(text) from None
        raise _describe(exc, text) from None
    except RecursionError:  # the pure-Python loader (no libyaml) on deep text
        raise _too_deep(text) from None
    for document in documents:
        _check_shape(document, text)
    return documents


def dumps(data: Any) -> str:
    """``data`` as block-style YAML, mapping keys in their given order."""
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(data, Dumper=dumper, default_flow_style=False, sort_keys=False, allow_unicode=True)


# (mapping, sequence, offset) indentations ``round_trip`` tries, most common first: the first whose unchanged dump
# reproduces the file exactly is the file's layout.
_LAYOUTS = ((2, 4, 2), (2, 2, 0), (4, 4, 2), (4, 6, 4), (4, 4, 0), (4, 2, 0))


class RoundTrip:
    """A YAML document loaded for editing: ``data`` is ruamel's round-trip tree (mappings and lists that keep
    comments, key order and quoting; change it in place), ``dumps()`` its text in the layout the file had."""

    def __init__(self, data: Any, yaml: Any):
        self.data = data
        self._yaml = yaml

    def append(self, key: str, item: Any) -> None:
        """Append ``item`` to the list at the top-level ``key`` (made a block list when absent, null or empty)."""
        items = self.data.get(key)
        if not items:
            from ruamel.yaml.comments import CommentedSeq

            items = self.data[key] = CommentedSeq()
        items.append(item)

    def dumps(self) -> str:
        import io

        out = io.StringIO()
        self._yaml.dump(self.data, out)
        return out.getvalue()


def round_trip(path: Path, *, most: int = MAX_CONFIG_FILE) -> RoundTrip:
    """Load ``path`` (at most ``most`` bytes, UTF-8) for editing, keeping comments, order, quoting and, where one of
    the usual indentations reproduces the file exactly, its layout (else the first of them). Bad syntax, a
    too big or non-UTF-8 file is a ``YamlError``; ``OSError`` is the caller's."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError as RuamelError

    try:
        text = _utf8(read_capped(path, most, "one YAML file", SPLIT))
    except Refused as exc:
        raise YamlError(None, str(exc)) from None
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 1 << 16  # never re-wrap a long line
    try:
        data = yaml.load(text)
    except RuamelError as exc:
        raise _describe(exc, text) from None
    edit = RoundTrip(data, yaml)
    for mapping, sequence, offset in _LAYOUTS:
        yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
        if edit.dumps() == text:
            return edit
    mapping, sequence, offset = _LAYOUTS[0]
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    return edit


_DUPLICATE = re.compile(r'found duplicate key "(?P<key>[^"]*)"')


def _describe(exc: Exception, text: str | None = None) -> YamlError:
    """A parser error as a ``YamlError``: the parser's line, and its column and words with ``syntax_hint``'s hint."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else None
    problem = str(getattr(exc, "problem", "") or "")
    dup = _DUPLICATE.search(problem)
    if dup:
        first = getattr(exc, "context_mark", None)
        where = f" (first defined on line {first.line + 1})" if first is not None else ""
        return YamlError(line, f"duplicate key '{dup.group('key')}'{where}: keep only one")
    context = getattr(exc, "context_mark", None)
    at = _char_at(text, mark)
    words = str(getattr(exc, "context", "") or "")
    hint = syntax_hint(problem, at, words, context.line + 1 if context is not None else None)
    column = f" (column {mark.column + 1})" if mark is not None else ""
    # libyaml's problem texts describe syntax ("mapping values are not allowed here"), never values.
    return YamlError(line, f"invalid YAML{column}: {problem or type(exc).__name__}" + (f": {hint}" if hint else ""))


def _char_at(text: str | None, mark: Any) -> str:
    """The character the parser stopped at ('' when unknown or past the end)."""
    if text is None or mark is None:
        return ""
    line, column, lines = int(mark.line), int(mark.column), text.splitlines()
    return lines[line][column] if line < len(lines) and column < len(lines[line]) else ""


def syntax_hint(problem: str, char: str = "", context: str = "", opened_on: int | None = None) -> str:
    """What usually causes the YAML parser's ``problem`` (its words, e.g. "mapping values are not allowed here"),
    and what to do; '' when there is no common cause. ``char``: the character the parser stopped at; ``context``
    (its words, e.g. "while scanning a quoted scalar") and ``opened_on``: what it was parsing, from which line (a
    quote or bracket opened there). Pure."""
    where = f" on line {opened_on}" if opened_on is not None else ""
    if char == "\t" or "tab character" in problem:
        return "YAML does not allow tabs: indent with spaces"
    if problem.startswith("mapping values are not allowed"):
        return "an unquoted ':' in a value, or wrong indentation: quote the value or align the key"
    if "quoted scalar" in context:
        return f"a quote opened{where} is not closed: close it"
    if problem.startswith("did not find expected ',' or ']'"):
        return f"a '[' opened{where} is not closed: close it, or quote a value that starts with '['"
    if problem.startswith("did not find expected ',' or '}'"):
        return f"a '{{' opened{where} is not closed: close it, or quote a value that starts with '{{'"
    if problem.startswith("did not find expected node content") and "flow" in context:
        return "a '[' or '{' above is not closed: close it (a list item '- ' cannot be inside one)"
    if problem.startswith("did not find expected key") or problem.startswith("did not find expected '-'"):
        return "wrong indentation: align the key with the others at its level (a list item starts with '- ')"
    if problem.startswith("could not find expected ':'"):
        line = f"line {opened_on}" if opened_on is not None else "a line"
        return f"{line} is not 'key: value': add the ':' (or close a quote it opens)"
    if "cannot start any token" in problem:
        return "quote a value that starts with a special character ('@', '`', '%')"
    return ""


@lru_cache(maxsize=32)
def _positions(path: Path, mtime_ns: int, size: int) -> tuple[Any, Any]:
    """The node tree of a file (which keeps positions) and a loader to build keys with, cached while the file is
    unchanged. libyaml's composer: linear and fast, so that a message about a file near the size limit still comes
    in a second or two (ruamel's round-trip parse took minutes on tens of MB)."""
    loader = _fast_loader_class()(read_capped(path, MAX_CONFIG_FILE, "one YAML file"))
    try:
        with _no_gc():
            return loader.get_single_node(), loader
    finally:
        loader.dispose()


def _key(loader: Any, node: Any) -> Any:
    """The value of a mapping key node as ``loads`` builds it (``yes`` is True, ``010`` is 8), or a marker that
    equals no key when it cannot be built."""
    try:
        return loader.construct_object(node, deep=True) if node.tag != "tag:yaml.org,2002:merge" else object()
    except Exception:
        return object()


def line_of(path: Path, keys: Iterable[Any]) -> int | None:
    """1-based line of the node at ``keys`` (mapping keys / list indexes), or of its deepest ancestor found."""
    import yaml

    try:
        stat = path.stat()
        node, loader = _positions(path, stat.st_mtime_ns, stat.st_size)
    except Exception:
        return None
    line = None
    for key in keys:
        if isinstance(node, yaml.MappingNode):
            found = None
            for key_node, value_node in reversed(node.value):  # yaml keeps the last of equal keys
                try:
                    if type(key) is type(built := _key(loader, key_node)) and built == key:
                        found = (key_node, value_node)
                        break
                except TypeError:  # unhashable or incomparable
                    continue
            if found is None:
                break
            line, node = found[0].start_mark.line + 1, found[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            break
    if line is None and isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
        line = node.start_mark.line + 1
    return line
