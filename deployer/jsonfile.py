"""Writing the JSON report files the workflow's gate reads (``--report FILE``): parent folders are created.

``check_writable`` is what every command that writes an output file (``--report``, ``--comment``,
``$GITHUB_OUTPUT``, ``$GITHUB_STEP_SUMMARY``) calls BEFORE it does anything: a path that cannot be written (a
folder, a read-only folder, a parent that is a file, a FIFO nobody reads, /proc or /sys) is bad input (exit 2)
named in one line, never a traceback after a deploy has run. Nothing is created by the check.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path
from typing import Any

from deployer.errors import UsageError

KERNEL_FILE_SYSTEMS = ("proc", "sys")


def write_json(path: str | Path, data: Any) -> None:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot write the report ({exc.strerror or exc})") from None


def check_writable(path: str | Path, what: str) -> None:
    """Raise ``UsageError`` naming ``what`` (e.g. ``--report out.json``) when ``path`` cannot be written to (or
    created, with its missing parent folders). Writes nothing."""
    problem = _problem(Path(path))
    if problem is not None:
        raise UsageError(f"{what}: {problem}; give a file path in a folder you can write to")


def _problem(path: Path) -> str | None:
    absolute = Path(os.path.abspath(path))
    if absolute.parts[1:2] and absolute.parts[1] in KERNEL_FILE_SYSTEMS:
        return f"is in /{absolute.parts[1]}, a kernel file system, not a place for files"
    try:
        info = os.stat(absolute)
    except (FileNotFoundError, NotADirectoryError):  # missing, or under a file
        return _creatable(absolute)
    except OSError as exc:
        return f"cannot be reached ({exc.strerror})"
    if stat.S_ISDIR(info.st_mode):
        return "is a folder, not a file"
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISCHR(info.st_mode) or stat.S_ISFIFO(info.st_mode)):
        return "is not a regular file"
    try:
        fd = os.open(absolute, os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            return "is a FIFO that nobody reads"
        return f"cannot be written ({exc.strerror})"
    os.close(fd)
    return None


def _creatable(absolute: Path) -> str | None:
    """Why ``absolute`` (which does not exist) cannot be created, with its missing parents; None if it can."""
    folder = absolute.parent
    while not os.path.lexists(folder) and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        return f"{folder} is not a folder, so the file cannot be created under it"
    if not os.access(folder, os.W_OK | os.X_OK):  # access(2) also says no on a read-only file system
        return f"cannot create files in {folder} (permission denied or read-only)"
    return None
