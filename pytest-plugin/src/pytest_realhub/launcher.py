"""Starting hub processes: ``Launcher.launch(...) -> HubProcess``.

One fork server (``forkserver.py``) per Python interpreter and owner is started on first use and kept for the
session; hubs are forked from it (JupyterHub already imported), which makes a start about 2 s faster. The
launcher is thread-safe, so hubs can be started in parallel. ``HubProcess`` is the handle for a process that is
not our child: ``poll``/``wait``/``send_signal``/``kill`` like ``subprocess.Popen``, the exit status read from
the status file the fork server writes.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pytest_realhub.errors import JupyterHubError
from pytest_realhub.processes import MARKER, alive, marker_value


@dataclass
class HubProcess:
    """A hub process started by the fork server (see the module doc)."""

    pid: int
    status_file: Path
    returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None and not alive(self.pid):
            end = time.monotonic() + 2.0  # the fork server writes the status right after reaping
            while time.monotonic() < end:
                with contextlib.suppress(OSError, ValueError):
                    self.returncode = int(self.status_file.read_text())
                    break
                time.sleep(0.02)
            else:
                self.returncode = -int(signal.SIGKILL)  # reaped by someone else: its status is unknown
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        end = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if end is not None and time.monotonic() > end:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0.0)
            time.sleep(0.02)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class Launcher:
    """Starts hub processes through one fork server (started lazily; ``close()`` ends it and its hubs)."""

    def __init__(self, owner: str, *, python: str = sys.executable, env: Mapping[str, str] | None = None):
        self.owner = owner
        # the marker of every process started through this launcher starts with this (processes.py)
        self.prefix = marker_value(owner, uuid.uuid4().hex[:12] + "-")
        self.python = python
        self.env = dict(os.environ if env is None else env)
        self._lock = threading.RLock()  # re-entrant: the SIGTERM handler may close() while launch() holds it
        self._server: subprocess.Popen[bytes] | None = None
        self._ready = False

    def prestart(self) -> None:
        """Start the fork server now without waiting for it (its ~2 s import overlaps with other work)."""
        with self._lock:
            if self._server is None or self._server.poll() is not None:
                self._server, self._ready = self._spawn(), False

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [self.python, "-m", "pytest_realhub.forkserver"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**self.env, MARKER: self.prefix},
            start_new_session=True,  # Ctrl-C goes to pytest, which stops the hubs in order
        )

    def _serving(self) -> subprocess.Popen[bytes]:
        """The running fork server, started and waited for if need be (called with the lock held)."""
        if self._server is None or self._server.poll() is not None:
            self._server, self._ready = self._spawn(), False
        server = self._server
        if not self._ready:
            assert server.stdout is not None
            if not server.stdout.readline().startswith(b'{"ready"'):
                server.kill()
                server.wait()
                self._server = None
                raise JupyterHubError(
                    f"could not start JupyterHub with {self.python}: is jupyterhub installed there? "
                    "(pip install jupyterhub; the fork server's error is above)"
                )
            self._ready = True
        return server

    def launch(
        self, argv: Sequence[str], *, env: Mapping[str, str], cwd: Path, log: Path, status_file: Path
    ) -> HubProcess:
        """Fork a process running ``jupyterhub`` with ``argv`` (``argv[0]`` is the program name)."""
        request = {"argv": list(argv), "env": dict(env), "cwd": str(cwd), "log": str(log), "status": str(status_file)}
        with self._lock:
            server = self._serving()
            assert server.stdin is not None and server.stdout is not None
            try:
                server.stdin.write(json.dumps(request).encode() + b"\n")
                server.stdin.flush()
                answer = json.loads(server.stdout.readline() or b"{}")
            except (OSError, ValueError) as exc:
                raise JupyterHubError(f"the fork server starting hubs failed: {exc}") from None
        if "pid" not in answer:
            raise JupyterHubError(f"the fork server starting hubs failed: {answer.get('error', 'it exited')}")
        return HubProcess(int(answer["pid"]), status_file)

    def marker(self) -> str:
        """A new marker for one hub started through this launcher."""
        return self.prefix + uuid.uuid4().hex[:12]

    def close(self, timeout: float = 15.0) -> None:
        """End the fork server; hubs it started that are still running are stopped by it."""
        with self._lock:
            server, self._server = self._server, None
        if server is None:
            return
        if not self._ready:  # still importing JupyterHub: it has started no hub, no need to wait for it
            server.kill()
        with contextlib.suppress(OSError):
            assert server.stdin is not None
            server.stdin.close()
        try:
            server.wait(timeout)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.stdout is not None:
            server.stdout.close()
