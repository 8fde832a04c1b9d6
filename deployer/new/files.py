"""Writing a ``deployer new`` result all at once or not at all.

``written(root, files)`` refuses a file that exists (unless it ``replaces`` one), then writes every file and
yields; if writing fails or the block raises (a validation that fails, Ctrl-C, SIGTERM), it removes what it
created (folders included) and puts back the content of the files it replaced.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from deployer.errors import UsageError


@dataclass(frozen=True)
class NewFile:
    """A file to write: ``rel`` is repo-relative (POSIX); ``replaces``: it exists and is rewritten (cluster.yaml)."""

    rel: str
    data: bytes
    replaces: bool = False


def refuse_existing(root: Path, files: Sequence[NewFile]) -> None:
    """``UsageError`` naming the first file that would be created but already exists."""
    for file in files:
        if not file.replaces and os.path.lexists(root / file.rel):
            raise UsageError(f"{file.rel}: already exists: remove it first, or choose another name")


@contextlib.contextmanager
def written(root: Path, files: Sequence[NewFile]) -> Iterator[None]:
    """Write ``files`` under ``root``; undo everything if writing or the block fails (see the module docstring)."""
    refuse_existing(root, files)
    created: list[Path] = []  # files and folders, in creation order
    replaced: list[tuple[Path, bytes]] = []
    try:
        for file in files:
            path = root / file.rel
            if file.replaces:
                replaced.append((path, path.read_bytes()))
                path.write_bytes(file.data)
                continue
            missing = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
            for folder in reversed(missing):
                folder.mkdir()
                created.append(folder)
            with open(path, "xb") as handle:  # never over a file that appeared meanwhile
                created.append(path)
                handle.write(file.data)
        yield
    except BaseException:
        for path, old in reversed(replaced):
            path.write_bytes(old)
        for path in reversed(created):
            with contextlib.suppress(OSError):
                if path.is_dir():
                    path.rmdir()
                else:
                    path.unlink()
        raise
