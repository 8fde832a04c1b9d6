"""Whether ``export`` may write to OUTDIR, decided before any work: every refusal a ``UsageError`` (exit 2), one line
saying why and what to do.

``check_outdir(root, outdir, decrypt=, force=, env=, runner=)`` returns OUTDIR resolved (symlinks followed) or
refuses it. ``probe`` is the one place that looks at the filesystem (``lstat``, ``access``, a bounded ``scandir``
walk; it never opens a file, so a FIFO cannot make it wait); ``refusal`` decides from what it found, without I/O.
Git is asked (through ``deployer.planning.git``) only when its answer matters. Refused:

- a kernel filesystem: under /proc, /sys or /dev (except /dev/shm, a RAM-backed folder for files);
- a symlink to nothing (OUTDIR itself or the first of its folders that exists), a symlink loop;
- anything but a folder as OUTDIR (a file, FIFO, socket, device), or a file where a folder above it should be;
- a folder above it that this user cannot write to (the bundle is assembled beside OUTDIR, then renamed);
- inside a ``.git`` folder (of any repository) or a bare repository;
- the config repository (``root``), a folder holding it, or any part of it except a folder git ignores;
- an existing OUTDIR holding a git repository (a ``.git`` entry at any depth: ``--force`` would delete it), or more
  than ``MAX_ENTRIES`` entries with ``--force`` (more than any export holds; not walked further);
- an existing non-empty OUTDIR without ``--force``;
- with ``--decrypt``: OUTDIR in any git work tree unless git ignores both OUTDIR and the staging folder beside it
  (``.OUTDIR.*``), so ``git add -A`` never picks up plaintext. Without ``--decrypt`` a folder of a work tree outside
  the config repository is allowed: the bundle then holds no plaintext secret (secret files stay encrypted, as in
  the repository) and committing a bundle, e.g. to hand it over, is a fair use. Where git must be asked and cannot
  be (not installed, failing), the export is refused and the message says why.

``writing(outdir)`` wraps the writes themselves: an ``OSError`` there (a full disk, a folder made read-only meanwhile)
becomes a ``UsageError`` naming the path, never a traceback.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from deployer.errors import UsageError

if TYPE_CHECKING:
    from deployer.run import Runner

MAX_ENTRIES = 10_000  # an export holds a few hundred files; --force walks no further than this
KERNEL_FILESYSTEMS = (Path("/proc"), Path("/sys"), Path("/dev"))
FILE_FOLDERS = (Path("/dev/shm"),)  # under a kernel filesystem's folder, but a place for files
_ESCAPED = {code: repr(chr(code))[1:-1] for code in (*range(32), 127)}


def show(path: Path | str) -> str:
    """A path for a one-line message: control characters escaped."""
    return str(path).translate(_ESCAPED)


@dataclass(frozen=True)
class Facts:
    """What the filesystem says about OUTDIR (``probe``)."""

    given: Path  # as given, made absolute (neither normalised nor resolved)
    path: Path | None  # resolved; None when it cannot be (a symlink loop)
    dangling: Path | None = None  # a symlink to nothing on the way to OUTDIR
    kind: str | None = None  # OUTDIR itself when it exists: "folder", "a file", "a FIFO", ...
    blocker: tuple[Path, str] | None = None  # the first existing entry above OUTDIR that is not a folder
    parent: Path | None = None  # the existing folder the bundle is assembled in (or its missing parents made in)
    writable: bool = True  # ``parent`` can be written to and entered
    git_dir: Path | None = None  # OUTDIR is inside this .git folder (or bare repository)
    repository: Path | None = None  # a .git entry inside OUTDIR
    entries: int = 0  # entries inside OUTDIR, counted up to MAX_ENTRIES + 1
    work_tree: bool = False  # some folder above OUTDIR holds a .git entry: git must say whether it is ignored


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISREG(mode):
        return "a file"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a folder"


def _is_git_dir(folder: Path) -> bool:
    """A .git folder, or a bare repository (HEAD, objects/ and refs/ in it)."""
    return folder.name == ".git" or (
        (folder / "HEAD").is_file() and (folder / "objects").is_dir() and (folder / "refs").is_dir()
    )


def _walk(top: Path) -> tuple[Path | None, int]:
    """The first .git entry (or bare repository) inside ``top`` and the entries counted, up to MAX_ENTRIES + 1.
    Symlinks are not followed (``--force`` removes a link, never what it points to)."""
    count = 0
    folders = [top]
    while folders:
        folder = folders.pop()
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError:
            continue  # unreadable: removing it fails later, and that is reported then
        names = {e.name for e in entries}
        if folder != top and {"HEAD", "objects", "refs"} <= names:
            return folder, count
        for entry in entries:
            count += 1
            if entry.name == ".git":
                return Path(entry.path), count
            if count > MAX_ENTRIES:
                return None, count
            if entry.is_dir(follow_symlinks=False):
                folders.append(Path(entry.path))
    return None, count


def probe(outdir: Path) -> Facts:
    """Look at OUTDIR and the folders above it; see ``Facts``. Never opens a file."""
    given = Path(outdir).absolute()  # not normalised: ".." after a symlink is resolved by resolve(), as the OS does
    existing = next(p for p in (given, *given.parents) if os.path.lexists(p))  # "/" always exists
    if existing.is_symlink() and not existing.exists():
        return Facts(given, None, dangling=existing)
    try:
        path = given.resolve(strict=False)
        os.stat(path)  # a loop shows here when OUTDIR itself is one
    except RuntimeError:
        return Facts(given, None)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return Facts(given, None)
    git_dir = next((p for p in (path, *path.parents) if _is_git_dir(p)), None)
    work_tree = any(os.path.lexists(p / ".git") for p in path.parents)
    try:
        mode: int | None = os.lstat(path).st_mode
    except OSError:
        mode = None
    if mode is not None:
        kind = _kind(mode)
        repository, entries = _walk(path) if kind == "folder" else (None, 0)
        parent = path.parent
        return Facts(
            given,
            path,
            kind=kind,
            parent=parent,
            writable=os.access(parent, os.W_OK | os.X_OK),
            git_dir=git_dir,
            repository=repository,
            entries=entries,
            work_tree=work_tree,
        )
    above = next(p for p in path.parents if os.path.lexists(p))
    kind = _kind(os.stat(above).st_mode)
    if kind != "folder":
        return Facts(given, path, blocker=(above, kind), git_dir=git_dir, work_tree=work_tree)
    return Facts(
        given, path, parent=above, writable=os.access(above, os.W_OK | os.X_OK), git_dir=git_dir, work_tree=work_tree
    )


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def refusal(facts: Facts, root: Path, *, force: bool) -> str | None:
    """Why OUTDIR cannot be written (one line), or None; everything but what git must answer. Pure."""
    shown = show(facts.given)
    if facts.dangling is not None:
        return f"{show(facts.dangling)} is a symlink to nothing; fix or remove the link, or export to another folder"
    if facts.path is None:
        return f"{shown}: a symlink loop; export to another folder"
    path = facts.path
    for kernel in KERNEL_FILESYSTEMS:
        if _within(path, kernel) and not any(_within(path, ok) for ok in FILE_FOLDERS):
            return f"{shown}: is under {kernel}, a kernel filesystem, not a place for files; export to a folder on disk"
    if facts.git_dir is not None:
        return f"{shown}: is inside the git folder {show(facts.git_dir)}; export to a folder outside it"
    if path == root or path in root.parents:
        what = "is the config repository" if path == root else f"holds the config repository {show(root)}"
        return f"{shown}: {what}; export to a folder outside it"
    if facts.kind is not None and facts.kind != "folder":
        return f"{shown}: is {facts.kind}, not a folder; choose a folder (new or empty)"
    if facts.blocker is not None:
        where, kind = facts.blocker
        return f"{show(where)} is {kind}, not a folder, so {shown} cannot be made; choose another folder"
    if not facts.writable:
        return f"{show(facts.parent or path)}: cannot write there (read-only or not yours); choose a writable folder"
    if facts.repository is not None:
        return (
            f"{shown}: holds a git repository ({show(facts.repository)}), which --force would delete; "
            "export to another folder"
        )
    if facts.entries and not force:
        return f"{shown}: exists and is not empty; choose an empty folder or pass --force to replace it"
    if facts.entries > MAX_ENTRIES:
        return (
            f"{shown}: holds more than {MAX_ENTRIES} entries, far more than an export; --force replaces only "
            "folders it can check whole: delete it yourself or choose another folder"
        )
    return None


def check_outdir(
    root: Path, outdir: Path, *, decrypt: bool, force: bool, env: Mapping[str, str], runner: Runner
) -> Path:
    """OUTDIR resolved, if ``export`` may write it (see the module docstring); else ``UsageError``."""
    from deployer.planning.git import Git

    root = root.resolve()
    facts = probe(outdir)
    why = refusal(facts, root, force=force)
    if why is not None:
        raise UsageError(why)
    assert facts.path is not None and facts.parent is not None  # refusal() checked both
    path, shown = facts.path, show(facts.given)
    in_root = _within(path, root)
    if not in_root and not (decrypt and facts.work_tree):
        return path
    git = Git(facts.parent, runner, env, purpose="checking whether git ignores OUTDIR")
    top = git.toplevel()
    tracked = top is not None and _within(path, top.resolve())
    if in_root and not (tracked and git.ignored(f"{path}/")):
        why = "git does not ignore it" if tracked else "that is no git work tree, so nothing in it is ignored"
        raise UsageError(
            f"{shown}: is inside the config repository {show(root)} and {why}; "
            "export to a folder outside it (or to one listed in .gitignore)"
        )
    if decrypt and tracked:
        staging = f"{path.parent}/.{path.name}.staging/"  # the bundle is assembled in .NAME.* beside OUTDIR
        if not git.ignored(f"{path}/"):
            why = f"is in the git work tree {show(top or path)} and git does not ignore it"
        elif not git.ignored(staging):
            why = f"is ignored by git, but the folder the bundle is assembled in (.{show(path.name)}.*) is not"
        else:
            return path
        raise UsageError(
            f"{shown}: {why}; --decrypt never writes plaintext where `git add -A` would pick it up: export to an "
            "ignored folder (e.g. exports/NAME with exports/ in .gitignore) or outside the work tree"
        )
    return path


@contextlib.contextmanager
def writing(outdir: Path) -> Iterator[None]:
    """Turn an ``OSError`` writing the bundle (in OUTDIR's folder) into a ``UsageError`` naming the path."""
    try:
        yield
    except OSError as exc:
        name = os.fsdecode(exc.filename) if isinstance(exc.filename, (str, bytes, os.PathLike)) else None
        if name is None or not _within(Path(os.path.abspath(name)), outdir.parent):
            raise
        reason = exc.strerror or str(exc)
        raise UsageError(f"{show(name)}: {reason}; nothing was exported to {show(outdir)}") from None
