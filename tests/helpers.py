"""Helpers shared by the tests (importable as ``helpers``; tests/ is on pytest's pythonpath)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from deployer.tools import find_tool

PROJECT = Path(__file__).resolve().parents[1]
DEMO_KEY = PROJECT / "config" / "DEMO-ONLY.age-key.txt"


# Set by the test runner (scripts/test) for the whole run: where the pinned dependency charts are. Kept when a
# test gives the CLI its own environment, since fresh clones have no helm-charts/*/charts/.
KEPT_VARIABLES = ("DEPLOYER_CHART_MIRROR",)


# Resets SIGINT to its default, then becomes the given command (same pid).
_SIGINT_DEFAULT = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])"
)


def with_default_sigint(argv: list[str]) -> list[str]:
    """``argv`` behind a tiny launcher that sets SIGINT to its default disposition before exec'ing it.

    A child inherits an ignored SIGINT (``nohup pytest &``, or any background job), and Python then leaves it
    ignored, so Ctrl-C tests would hang; through the launcher the child reacts to SIGINT as under a terminal."""
    return [sys.executable, "-c", _SIGINT_DEFAULT, *argv]


def demo_recipient() -> str:
    return next(
        line.split(": ", 1)[1] for line in DEMO_KEY.read_text().splitlines() if line.startswith("# public key:")
    )


def sops_encrypt(path: Path, recipient: str) -> None:
    """Encrypt ``path`` in place to an age recipient with the real sops."""
    subprocess.run(
        [find_tool("sops"), "encrypt", "--in-place", "--age", recipient, str(path)],
        check=True,
        capture_output=True,
        cwd=path.parent,
        env={"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/")},
    )


@cache
def other_recipient() -> str:
    """The public half of an age key that no test environment holds."""
    import pyrage

    return str(pyrage.x25519.Identity.generate().to_public())


def run_deployer(
    *args: str, env: dict[str, str], cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess:
    """Run the real ``deployer`` console script in a child process."""
    exe = Path(sys.executable).with_name("deployer")
    return subprocess.run([str(exe), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


# The common values file of the test hubs (basehub, dummy login, no load balancer); {cluster} is the cluster's name.
HUB_COMMON_VALUES = """\
identity:
  cluster: {cluster}
jupyterhub:
  hub:
    config:
      JupyterHub:
        authenticator_class: dummy
  proxy:
    service:
      type: ClusterIP
"""


class Background:
    """``call()`` run in a thread; ``outcome`` gets its result, or the exception it raised."""

    def __init__(self, call: Callable[[], object]) -> None:
        self.outcome: list[object] = []
        self.thread = threading.Thread(target=self._work, args=(call,))
        self.thread.start()

    def _work(self, call: Callable[[], object]) -> None:
        try:
            self.outcome.append(call())
        except BaseException as exc:
            self.outcome.append(exc)


def in_background(runner: Any, call: Callable[[], object], ready: Callable[[], bool] = lambda: True) -> Background:
    """Start ``call()`` in a thread and return once ``runner`` has a live child (and ``ready()`` holds), or 10 s."""
    started = Background(call)
    deadline = time.monotonic() + 10
    while not (runner._live and ready()) and time.monotonic() < deadline:
        time.sleep(0.02)
    return started
