"""The pytest plugin (entry point ``realhub``): fixtures ``jupyterhub`` and ``jupyterhub_session``, the
``--realhub-proxy`` option (ini ``realhub_proxy``), and process hygiene for the whole session.

- ``jupyterhub`` is a factory: ``hub = jupyterhub(**options)`` starts a hub with ``start_hub``'s options and
  returns it; every hub it started is stopped after the test, passed or failed. With ``scope="module"`` or
  ``scope="session"`` a hub is shared: the first call starts it, later calls with the same options (in the same
  module, or anywhere in the session) get the same running hub, which is stopped when the module or session
  ends. The test file's folder and the rootdir are on the hub's ``PYTHONPATH``, so a class in a module beside
  the test can be named by import string.
- ``jupyterhub_session`` is one default hub for the session (use ``hub.unique_user()`` and leave its
  configuration alone).

Hygiene: at session start, processes left by an earlier session whose pytest was killed are ended; on SIGTERM to
pytest (a CI timeout) every process of this session is ended before pytest dies; at the end, whatever is left is
ended. Ctrl-C and failures go through the normal fixture teardown.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Callable, Iterator
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from pytest_realhub.hub import JupyterHub, start_hub
from pytest_realhub.launcher import Launcher
from pytest_realhub.processes import marked_by, owner_id, sweep_orphans, terminate
from pytest_realhub.proxy import ProxyNotFound

__all__ = ["jupyterhub", "jupyterhub_session"]

SCOPES = ("function", "module", "session")
FIXTURES = ("jupyterhub", "jupyterhub_session")
STATE = pytest.StashKey["Session"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("realhub", "real JupyterHub (pytest-realhub)")
    group.addoption(
        "--realhub-proxy",
        metavar="PATH",
        help="configurable-http-proxy to run (default: realhub_proxy ini setting, $PYTEST_REALHUB_PROXY, PATH)",
    )
    parser.addini("realhub_proxy", "configurable-http-proxy to run (relative to the ini file's folder)", default="")


class Session:
    """This pytest process's hubs: the shared ones, and the clean-up on every way out."""

    def __init__(self, config: pytest.Config):
        self.config = config
        self.launcher = Launcher(owner_id())  # this session's own: a nested (pytester) session has another
        self.shared: dict[str, JupyterHub] = {}
        self._previous_sigterm: Any = None

    @property
    def proxy(self) -> str | None:
        option = self.config.getoption("realhub_proxy")
        if option:
            return str(option)
        ini = str(self.config.getini("realhub_proxy") or "")
        if ini and os.sep in ini and self.config.inipath is not None:
            return str(self.config.inipath.parent / ini)
        return ini or None

    def start(self, workdir: Path, options: dict[str, Any]) -> JupyterHub:
        options.setdefault("rootdir", Path(self.config.rootpath))
        options.setdefault("proxy", self.proxy)
        options.setdefault("launcher", self.launcher)
        try:
            hub = start_hub(workdir, **options)
        except ProxyNotFound as exc:
            pytest.fail(str(exc), pytrace=False)
        print(f"JupyterHub {hub.url} (started in {hub.started_in:.2f}s), log: {hub.log_path}")
        return hub

    def emergency_stop(self) -> None:
        """End every process of this session now (hubs first: they stop what they started)."""
        terminate(marked_by(self.launcher.prefix), 5.0)

    def install_sigterm(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        self._previous_sigterm = signal.getsignal(signal.SIGTERM)

        def on_sigterm(signum: int, frame: FrameType | None) -> None:
            self.emergency_stop()
            self.launcher.close(timeout=5.0)
            previous = self._previous_sigterm
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
            if callable(previous):
                previous(signum, frame)
            elif previous != signal.SIG_IGN:
                os.kill(os.getpid(), signal.SIGTERM)

        signal.signal(signal.SIGTERM, on_sigterm)

    def close(self) -> None:
        for hub in self.shared.values():
            hub.stop()
        self.shared.clear()
        self.launcher.close()
        self.emergency_stop()  # anything a crashed hub or a test left behind
        if self._previous_sigterm is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._previous_sigterm)


def pytest_configure(config: pytest.Config) -> None:
    sweep_orphans()
    session = Session(config)
    session.install_sigterm()
    config.stash[STATE] = session


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(STATE, None)
    if session is not None:
        session.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Start the fork server early when some test will start a hub: its import overlaps with other work."""
    if config.option.collectonly:
        return
    if any(name in FIXTURES for item in items for name in getattr(item, "fixturenames", ())):
        config.stash[STATE].launcher.prestart()


def pytest_report_header(config: pytest.Config) -> str:
    try:
        hub_version = version("jupyterhub")
    except PackageNotFoundError:
        hub_version = "not installed"
    return f"realhub: jupyterhub {hub_version}"


def _key(scope: str, where: str, options: dict[str, Any]) -> str:
    return json.dumps([scope, where, options], sort_keys=True, default=repr)


@pytest.fixture
def jupyterhub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., JupyterHub]]:
    """A factory starting real JupyterHubs (see the module doc); ``scope=`` shares one across a module/session."""
    session: Session = request.config.stash[STATE]
    started: list[JupyterHub] = []
    test_dir = Path(str(request.path)).parent

    def start(*, scope: str = "function", **options: Any) -> JupyterHub:
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {SCOPES}, not {scope!r}")
        options.setdefault("pythonpath", [test_dir, Path(request.config.rootpath)])
        if scope == "function":
            hub = session.start(tmp_path_factory.mktemp("jupyterhub"), options)
            started.append(hub)
            return hub
        owner: pytest.Item | pytest.Collector | pytest.Session | None = None
        if scope == "module":
            owner = request.node.getparent(pytest.Module)
        owner = owner or request.session
        key = _key(scope, owner.nodeid, options)
        cached = session.shared.get(key)
        if cached is not None and cached.running:
            return cached
        if cached is not None:  # it crashed in an earlier test: clean up, start afresh
            cached.stop()
        hub = session.shared[key] = session.start(tmp_path_factory.mktemp(f"jupyterhub-{scope}"), options)

        def finish() -> None:
            if session.shared.get(key) is hub:
                del session.shared[key]
            hub.stop()

        owner.addfinalizer(finish)
        return hub

    try:
        yield start
    finally:
        for hub in started:
            hub.stop()


@pytest.fixture(scope="session")
def jupyterhub_session(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[JupyterHub]:
    """One default JupyterHub shared by the whole session; use distinct user names."""
    session: Session = request.config.stash[STATE]
    hub = session.start(tmp_path_factory.mktemp("jupyterhub-session"), {"pythonpath": [Path(request.config.rootpath)]})
    try:
        yield hub
    finally:
        hub.stop()
