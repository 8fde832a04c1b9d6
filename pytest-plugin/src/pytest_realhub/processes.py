"""Finding and ending the processes a test session started (Linux ``/proc``; elsewhere only what the hub
cleans up itself and the pids we hold).

Every process started for a hub carries one environment variable, ``PYTEST_REALHUB=<owner>:<launcher>-<hub>``:
the proxy (it inherits the hub's environment), every single-user server (``Spawner.environment``), every managed
service (its ``environment``), and the fork server that starts hubs (``<owner>:<launcher>-``). The hub process
itself is forked, not executed, so ``/proc`` shows the fork server's value for it; it is found by its pid.
``<owner>`` is the pid and start time of the process that owns them (pytest), so a process whose owner is gone
(pytest was SIGKILLed) is recognised by the next session and ended (``sweep_orphans``), while the processes of
other sessions running at the same time are left alone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable
from pathlib import Path

MARKER = "PYTEST_REALHUB"
PROC = Path("/proc")


def start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (``/proc/<pid>/stat`` field 22), None if unknown."""
    try:
        return (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def owner_id(pid: int | None = None) -> str:
    """``<pid>.<start time>`` of ``pid`` (default: this process): unique even when pids are reused."""
    pid = os.getpid() if pid is None else pid
    return f"{pid}.{start_time(pid) or 0}"


def marker_value(owner: str, hub: str = "") -> str:
    return f"{owner}:{hub}"


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def owner_alive(owner: str) -> bool:
    pid_text, _, started = owner.partition(".")
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    return alive(pid) and (start_time(pid) or "0") == started


def marked() -> dict[int, str]:
    """Every process of this user carrying the marker, with its value (this process excluded)."""
    needle = f"{MARKER}=".encode()
    found: dict[int, str] = {}
    for entry in PROC.glob("[0-9]*"):
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle not in environ:
            continue
        for item in environ.split(b"\0"):
            if item.startswith(needle):
                found[int(entry.name)] = item[len(needle) :].decode(errors="replace")
                break
    found.pop(os.getpid(), None)
    return found


def marked_by(value_prefix: str) -> set[int]:
    """Processes whose marker starts with ``value_prefix`` (a hub's ``<owner>:<hub>``, or a session's ``<owner>:``)."""
    return {pid for pid, value in marked().items() if value.startswith(value_prefix) and alive(pid)}


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` in the process tree."""
    parents: dict[int, int] = {}
    for entry in PROC.glob("[0-9]*"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier and p not in found}
        found |= frontier
    return found


def terminate(pids: Iterable[int], grace: float) -> set[int]:
    """SIGTERM ``pids``, SIGKILL those still alive after ``grace`` seconds; returns the ones that were alive."""
    pids = {p for p in pids if alive(p)}
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    end = time.monotonic() + grace
    while time.monotonic() < end and any(alive(p) for p in pids):
        time.sleep(0.02)
    for pid in pids:
        if alive(pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    return pids


def sweep_orphans(grace: float = 2.0) -> set[int]:
    """End the processes left by sessions whose pytest is gone (SIGKILLed, OOM-killed); returns their pids."""
    if not PROC.is_dir():
        return set()
    stale = {pid for pid, value in marked().items() if not owner_alive(value.partition(":")[0])}
    return terminate(stale, grace)
