"""Private folders and files: the one place the deployer creates anything only its user may read (secrets, and
throwaway folders such as the helm homes of ``deployer.chart_mirror``; the test toolkit in ``deployer.testing``
writes its test hub's TLS key itself).

- ``private_dir(prefix, parent)``: a new folder (mode 0700) in ``parent`` (default: ``ram_dir()``), removed with
  its content on every exit path (errors, Ctrl-C, and SIGTERM, which the CLI turns into an exception). A caller may
  rename it away inside the block (the export bundle does): then nothing is removed. Its name records its owner (see
  "Leftovers of a killed process" below).
- ``ram_dir(environ)``: where private folders go by default. An explicit ``TMPDIR`` (an existing folder) is
  honoured; otherwise ``/dev/shm`` when it is a writable folder and, on Linux, RAM-backed (tmpfs or ramfs, read from
  ``/proc/mounts``); otherwise the system's temporary folder (``tempfile.gettempdir()``). Decrypted values,
  kubeconfigs and cloud tokens so stay off persistent disk wherever the machine allows it.
- ``private_file(folder, data, prefix=, suffix=)``: a new file (0600) holding ``data`` (e.g. decrypted content),
  removed on every exit path.
- ``write_private(path, data, exclusive=False)``: write ``path`` with mode 0600 from the first byte (an existing
  file is narrowed to 0600 before anything is written); ``exclusive=True`` refuses an existing file (O_EXCL).
- ``replace_private(path, data)``: write a temporary 0600 file next to ``path`` and rename it over ``path``, so
  concurrent readers see either the old or the new content, never half of it (the exec plugin's token cache).
- ``make_shared(path)``: mode 0755, for what is meant to be read (and run) by others: a bundle's folder, a script.
- ``sweep(parent)``: remove the private folders in ``parent`` whose owner is dead (run by every ``private_dir``).

Why a folder on tmpfs, not memfd or pipes: helm (``-f``), kubectl and client-go (``KUBECONFIG``), the cloud CLIs
and exec plugins all take *paths*, read some files more than once, and run as separate processes (a pipe can be
read once; a memfd is Linux-only and its ``/proc/self/fd/N`` path works only in a process that inherited the
descriptor, which the tools' own children, such as exec plugins, are not given). A 0700 folder on tmpfs gives them
ordinary paths while keeping the plaintext in RAM, and it is removed on every normal exit path.

Leftovers of a killed process (SIGKILL, a power cut on a disk-backed folder): nothing can run at that moment, so
the next run cleans up. Every private folder's name carries its owner, ``<prefix>owner-<host>-<pid>-<start>-<random>``
(``host``: 6 hex digits of a hash of the host name; ``start``: the process's start time, field 22 of
``/proc/<pid>/stat``, 0 where there is no ``/proc``), written atomically by the ``mkdir`` itself, so there is no
moment when a folder exists without its owner. Every ``private_dir`` first sweeps its parent (one ``os.scandir``):
a folder is removed only if its name carries a valid owner tag of this host, it is a real folder (a symlink is
never followed) owned by this user, and its owner is dead: no such process, a zombie, or the pid now belongs to a
process with another start time (a reused pid). A live process's folder, a name without a valid tag (hostile or
not ours), another host's folder (a shared TMPDIR) or another user's folder is left alone. The export's staging
folder (``.OUTDIR.owner-...`` beside OUTDIR) is a private folder too, so the next export into the same parent sweeps
it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
SHARED_MODE = 0o755


def _bytes(data: bytes | str) -> bytes:
    return data.encode() if isinstance(data, str) else data


RAM_FILESYSTEMS = frozenset({"tmpfs", "ramfs"})
SHM = Path("/dev/shm")
PROC = Path("/proc")
# the owner tag ends every private folder's name; mkdtemp appends 8 of [a-z0-9_]
_OWNER = re.compile(r"owner-(?P<host>[0-9a-f]{6})-(?P<pid>[0-9]{1,10})-(?P<start>[0-9]{1,20})-[a-z0-9_]{8}\Z")
_READ_LIMIT = 4096  # /proc/<pid>/stat is a few hundred bytes
_MOUNTS_LIMIT = 4 * 1024 * 1024


def ram_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The default parent of private folders: ``$TMPDIR`` if set to a folder, else a RAM-backed ``/dev/shm``, else
    the system's temporary folder (``environ``: default ``os.environ``, only read)."""
    env = os.environ if environ is None else environ
    explicit = env.get("TMPDIR")
    if explicit and os.path.isdir(explicit):
        return Path(explicit)
    if _usable_shm():
        return SHM
    return Path(tempfile.gettempdir())


def _usable_shm() -> bool:
    if not (SHM.is_dir() and os.access(SHM, os.W_OK | os.X_OK)):
        return False
    if not sys.platform.startswith("linux"):
        return True
    try:
        with open(PROC / "mounts", "rb") as handle:
            mounts = handle.read(_MOUNTS_LIMIT).decode(errors="replace")
    except OSError:
        return False
    return fs_type(os.path.realpath(SHM), mounts) in RAM_FILESYSTEMS


def fs_type(path: str, mounts: str) -> str | None:
    """The file system type of ``path`` according to ``mounts`` (the text of ``/proc/mounts``): the type of the
    last-mounted entry with the longest mount point containing ``path``."""
    best, kind = -1, None
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= best:
            best, kind = len(point), fields[2]
    return kind


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, start time) of ``pid`` from ``/proc/<pid>/stat``, None if there is no such process."""
    try:
        with open(PROC / str(pid) / "stat", "rb") as handle:
            text = handle.read(_READ_LIMIT).decode(errors="replace")
    except OSError:
        return None
    fields = text.rpartition(")")[2].split()  # the command name (field 2) may hold spaces and parentheses
    try:
        return fields[0], int(fields[19])  # fields 3 and 22
    except (IndexError, ValueError):
        return None


def _has_proc() -> bool:
    return (PROC / "self" / "stat").exists()


@functools.lru_cache(maxsize=1)
def _host_tag() -> str:
    return hashlib.sha256(socket.gethostname().encode(errors="replace")).hexdigest()[:6]


def owner_tag(pid: int | None = None) -> str:
    """The owner part of a private folder's name for ``pid`` (default: this process)."""
    pid = os.getpid() if pid is None else pid
    stat = _proc_stat(pid) if _has_proc() else None
    return f"owner-{_host_tag()}-{pid}-{stat[1] if stat else 0}-"


def owner_alive(pid: int, start: int) -> bool:
    """Whether the process that created a folder tagged ``pid``/``start`` may still be running."""
    if pid <= 0:
        return True  # not a real owner: never swept on this evidence
    if _has_proc():
        stat = _proc_stat(pid)
        if stat is None:
            return False
        state, started = stat
        return state not in ("Z", "X") and (start == 0 or started == start)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # e.g. another user's process
    return True


def sweep(parent: Path) -> list[Path]:
    """Remove the private folders in ``parent`` whose owner is dead (the rules are in the module docstring);
    return what was removed."""
    uid = os.getuid() if hasattr(os, "getuid") else None
    removed: list[Path] = []
    try:
        entries = os.scandir(parent)
    except OSError:
        return removed
    with entries:
        for entry in entries:
            match = _OWNER.search(entry.name)
            if match is None or match["host"] != _host_tag():
                continue
            try:
                if not entry.is_dir(follow_symlinks=False):
                    continue
                if uid is not None and entry.stat(follow_symlinks=False).st_uid != uid:
                    continue
            except OSError:
                continue
            if owner_alive(int(match["pid"]), int(match["start"])):
                continue
            shutil.rmtree(entry.path, ignore_errors=True)  # never follows a symlink, even one swapped in now
            if not os.path.lexists(entry.path):
                removed.append(Path(entry.path))
    return removed


@contextlib.contextmanager
def private_dir(prefix: str = "deployer-", parent: Path | None = None) -> Iterator[Path]:
    """A new 0700 folder whose name records its owner, removed with its content when the block ends; stale
    folders of dead owners in the same parent are swept first (see the module docstring)."""
    parent = ram_dir() if parent is None else parent
    sweep(parent)
    folder = Path(tempfile.mkdtemp(prefix=prefix + owner_tag(), dir=parent))  # mkdtemp creates it 0700
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
