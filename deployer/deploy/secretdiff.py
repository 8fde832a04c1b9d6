"""What ``deployer diff`` shows of a Secret's ``data``/``stringData``: the decoded values, masked. Pure functions.

``secret_pair(live, desired, redactor)`` renders one Secret's values on both sides of the diff (``live`` is None for
a Secret that is new, ``desired`` None for one the deploy removes), as lines to put after the rest of the object:

- ``data`` values are base64-decoded, ``stringData`` values taken as they are. A value of UTF-8 text is shown
  line by line under its key (``key: |``), so a change inside it (the JupyterHub chart's whole hub configuration
  in the ``hub`` Secret's ``values.yaml``) is one changed line of the diff. A value that is not text (invalid
  UTF-8, control characters, not base64) shows as ``(binary data, N bytes)``, and when it changed, on the deploy
  side, as ``binary data changed (N bytes -> M bytes)``.
- Masked as a whole, ``(redacted)`` (``(redacted, changed)`` on the deploy side when it differs from the live one):
  a value whose key looks secret (``looks_secret``: the shared rule of ``config.secretlike`` - last word password,
  secret, token, ..., not ``secretName``/``existingSecret`` - plus ``keys``; so the chart-generated
  ``hub.config.JupyterHub.cookie_secret``, ``hub.config.ConfigurableHTTPProxy.auth_token``,
  ``hub.config.CryptKeeper.keys`` and ``hub.services.NAME.apiToken``), and a one-line value in which the run's
  ``redactor`` finds a value of an encrypted file (on either side).
- Inside a text value, line by line: the ``redactor`` (values of the encrypted files this run decrypted, in every
  encoding it knows) masks its matches as ``***``; a ``key: value`` line (YAML, JSON or ``key=value``) whose key
  looks secret, or whose key (with its indentation) carries a value the redactor masked on either side, shows
  ``key: (redacted)`` on both sides (``(redacted, changed)`` on the deploy side when the N-th such line differs
  from the live N-th), so an encrypted value that changed shows as changed without either value; the lines of
  a block scalar (``key: |``) under a secret-looking key are masked too.

Not masked: an old value that no longer is in any encrypted file and that sits on a line without a key (a list
item, a continuation line), since nothing says it was secret.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from typing import Any

from deployer.config.secretlike import is_secret_key, words

REDACTED = "(redacted)"
CHANGED = "(redacted, changed)"
FIELDS = ("data", "stringData")
INDENT = "    "  # a value's lines, under its key (two spaces) under data/stringData

EXTRA_SECRET_NAMES = {"keys"}  # the JupyterHub chart's generated hub.config.CryptKeeper.keys
_KEY_LINE = re.compile(r"""^(\s*(?:-\s+)?["']?([A-Za-z0-9_.\-/]+)["']?\s*[:=])(?:\s+|$)(.*)$""")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

Redact = Callable[[str], str]


def looks_secret(key: str) -> bool:
    """Whether a key name says its value is a secret: the shared rule (``config.secretlike.is_secret_key``) on its
    last dotted part, plus ``keys`` (``hub.config.CryptKeeper.keys``)."""
    last = key.rsplit(".", 1)[-1]
    return is_secret_key(last) or (words(last) or [""])[-1] in EXTRA_SECRET_NAMES


def _decoded(field: str, value: Any) -> str | bytes:
    """The value as text, or as bytes when it is not text (raw bytes of invalid base64 included)."""
    if field == "stringData":
        return str(value)
    raw = str(value).encode()
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return raw
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data
    return data if _CONTROL.search(text) else text


def _values(doc: dict[str, Any] | None) -> dict[tuple[str, str], str | bytes]:
    out: dict[tuple[str, str], str | bytes] = {}
    for field in FIELDS:
        values = (doc or {}).get(field)
        if isinstance(values, dict):
            for key, value in values.items():
                out[(field, str(key))] = _decoded(field, "" if value is None else value)
    return out


def _size(value: str | bytes) -> int:
    return len(value if isinstance(value, bytes) else value.encode())


def _key_lines(lines: list[str]) -> list[tuple[str, str] | None]:
    """For each line, its (prefix up to the separator, value) when it is a ``key: value`` line, else None."""
    return [(m.group(1), m.group(3)) if (m := _KEY_LINE.match(line)) else None for line in lines]


def _text_lines(old: str | None, new: str | None, redact: Redact) -> tuple[list[str], list[str]]:
    sides = [
        (old or "").splitlines() if old is not None else None,
        (new or "").splitlines() if new is not None else None,
    ]
    parsed = [_key_lines(lines) if lines is not None else [] for lines in sides]
    masked: set[str] = set()  # key prefixes whose values are masked on both sides
    for lines, keyed in zip(sides, parsed, strict=True):
        for line, key in zip(lines or [], keyed, strict=True):
            if key and key[1] and (redact(line) != line or looks_secret(_name(key[0]))):
                masked.add(key[0])
    rendered: list[list[str]] = []
    seen_old: dict[str, list[str]] = {}
    for index, (lines, keyed) in enumerate(zip(sides, parsed, strict=True)):
        out: list[str] = []
        counts: dict[str, int] = {}
        block = -1  # indentation of a secret-looking key whose block scalar lines are being masked
        for line, key in zip(lines or [], keyed, strict=True):
            indent = len(line) - len(line.lstrip())
            if block >= 0 and (indent > block or not line.strip()):
                out.append(INDENT + " " * indent + "***")
                continue
            block = -1
            if key and key[0] in masked and key[1]:
                prefix, value = key
                if value.strip()[:1] in ("|", ">"):
                    block = indent
                n = counts[prefix] = counts.get(prefix, 0) + 1
                if index == 0:
                    seen_old.setdefault(prefix, []).append(value)
                    out.append(f"{INDENT}{prefix} {REDACTED}")
                else:
                    before = seen_old.get(prefix, [])
                    changed = sides[0] is not None and (n > len(before) or before[n - 1] != value)
                    out.append(f"{INDENT}{prefix} {CHANGED if changed else REDACTED}")
            else:
                out.append(INDENT + redact(line))
        rendered.append(out)
    return rendered[0], rendered[1]


def _name(prefix: str) -> str:
    return prefix.strip().lstrip("-").strip().strip("'\"").rstrip(":=").strip().strip("'\"")


def _pair(key: str, old: str | bytes | None, new: str | bytes | None, redact: Redact) -> tuple[list[str], list[str]]:
    head = f"  {key}:"
    both = [v for v in (old, new) if v is not None]
    if looks_secret(key) or any(isinstance(v, str) and "\n" not in v.rstrip("\n") and redact(v) != v for v in both):
        old_lines = [f"{head} {REDACTED}"] if old is not None else []
        changed = old is not None and new != old
        return old_lines, [f"{head} {CHANGED if changed else REDACTED}"] if new is not None else []
    if any(isinstance(v, bytes) for v in both):
        old_lines = [f"{head} (binary data, {_size(old)} bytes)"] if old is not None else []
        if new is None:
            return old_lines, []
        if old is not None and old != new:
            return old_lines, [f"{head} binary data changed ({_size(old)} bytes -> {_size(new)} bytes)"]
        return old_lines, [f"{head} (binary data, {_size(new)} bytes)"]
    old_text, new_text = _text_lines(
        old if isinstance(old, str) else None, new if isinstance(new, str) else None, redact
    )
    return ([f"{head} |", *old_text] if old is not None else []), ([f"{head} |", *new_text] if new is not None else [])


def secret_pair(
    live: dict[str, Any] | None, desired: dict[str, Any] | None, redactor: Redact
) -> tuple[list[str], list[str]]:
    """The lines showing ``live``'s and ``desired``'s Secret values (see the module docstring), each ending in a
    newline; a side that is None gets no lines."""
    old, new = _values(live), _values(desired)
    sides: tuple[list[str], list[str]] = ([], [])
    for field in FIELDS:
        keys = sorted({k for f, k in (*old, *new) if f == field})
        if not keys:
            continue
        for side, values in zip(sides, (old, new), strict=True):
            if any((field, k) in values for k in keys):
                side.append(f"{field}:  # decoded by deployer diff")
        for key in keys:
            lines = _pair(key, old.get((field, key)), new.get((field, key)), redactor)
            sides[0].extend(lines[0])
            sides[1].extend(lines[1])
    return [line + "\n" for line in sides[0]], [line + "\n" for line in sides[1]]
