"""``export``'s OUTDIR is checked before any work: a repository (or part of one), plaintext where git would pick it
up, a kernel filesystem, a file, a FIFO, a symlink to nothing or a read-only folder is refused with exit 2 and one
line, and nothing is written. Through the real CLI, as a child process (a hang would show as a timeout)."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from deployer.errors import UsageError
from deployer.export.outdir import Facts, refusal, writing
from helpers import run_deployer

SECRET = "MINI-SECRET-MARKER-4711"  # the mini repository's decrypted secret (tests/conftest.py)


def export(root: Path, outdir: Path | str, *flags: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return run_deployer("--repo", str(root), "export", "c1", "h1", str(outdir), *flags, env=env, timeout=60)


def git(folder: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True)


def refused(done: subprocess.CompletedProcess, *words: str) -> str:
    """The one error line of an export refused with exit 2 (--decrypt's plaintext warning comes only after a bundle
    was written)."""
    lines = done.stderr.splitlines()
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert len(lines) == 1, done.stderr
    assert all(w in lines[0] for w in words), done.stderr
    return lines[0]


def nothing_written(parent: Path, name: str) -> None:
    """No staging folder beside ``name`` in ``parent``, and no plaintext secret anywhere under it."""
    assert [p for p in parent.iterdir() if p.name.startswith(f".{name}.")] == []
    for path in parent.rglob("*"):
        if path.is_file() and not path.is_symlink() and path.stat().st_size < 1_000_000:
            assert SECRET.encode() not in path.read_bytes(), path


@pytest.fixture
def env(demo_key_env, tmp_path) -> dict[str, str]:
    return {**demo_key_env, "HOME": str(tmp_path)}


@pytest.fixture
def git_repo(mini_repo) -> Path:
    """The mini config repository as a git work tree ignoring ``exports/``."""
    (mini_repo / ".gitignore").write_text("/exports/\n")
    git(mini_repo, "init", "-q")
    return mini_repo


def test_git_folder_directly_or_through_a_symlink_is_refused(git_repo, tmp_path, env):
    head = (git_repo / ".git/HEAD").read_bytes()
    link = tmp_path / "innocent"
    link.symlink_to(git_repo / ".git")
    for outdir in (git_repo / ".git", git_repo / ".git/objects/new", link, link / "hooks"):
        refused(export(git_repo, outdir, "--force", env=env), "inside the git folder")
    assert (git_repo / ".git/HEAD").read_bytes() == head and (git_repo / ".git/objects").is_dir()
    nothing_written(git_repo, ".git")
    # a bare repository, found by its layout rather than its name
    bare = tmp_path / "bare.repo"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    refused(export(git_repo, bare / "refs/x", "--force", env=env), "inside the git folder", str(bare))


def test_outdir_holding_a_repository_is_refused_even_with_force(mini_repo, tmp_path, env):
    outdir = tmp_path / "old-exports"
    (outdir / "deep/project").mkdir(parents=True)
    git(outdir / "deep/project", "init", "-q")
    for flags in ((), ("--force",)):
        refused(export(mini_repo, outdir, *flags, env=env), "holds a git repository", "deep/project/.git")
    assert (outdir / "deep/project/.git/HEAD").is_file()
    # a .git file (a submodule's or a linked work tree's) counts too
    shutil.rmtree(outdir / "deep")
    (outdir / ".git").write_text("gitdir: /elsewhere\n")
    refused(export(mini_repo, outdir, "--force", env=env), "holds a git repository")
    assert (outdir / ".git").is_file()
    nothing_written(tmp_path, outdir.name)


def test_the_config_repository_or_any_part_of_it_is_refused(mini_repo, tmp_path, env):
    # not a git work tree: nothing in it is ignored
    for outdir in (mini_repo, mini_repo.parent, mini_repo / "config", mini_repo / "out", mini_repo / "charts/new"):
        refused(export(mini_repo, outdir, "--force", env=env), "the config repository")
        assert not (mini_repo / "out").exists() and not (mini_repo / "charts").exists()
    assert (mini_repo / "config/clusters/c1/cluster.yaml").is_file()
    nothing_written(mini_repo, "out")


def test_decrypt_into_the_work_tree_only_where_git_ignores_it(git_repo, tmp_path, env):
    # not ignored: refused with and without --decrypt (inside the config repository)
    for flags in (("--decrypt",), ()):
        refused(export(git_repo, git_repo / "bundle", *flags, env=env), "git does not ignore it")
        assert not (git_repo / "bundle").exists()
        nothing_written(git_repo, "bundle")
    # ignored (exports/ in .gitignore): written, decrypted
    done = export(git_repo, git_repo / "exports/h1", "--decrypt", env=env)
    assert done.returncode == 0, done.stderr
    assert SECRET in (git_repo / "exports/h1/values/h1.secret.values.yaml").read_text()
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"], cwd=git_repo, capture_output=True, text=True
    )
    assert "exports" not in status.stdout


def test_decrypt_into_a_bigger_work_tree_needs_an_ignored_folder(mini_repo, tmp_path, env):
    # the config repository is a folder of a bigger work tree; OUTDIR in that work tree, outside the config repository
    top = tmp_path
    git(top, "init", "-q")
    (top / ".gitignore").write_text("/ignored/\n/only-this/\n")
    refused(export(mini_repo, top / "handover", "--decrypt", env=env), "git does not ignore it", "git add -A")
    assert not (top / "handover").exists()
    nothing_written(top, "handover")
    # the bundle is assembled beside OUTDIR: its folder must be ignored too
    refused(export(mini_repo, top / "only-this", "--decrypt", env=env), "is assembled in", ".only-this.*")
    nothing_written(top, "only-this")
    done = export(mini_repo, top / "ignored/h1", "--decrypt", env=env)
    assert done.returncode == 0, done.stderr
    # without --decrypt the bundle holds no plaintext: a folder of the work tree is fine (documented choice)
    done = export(mini_repo, top / "handover", env=env)
    assert done.returncode == 0, done.stderr
    assert SECRET not in (top / "handover/values/enc-h1.secret.values.yaml").read_text()


def test_git_missing_where_it_must_be_asked_is_refused(git_repo, tmp_path, env):
    bare_path = tmp_path / "no-git-bin"
    bare_path.mkdir()
    done = export(git_repo, git_repo / "exports/h1", "--decrypt", env={**env, "PATH": str(bare_path)})
    refused(done, "git is not installed")
    assert not (git_repo / "exports").exists()


@pytest.mark.parametrize("outdir", ["/proc/self/deployer-export", "/sys/kernel/deployer-export", "/dev/deployer-x"])
def test_kernel_filesystems_are_refused(mini_repo, env, outdir):
    refused(export(mini_repo, outdir, "--force", env=env), "kernel filesystem")
    assert not os.path.lexists(outdir)


def test_under_a_regular_file_or_a_fifo_is_refused_at_once(mini_repo, tmp_path, env):
    (tmp_path / "notes.txt").write_text("mine\n")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    refused(export(mini_repo, tmp_path / "notes.txt/out", env=env), "notes.txt is a file, not a folder")
    refused(export(mini_repo, tmp_path / "notes.txt", "--force", env=env), "is a file, not a folder")
    refused(export(mini_repo, fifo, "--force", env=env), "is a FIFO, not a folder")  # no hang: never opened
    refused(export(mini_repo, fifo / "out", "--force", env=env), "pipe is a FIFO, not a folder")
    assert (tmp_path / "notes.txt").read_text() == "mine\n" and fifo.is_fifo()
    nothing_written(tmp_path, "notes.txt")
    nothing_written(tmp_path, "pipe")


def test_a_symlink_to_nothing_is_refused(mini_repo, tmp_path, env):
    link = tmp_path / "dangling"
    link.symlink_to(tmp_path / "nowhere/deeper")
    for outdir in (link, link / "sub"):
        refused(export(mini_repo, outdir, env=env), "is a symlink to nothing")
    assert not (tmp_path / "nowhere").exists()
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    refused(export(mini_repo, loop, env=env), "symlink")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders: the mode check cannot be shown")
def test_a_read_only_folder_is_refused(mini_repo, tmp_path, env):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        refused(export(mini_repo, locked / "out", env=env), "cannot write there")
        refused(export(mini_repo, locked / "a/b", env=env), "cannot write there")
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o755)


def test_read_only_refusal_and_write_errors_in_the_library():
    # the decision itself, as root cannot see it through the CLI, and an OSError while writing the bundle
    facts = Facts(Path("/srv/out"), Path("/srv/out"), parent=Path("/srv"), writable=False)
    assert refusal(facts, Path("/repo"), force=False) == (
        "/srv: cannot write there (read-only or not yours); choose a writable folder"
    )
    full = r"^/srv/.out.x/values: No space left on device; nothing was exported"
    with pytest.raises(UsageError, match=full), writing(Path("/srv/out")):
        raise OSError(errno.ENOSPC, "No space left on device", "/srv/.out.x/values")
    with pytest.raises(OSError), writing(Path("/srv/out")):  # elsewhere: not the bundle's folder, not translated
        raise OSError(errno.EACCES, "Permission denied", "/repo/config/x")
