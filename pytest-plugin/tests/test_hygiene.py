"""No process outlives the session that started it, whatever way the session ends.

Each case runs a real pytest session (a child process) whose test starts a hub with a managed service and a
running single-user server, records every pid the hub started, then ends the way the case says. Afterwards no
process of that session may be left: neither the recorded ones nor any other carrying the session's marker.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pytest_realhub.processes import alive, marked, owner_alive

CHILD_TEST = textwrap.dedent(
    """
    import json, os, pathlib, sys, time
    from pytest_realhub.processes import owner_id

    MODE = os.environ["HYGIENE_MODE"]

    def test_session_end(jupyterhub):
        sleeper = {"name": "sleeper", "command": [sys.executable, "-c", "import time; time.sleep(600)"]}
        hub = jupyterhub(services=[sleeper])
        hub.start_server("alice")
        # hub, proxy, service and server (the hub may still be starting its managed service)
        pids = sorted(hub.wait_until(lambda: len(hub.pids()) >= 4 and hub.pids(), timeout=30))
        pathlib.Path(os.environ["HYGIENE_READY"]).write_text(json.dumps({"owner": owner_id(), "pids": pids}))
        if MODE == "crash":
            os.kill(hub.process.pid, 9)
            hub.process.wait(10)
            hub.stop()
            assert hub.pids() == set(), "a crashed hub's proxy, service and server are ended by stop()"
        elif MODE == "fail":
            raise AssertionError("the test fails")
        elif MODE != "pass":
            time.sleep(300)
    """
)


def _session_processes(owner: str) -> set[int]:
    return {pid for pid, value in marked().items() if value.startswith(owner + ":") and alive(pid)}


def _wait(predicate, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


MODES = ("pass", "fail", "crash", "ctrl-c", "sigterm", "sigkill", "killed-with-its-fork-server")


@dataclass
class Child:
    """A pytest session started as a child process, in its own folder."""

    folder: Path
    process: subprocess.Popen[bytes]

    def log(self) -> str:
        return (self.folder / "child.log").read_text(errors="replace")

    def started(self) -> dict[str, Any]:
        """What the child's test recorded once its hub, service and server ran (waits for it)."""
        ready = self.folder / "ready.json"
        if not _wait(lambda: ready.exists() or self.process.poll() is not None, 180):
            self.process.kill()
        if not ready.exists():
            self.process.wait()
            pytest.fail("the child session did not get going:\n" + self.log())
        time.sleep(0.05)
        return dict(json.loads(ready.read_text()))


@pytest.fixture(scope="module")
def children(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Child]]:
    """One child session per mode, all started at once (they are independent, and this saves a minute)."""
    started: dict[str, Child] = {}
    for mode in MODES:
        folder = tmp_path_factory.mktemp(f"child-{mode}")
        (folder / "test_child.py").write_text(CHILD_TEST)
        env = {**os.environ, "HYGIENE_MODE": mode, "HYGIENE_READY": str(folder / "ready.json")}
        with open(folder / "child.log", "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_child.py"],
                cwd=folder,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started[mode] = Child(folder, process)
    yield started
    for child in started.values():
        if child.process.poll() is None:
            child.process.kill()
            child.process.wait()


@pytest.mark.parametrize(
    ("mode", "signum", "exit_code"),
    [
        ("pass", None, 0),
        ("fail", None, 1),
        ("crash", None, 0),
        ("ctrl-c", signal.SIGINT, 2),
        ("sigterm", signal.SIGTERM, -signal.SIGTERM),
        ("sigkill", signal.SIGKILL, -signal.SIGKILL),
    ],
)
def test_nothing_outlives_the_session(children, mode, signum, exit_code):
    child = children[mode]
    started = child.started()
    assert len(started["pids"]) >= 4, "hub, proxy, service and server were running"
    if signum is not None:
        os.kill(child.process.pid, signum)
    assert child.process.wait(60) == exit_code, child.log()
    # after SIGKILL nothing in pytest runs: its fork server notices and ends the hubs
    assert _wait(lambda: not _left(started), 30), _left(started)


def _left(started: dict) -> dict[int, str]:
    pids = {p for p in started["pids"] if alive(p)} | _session_processes(started["owner"])
    return {p: _cmdline(p) for p in pids}


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:120]
    except OSError:
        return "?"


def test_processes_of_a_killed_session_are_ended_by_the_next_one(children, tmp_path):
    child = children["killed-with-its-fork-server"]
    started = child.started()
    owner = started["owner"]
    # kill the session AND its fork server, as an OOM killer or `kill -9` of everything would
    hub = set(started["pids"])  # the hub is forked from the fork server: same command line
    fork_server = {p for p in _session_processes(owner) - hub if "pytest_realhub.forkserver" in _cmdline(p)}
    assert len(fork_server) == 1
    for pid in {child.process.pid} | fork_server:
        os.kill(pid, signal.SIGKILL)
    child.process.wait(30)
    assert not owner_alive(owner)
    left = _session_processes(owner)
    assert left, "the hub's processes are orphaned"

    (tmp_path / "next").mkdir()
    (tmp_path / "next" / "test_next.py").write_text("def test_nothing():\n    pass\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_next.py"],
        cwd=tmp_path / "next",
        capture_output=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout.decode()
    assert not any(alive(p) for p in left)
    assert not _session_processes(owner)
