"""Reading the hub's log file: the tracebacks in it, its tail, and what was written since a point in time.

The hub's log file holds the hub's own records (``[E 2026-01-01 12:00:00.000 JupyterHub web:2108] ...``, with
continuation lines indented by four spaces) interleaved with the proxy's lines
(``2026-01-01T12:00:00.000Z [ConfigProxy] ...``) and whatever the single-user servers print. ``tracebacks()``
finds every Python traceback in such text; ``context()`` is what the plugin appends to its error messages.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["HubTraceback", "LogWatcher", "context", "read_text", "tail", "tracebacks"]

StrPath = str | os.PathLike[str]

_HEADER = "Traceback (most recent call last):"
_CHAINS = (
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
)
# a record of a Python (tornado/traitlets) logger: "[E 2026-01-01 12:00:00.000 JupyterHub web:2108] ..."
_PY_RECORD = re.compile(r"^\[[A-Z] \d{4}-\d\d-\d\d[ T]\d")
# a line of configurable-http-proxy: "2026-01-01T12:00:00.000Z [ConfigProxy] ..." (older: "12:00:00.000 [ConfigProxy]")
_PROXY_RECORD = re.compile(r"^(\d{4}-\d\d-\d\dT)?\d\d:\d\d:\d\d(\.\d+)?Z? \[")


@dataclass(frozen=True)
class HubTraceback:
    """One traceback found in a log.

    ``summary`` is the exception line (``ValueError: boom``; of the last exception when exceptions were chained),
    ``text`` the whole block including the log record that introduced it (JupyterHub's
    ``[E ...] Uncaught exception GET /hub/...``), ``line`` the 1-based line number where ``text`` starts.
    """

    summary: str
    text: str
    line: int

    def __str__(self) -> str:
        return self.text


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_record(line: str) -> bool:
    return bool(_PY_RECORD.match(line) or _PROXY_RECORD.match(line))


def _intro(lines: list[str], header: int, base: int) -> int:
    """The index of the log record that introduced the traceback at ``header`` (``header`` itself if none)."""
    if base == 0:
        return header
    index = header - 1
    while index >= 0 and header - index <= 20:
        line = lines[index]
        if _PY_RECORD.match(line):
            return index
        if _PROXY_RECORD.match(line) or (line.strip() and _indent(line) < base):
            break
        index -= 1
    return header


def _block_end(lines: list[str], header: int, base: int) -> tuple[int, str, list[int]]:
    """Scan the traceback starting at ``header``: (index after its last line, summary, indexes of foreign lines)."""
    summary = ""
    foreign: list[int] = []
    index = header + 1
    in_frames = True
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        if _is_record(line):
            if not in_frames:
                break
            # another process' line (the proxy's) written into the middle of the traceback
            foreign.append(index)
            index += 1
            continue
        if in_frames:
            if not stripped:
                index += 1
                continue
            if _indent(line) > base:
                index += 1
                continue
            if _indent(line) < base:
                break
            if stripped == _HEADER:  # a chained traceback continues the same entry
                index += 1
                continue
            summary = stripped
            in_frames = False
            index += 1
            continue
        # after the exception line: a chained exception, or continuation lines of a multi-line message
        ahead = index
        while ahead < len(lines) and not lines[ahead].strip():
            ahead += 1
        if ahead < len(lines) and lines[ahead].strip() in _CHAINS and _indent(lines[ahead]) == base:
            in_frames = True
            index = ahead + 1
            continue
        if base > 0 and stripped and _indent(line) >= base and not _is_record(line):
            index += 1
            continue
        break
    end = index
    while end > header + 1 and not lines[end - 1].strip():
        end -= 1
    if not summary:  # cut off before the exception line: the last frame line says the most
        summary = next((lines[i].strip() for i in range(end - 1, header, -1) if i not in foreign), _HEADER)
    return end, summary, foreign


def tracebacks(text: str) -> list[HubTraceback]:
    """Every Python traceback in ``text`` (a log), in order.

    Chained exceptions ("During handling of the above exception...", "The above exception was the direct
    cause...") belong to one entry. Lines of other processes (the proxy) written into the middle of a traceback
    are left out of its text.
    """
    lines = text.splitlines()
    found: list[HubTraceback] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.strip() != _HEADER:
            index += 1
            continue
        base = _indent(line)
        start = _intro(lines, index, base)
        end, summary, foreign = _block_end(lines, index, base)
        skip = set(foreign)
        block = "\n".join(lines[i] for i in range(start, end) if i not in skip)
        found.append(HubTraceback(summary=summary, text=block, line=start + 1))
        index = max(end, index + 1)
    return found


def read_text(path: StrPath) -> str:
    """The text of the file at ``path`` (undecodable bytes replaced); ``""`` when it does not exist."""
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def tail(text: str, lines: int = 40) -> str:
    """The last ``lines`` lines of ``text``."""
    if lines <= 0:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class LogWatcher:
    """Watches a growing log file: ``mark()`` a point, later read what was written ``since(mark)``."""

    def __init__(self, path: StrPath):
        self.path = Path(path)
        self._counted = (0, 0)  # (offset, newlines before it): line numbers without rereading the whole file

    def mark(self) -> int:
        """The file's current size: the offset where text written from now on starts."""
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def _read(self, offset: int) -> tuple[int, bytes]:
        """(number of lines before ``offset``, the bytes from ``offset`` to the end)."""
        try:
            with open(self.path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if offset > size:  # the file was replaced by a shorter one: everything is new
                    offset = 0
                start, lines = self._counted if self._counted[0] <= min(offset, size) else (0, 0)
                f.seek(start)
                lines += f.read(offset - start).count(b"\n")
                self._counted = (offset, lines)
                return lines, f.read()
        except FileNotFoundError:
            return 0, b""

    def since(self, offset: int) -> str:
        """The text written after ``offset`` (a value of ``mark()``)."""
        return self._read(offset)[1].decode("utf-8", errors="replace")

    def tracebacks_since(self, offset: int) -> list[HubTraceback]:
        """The tracebacks written after ``offset``; their ``line`` numbers count from the start of the file."""
        shift, data = self._read(offset)
        return [
            HubTraceback(t.summary, t.text, t.line + shift) for t in tracebacks(data.decode("utf-8", errors="replace"))
        ]


def context(path: StrPath, since_offset: int | None = None, lines: int = 40) -> str:
    """The text the plugin appends to its error messages (it starts with a newline).

    With ``since_offset`` (a ``LogWatcher.mark()``), a ``--- hub tracebacks ---`` section lists the tracebacks
    logged since then, if there are any; then comes ``--- <path> (last N lines) ---`` with the log's tail.
    """
    parts: list[str] = []
    if since_offset is not None:
        found = LogWatcher(path).tracebacks_since(since_offset)
        if found:
            parts.append("--- hub tracebacks ---\n" + "\n\n".join(t.text for t in found))
    parts.append(f"--- {path} (last {lines} lines) ---\n" + tail(read_text(path), lines))
    return "\n" + "\n".join(parts)
