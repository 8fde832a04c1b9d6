"""deployer.private: private folders and files (modes from the first byte, removal on every exit path)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from deployer.private import (
    SHM,
    fs_type,
    make_shared,
    owner_tag,
    private_dir,
    private_file,
    ram_dir,
    replace_private,
    sweep,
    write_private,
)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def loose_umask():
    old = os.umask(0)  # the modes must not depend on the umask
    try:
        yield
    finally:
        os.umask(old)


def test_private_dir_is_0700_and_removed(tmp_path, loose_umask) -> None:
    with private_dir("t-", parent=tmp_path) as folder:
        assert folder.parent == tmp_path and folder.name.startswith("t-") and mode(folder) == 0o700
        (folder / "inside").write_text("x")
    assert not folder.exists()


def test_private_dir_is_removed_when_the_body_fails(tmp_path) -> None:
    with pytest.raises(KeyboardInterrupt), private_dir(parent=tmp_path) as folder:
        raise KeyboardInterrupt
    assert not folder.exists() and list(tmp_path.iterdir()) == []


def test_private_dir_renamed_away_is_kept(tmp_path) -> None:
    with private_dir(parent=tmp_path) as folder:
        (folder / "f").write_text("x")
        os.replace(folder, tmp_path / "final")
    assert (tmp_path / "final" / "f").read_text() == "x"


def test_private_file_is_0600_and_removed(tmp_path, loose_umask) -> None:
    with private_file(tmp_path, b"plain\r\n\x00bytes", prefix="decrypted-", suffix=".yaml") as path:
        assert path.parent == tmp_path and path.name.startswith("decrypted-") and path.suffix == ".yaml"
        assert mode(path) == 0o600 and path.read_bytes() == b"plain\r\n\x00bytes"
    assert not path.exists()


def test_write_private_narrows_an_existing_file_before_writing(tmp_path, loose_umask) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text("old, world-readable")
    os.chmod(path, 0o644)
    assert write_private(path, "new") == path
    assert mode(path) == 0o600 and path.read_text() == "new"


def test_write_private_exclusive_refuses_an_existing_file(tmp_path, loose_umask) -> None:
    path = write_private(tmp_path / "values.yaml", b"a: 1\n", exclusive=True)
    assert mode(path) == 0o600
    with pytest.raises(FileExistsError):
        write_private(path, b"b: 2\n", exclusive=True)
    assert path.read_bytes() == b"a: 1\n"


def test_replace_private_is_atomic_and_leaves_no_temporary_file(tmp_path, loose_umask) -> None:
    path = tmp_path / "token.json"
    path.write_text("0" * 100_000)
    seen: set[str] = set()
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            seen.add(path.read_text()[:1] + str(len(path.read_text())))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(1, 30):
            replace_private(path, str(i % 10) * 100_000)
    finally:
        stop.set()
        reader.join()
    assert all(s.endswith("100000") for s in seen)  # never a half-written file
    assert mode(path) == 0o600 and [p.name for p in tmp_path.iterdir()] == ["token.json"]


def test_replace_private_failing_leaves_no_temporary_file(tmp_path) -> None:
    target = tmp_path / "is-a-folder"
    (target / "child").mkdir(parents=True)
    with pytest.raises(OSError):
        replace_private(target, "x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["is-a-folder"]


def test_make_shared(tmp_path) -> None:
    script = tmp_path / "deploy.sh"
    script.write_text("#!/bin/sh\n")
    os.chmod(script, 0o600)
    make_shared(script)
    assert mode(script) == 0o755


# --- where private folders go, and the sweep of a killed process's leftovers ---

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


@pytest.fixture
def dead_tag() -> str:
    """The owner tag of a process that has exited (and been reaped)."""
    proc = subprocess.Popen(SLEEPER)
    tag = owner_tag(proc.pid)
    proc.kill()
    proc.wait()
    return tag


@pytest.fixture
def live_tag():
    proc = subprocess.Popen(SLEEPER)
    try:
        yield owner_tag(proc.pid)
    finally:
        proc.kill()
        proc.wait()


def stale(parent: Path, name: str) -> Path:
    folder = parent / name
    folder.mkdir(mode=0o700)
    (folder / "decrypted-x.yaml").write_text("password: hunter2\n")
    return folder


def test_private_dir_name_records_its_owner(tmp_path) -> None:
    with private_dir("t-", parent=tmp_path) as folder:
        assert folder.name.startswith("t-" + owner_tag())
        if sys.platform.startswith("linux"):
            start = int(owner_tag().split("-")[3])
            assert start > 0  # the start time really was read from /proc/<pid>/stat


def test_a_dead_owners_folder_is_swept_by_the_next_private_dir(tmp_path, dead_tag) -> None:
    left = stale(tmp_path, f"deployer-{dead_tag}abcd_123")
    hidden = stale(tmp_path, f".out.{dead_tag}zzzzzzzz")  # an export's staging folder
    with private_dir("t-", parent=tmp_path) as folder:
        assert sorted(tmp_path.iterdir()) == [folder]
    assert not left.exists() and not hidden.exists()


def test_a_live_owners_folder_is_kept(tmp_path, live_tag) -> None:
    mine = stale(tmp_path, f"deployer-{owner_tag()}aaaaaaaa")
    other = stale(tmp_path, f"deployer-{live_tag}bbbbbbbb")
    assert sweep(tmp_path) == []
    assert mine.exists() and other.exists()


def test_a_reused_pid_with_another_start_time_is_swept(tmp_path, live_tag) -> None:
    _, host, pid, start, _ = live_tag.split("-")
    if start == "0":
        pytest.skip("no /proc: start times are unknown here")
    reused = stale(tmp_path, f"deployer-owner-{host}-{pid}-{int(start) + 1}-cccccccc")
    assert sweep(tmp_path) == [reused] and not reused.exists()


@pytest.mark.parametrize(
    "name",
    [
        "deployer-abcdefgh",  # no owner tag: not ours, or from before owners were recorded
        "deployer-owner-zzzzzz-1-1-abcdefgh",  # a host tag that is not hex
        "deployer-owner-{host}-12x4-1-abcdefgh",  # a pid that is not a number
        "deployer-owner-{host}-123-1-abcdefgh.bak",  # the tag not at the end
        "deployer-owner-{host}-0-1-abcdefgh",  # pid 0 is not a process
        "deployer-owner-000000-999999999-1-abcdefgh",  # another host's folder (a shared TMPDIR): its pid means nothing
    ],
)
def test_a_folder_without_a_valid_owner_is_kept(tmp_path, name) -> None:
    host = owner_tag().split("-")[1]
    if host == "000000":
        pytest.skip("this host's tag is 000000")
    folder = stale(tmp_path, name.format(host=host))
    assert sweep(tmp_path) == [] and folder.exists()


def test_a_symlink_named_like_a_stale_folder_is_never_followed(tmp_path, dead_tag) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious").write_text("keep me")
    parent = tmp_path / "parent"
    parent.mkdir()
    link = parent / f"deployer-{dead_tag}dddddddd"
    link.symlink_to(victim, target_is_directory=True)
    plain_file = parent / f"deployer-{dead_tag}eeeeeeee"
    plain_file.write_text("a file, not a folder")
    assert sweep(parent) == []
    assert link.is_symlink() and (victim / "precious").read_text() == "keep me" and plain_file.exists()
    # a symlink inside a stale folder: the folder goes, the target stays
    folder = stale(parent, f"deployer-{dead_tag}ffffffff")
    (folder / "link").symlink_to(victim, target_is_directory=True)
    assert sweep(parent) == [folder]
    assert (victim / "precious").read_text() == "keep me"


def test_sweep_of_a_missing_parent_is_a_no_op(tmp_path) -> None:
    assert sweep(tmp_path / "missing") == []


def test_ram_dir_honours_an_explicit_tmpdir(tmp_path) -> None:
    assert ram_dir({"TMPDIR": str(tmp_path)}) == tmp_path
    # a TMPDIR that is not a folder is skipped, as tempfile does
    assert ram_dir({"TMPDIR": str(tmp_path / "missing")}) == ram_dir({})


MOUNTS = """\
sysfs /sys sysfs rw 0 0
/dev/sda1 / ext4 rw 0 0
devtmpfs /dev devtmpfs rw 0 0
tmpfs /dev/shm tmpfs rw,nosuid,nodev 0 0
/dev/sdb1 /mnt/my\\040disk ext4 rw 0 0
"""


def test_fs_type_picks_the_longest_mount_point() -> None:
    assert fs_type("/dev/shm", MOUNTS) == "tmpfs"
    assert fs_type("/dev/shm/x", MOUNTS) == "tmpfs"
    assert fs_type("/dev/shmx", MOUNTS) == "devtmpfs"
    assert fs_type("/tmp", MOUNTS) == "ext4"
    assert fs_type("/mnt/my disk/a", MOUNTS) == "ext4"
    assert fs_type("/dev/shm", MOUNTS + "/dev/sdc1 /dev/shm ext4 rw 0 0\n") == "ext4"  # mounted over it


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux: /dev/shm and /proc/mounts")
def test_default_parent_is_dev_shm_when_tmpdir_is_unset() -> None:
    mounts = Path("/proc/mounts").read_text()
    if not (SHM.is_dir() and os.access(SHM, os.W_OK) and fs_type(os.path.realpath(SHM), mounts) == "tmpfs"):
        pytest.skip("/dev/shm is not a writable tmpfs on this machine")
    assert ram_dir({}) == SHM
    # the real default, in a process whose environment has no TMPDIR
    env = {k: v for k, v in os.environ.items() if k != "TMPDIR"}
    code = "from deployer.private import private_dir\nwith private_dir() as f: print(f)"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    folder = Path(done.stdout.strip())
    assert folder.parent == SHM and folder.name.startswith("deployer-owner-") and not folder.exists()
