"""Private folders and files: the one place the deployer creates anything only its user may read (secrets, and
throwaway folders such as the helm homes of ``deployer.chart_mirror``; the test toolkit in ``deployer.testing``
writes its test hub's TLS key itself).

- ``private_dir(prefix, parent)``: a new folder (mode 0700) in ``parent`` (default: the system's temporary folder),
  removed with its content on every exit path (errors, Ctrl-C, and SIGTERM, which the CLI turns into an
  exception). A caller may rename it away inside the block (the export bundle does): then nothing is removed.
- ``private_file(folder, data, prefix=, suffix=)``: a new file (0600) holding ``data`` (e.g. decrypted content),
  removed on every exit path.
- ``write_private(path, data, exclusive=False)``: write ``path`` with mode 0600 from the first byte (an existing
  file is narrowed to 0600 before anything is written); ``exclusive=True`` refuses an existing file (O_EXCL).
- ``replace_private(path, data)``: write a temporary 0600 file next to ``path`` and rename it over ``path``, so
  concurrent readers see either the old or the new content, never half of it (the exec plugin's token cache).
- ``make_shared(path)``: mode 0755, for what is meant to be read (and run) by others: a bundle's folder, a script.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
SHARED_MODE = 0o755


def _bytes(data: bytes | str) -> bytes:
    return data.encode() if isinstance(data, str) else data


@contextlib.contextmanager
def private_dir(prefix: str = "deployer-", parent: Path | None = None) -> Iterator[Path]:
    """A new 0700 folder, removed with its content when the block ends (see the module docstring)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))  # mkdtemp creates it 0700
    try:
        os.chmod(folder, PRIVATE_DIR_MODE)  # whatever the umask
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def private_file(folder: Path, data: bytes | str, *, prefix: str = "private-", suffix: str = "") -> Iterator[Path]:
    """A new 0600 file in ``folder`` holding ``data``, removed when the block ends."""
    fd, name = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=suffix)  # mkstemp creates it 0600
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(_bytes(data))
        yield path
    finally:
        path.unlink(missing_ok=True)


def write_private(path: Path, data: bytes | str, *, exclusive: bool = False) -> Path:
    """Write ``path`` readable by this user only, from the first byte; ``exclusive``: fail if it exists."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), PRIVATE_FILE_MODE)  # O_CREAT's mode applies only to a new file
        handle.write(_bytes(data))
    return path


def replace_private(path: Path, data: bytes | str) -> Path:
    """Atomically replace ``path`` with a 0600 file holding ``data`` (the temporary file is never left behind)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(_bytes(data))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def make_shared(path: Path) -> Path:
    """Mode 0755: readable (and runnable, or enterable for a folder) by everyone."""
    os.chmod(path, SHARED_MODE)
    return path
