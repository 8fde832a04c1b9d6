"""deployer.private: private folders and files (modes from the first byte, removal on every exit path)."""

from __future__ import annotations

import os
import stat
import threading

import pytest

from deployer.private import make_shared, private_dir, private_file, replace_private, write_private


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
