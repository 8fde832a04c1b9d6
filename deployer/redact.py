"""``Redactor``: replaces the secret values known to a run with ``***`` in any text, in every form they are printed.

A value reaches output not only as written but as helm, the Kubernetes API and the deployer itself encode it, so
each value added is matched in all of these forms (``text_forms`` and ``base64_forms``):

- as written, and each line (8+ characters, stripped) of a multi-line value (keys leak line by line);
- JSON string content: ``ensure_ascii`` on and off, and as Go's ``encoding/json`` writes it (``<>&`` as
  ``\\u003c``...); also JSON-escaped twice (a quoted message inside a JSON body);
- Go ``%q`` (``strconv.Quote``, and ``QuoteToASCII`` for ``%+q``): ``\\"`` ``\\\\`` ``\\n`` ``\\t`` ``\\xNN``,
  ``\\uNNNN`` for what is not printable;
- YAML double-quoted (libyaml/go-yaml escapes, with and without non-ASCII escaped) and single-quoted (``''``);
- URL-encoded (``%XX``, and ``+`` for spaces);
- base64: standard and URL-safe alphabets, with and without ``=`` padding (how Secret ``data`` shows a value).

Case: text forms of a value of 8 or more characters match in any letter case (Go code and servers lower-case
names, canonicalise headers, print hex escapes in either case); shorter values, and all base64 forms, match
exactly (base64 is case-sensitive; a 4-7 letter value matched in any case would redact ordinary words).

Not covered, not feasible as a fixed string: base64 of a whole file or Secret blob in which the value is only one
part (a values file in Secret ``data``). The value's encoding there depends on its byte offset modulo 3 and on its
neighbours, so there is no one string to look for (only the middle of the encoding at each of the 3 offsets is
fixed; matching that would still show up to two bytes' worth at each end, and is not done). Nor is a long value
that a YAML emitter folds across lines at its spaces, nor one split across chunks of base64 wrapped at 76
columns.

Values shorter than ``MIN_SECRET_LENGTH`` (``true``, ports) are not secrets and would redact ordinary words.

Speed: redaction runs on all of helm's output. The forms are compiled into two regular expressions (case-sensitive
and case-insensitive), each a prefix tree of alternatives so that a match costs about the length of the text, not
text x number of forms; they are rebuilt on the next use after values are added. Overlapping matches are merged,
so that a value inside or overlapping another is never half shown. Thread-safe.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import urllib.parse
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

REDACTED = "***"
MIN_SECRET_LENGTH = 4
FOLD_CASE_LENGTH = 8  # text forms of values at least this long match in any letter case
MAX_TRIE_DEPTH = 100  # branching depth beyond which a plain alternation is compiled instead (nested-group limits)

_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}
_YAML_ESCAPES = {
    "\0": "\\0",
    "\a": "\\a",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\v": "\\v",
    "\f": "\\f",
    "\r": "\\r",
    "\x1b": "\\e",
    '"': '\\"',
    "\\": "\\\\",
    "\x85": "\\N",
    "\xa0": "\\_",
    "\u2028": "\\L",
    "\u2029": "\\P",
}


def go_quote(text: str, ascii_only: bool = False) -> str:
    """The content (without the quotes) of Go's ``strconv.Quote`` (``QuoteToASCII`` with ``ascii_only``)."""
    out = []
    for ch in text:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch.isprintable() and (code < 0x80 or not ascii_only):
            out.append(ch)
        elif ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return "".join(out)


def yaml_double_quote(text: str, ascii_only: bool = False) -> str:
    """The content of a YAML double-quoted scalar as libyaml (go-yaml, PyYAML) escapes it (without folding): like
    them, characters beyond U+FFFD (emoji) are escaped too."""
    out = []
    for ch in text:
        code = ord(ch)
        if ch in _YAML_ESCAPES and (ch != "\xa0" or ascii_only):  # a no-break space is printable
            out.append(_YAML_ESCAPES[ch])
        elif 0x20 <= code < 0x7F or (
            not ascii_only and (0xA0 <= code < 0xD800 or 0xE000 <= code <= 0xFFFD) and code != 0xFEFF
        ):
            out.append(ch)  # libyaml's printable ranges (not Python's str.isprintable)
        elif code <= 0xFF:
            out.append(f"\\x{code:02X}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04X}")
        else:
            out.append(f"\\U{code:08X}")
    return "".join(out)


def _json(text: str, ensure_ascii: bool) -> str:
    return json.dumps(text, ensure_ascii=ensure_ascii)[1:-1]


def _go_json(text: str) -> str:
    """JSON string content as Go's ``encoding/json`` writes it (HTML-safe escapes, non-ASCII kept)."""
    out = _json(text, ensure_ascii=False)
    for ch in "<>&\u2028\u2029":
        out = out.replace(ch, f"\\u{ord(ch):04x}")
    return out


def text_forms(value: str) -> set[str]:
    """The forms of ``value`` in which text output (messages, YAML, JSON) may show it."""
    forms = {
        value,
        _json(value, ensure_ascii=True),
        _json(value, ensure_ascii=False),
        _go_json(value),
        _json(_json(value, ensure_ascii=False), ensure_ascii=False),  # a quoted message inside a JSON body
        go_quote(value),
        go_quote(value, ascii_only=True),
        yaml_double_quote(value),
        yaml_double_quote(value, ascii_only=True),
        value.replace("'", "''"),
        urllib.parse.quote(value, safe=""),
        urllib.parse.quote_plus(value, safe=""),
    }
    for line in value.splitlines():  # multi-line secrets (keys) leak line by line in error messages
        if len(line.strip()) >= MIN_SECRET_LENGTH * 2:
            forms.add(line.strip())
    return forms


def base64_forms(value: str) -> set[str]:
    """``value``'s base64 (standard and URL-safe alphabets, with and without padding), as Secret data holds it."""
    raw = value.encode("utf-8", errors="surrogatepass")
    forms = set()
    for encoded in (base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()):
        forms |= {encoded, encoded.rstrip("=")}
    return forms


def _trie_pattern(keys: Iterable[str]) -> str | None:
    """One regular expression matching any of ``keys``, the longest at a given position; None when the prefix tree
    branches deeper than ``MAX_TRIE_DEPTH`` (then the caller compiles a plain alternation)."""
    root: dict[str, Any] = {}
    for key in keys:
        node = root
        for ch in key:
            node = node.setdefault(ch, {})
        node[""] = {}  # a key ends here

    def pattern(node: dict[str, Any], depth: int) -> str:
        literal = []
        while len(node) == 1 and "" not in node:  # a chain without branches: one literal run, no recursion
            (ch, node), *_ = node.items()
            literal.append(re.escape(ch))
        if not node or list(node) == [""]:
            return "".join(literal)
        if depth > MAX_TRIE_DEPTH:
            raise RecursionError
        branches = [re.escape(ch) + pattern(child, depth + 1) for ch, child in sorted(node.items()) if ch]
        group = "(?:" + "|".join(branches) + ")"
        return "".join(literal) + (group + "?" if "" in node else group)  # greedy: the longer key wins

    try:
        return pattern(root, 0)
    except RecursionError:
        return None


def _compile(keys: set[str], flags: int = 0) -> re.Pattern[str] | None:
    if not keys:
        return None
    pattern = _trie_pattern(sorted(keys))
    if pattern is not None:
        try:
            return re.compile(pattern, flags)
        except RecursionError:
            pass
    return re.compile("|".join(re.escape(k) for k in sorted(keys, key=len, reverse=True)), flags)


def _spans(rx: re.Pattern[str], text: str) -> Iterator[tuple[int, int]]:
    """Where ``rx`` matches in ``text``, overlapping matches merged into one span."""
    match = rx.search(text)
    while match:
        start, end = match.span()
        following = rx.search(text, start + 1)
        while following and following.start() < end:
            end = max(end, following.end())
            following = rx.search(text, following.start() + 1)
        yield start, end
        match = following


class Redactor:
    """Replaces known secret values, in every form listed in the module docstring, with ``***`` in any text."""

    def __init__(self, values: Iterable[Any] = ()) -> None:
        self._lock = threading.Lock()
        self._folded: set[str] = set()  # text forms matched in any case (stored lower-cased)
        self._exact: set[str] = set()  # base64 forms and forms of short values
        self._patterns: tuple[re.Pattern[str] | None, ...] | None = ()
        self.add(*values)

    def add(self, *values: Any) -> None:
        folded: set[str] = set()
        exact: set[str] = set()
        for value in values:
            if isinstance(value, bool) or value is None:
                continue
            text = str(value)
            if len(text) < MIN_SECRET_LENGTH:
                continue
            forms = {f for f in text_forms(text) if len(f) >= MIN_SECRET_LENGTH}
            if len(text) >= FOLD_CASE_LENGTH:
                folded |= {_lower(f) for f in forms}
            else:
                exact |= forms
            exact |= base64_forms(text)
        with self._lock:
            if folded - self._folded or exact - self._exact:
                self._folded |= folded
                self._exact |= exact
                self._patterns = None  # compiled again on next use

    def add_tree(self, data: Any) -> None:
        """Add every scalar leaf of parsed YAML/JSON (a decrypted values file), skipping sops metadata."""
        leaves: list[Any] = []
        stack = [data]
        while stack:  # iterative: a deeply nested file must not exhaust the stack
            node = stack.pop()
            if isinstance(node, dict):
                stack.extend(v for k, v in node.items() if k != "sops")
            elif isinstance(node, list):
                stack.extend(node)
            elif isinstance(node, (str, int, float)):
                leaves.append(node)
        self.add(*leaves)

    def _compiled(self) -> tuple[re.Pattern[str] | None, ...]:
        with self._lock:
            if self._patterns is None:
                self._patterns = (_compile(self._folded, re.IGNORECASE), _compile(self._exact))
            return self._patterns

    def __call__(self, text: str) -> str:
        spans = sorted(span for rx in self._compiled() if rx is not None for span in _spans(rx, text))
        if not spans:
            return text
        out, pos = [], 0
        for start, end in spans:
            if end <= pos:
                continue
            if start >= pos:
                out.append(text[pos:start] + REDACTED)
            pos = end
        out.append(text[pos:])
        return "".join(out)

    def argv(self, argv: Sequence[str]) -> list[str]:
        return [self(str(a)) for a in argv]


def _lower(text: str) -> str:
    """``text`` lower-cased character by character (keeping its length, unlike ``str.lower`` for e.g. 'İ')."""
    return "".join(low if len(low := ch.lower()) == 1 else ch for ch in text)
