"""pytest fixtures for a REAL JupyterHub (``deployer.testing.jupyterhub``): ``jupyterhub`` and
``jupyterhub_session``.

- ``jupyterhub`` (function scope) is a factory: ``hub = jupyterhub(**options)`` starts a hub with the options of
  ``start_hub`` (``authenticator_class``, ``spawner_class``, ``config``, ``services``, ``roles``,
  ``extra_config``, ...) and returns the running ``JupyterHub``; call it more than once for several hubs. The
  test file's folder and the rootdir are on the hub's ``PYTHONPATH``, so a class defined in a module beside the
  test can be named by import string. Every hub started is stopped after the test, passed or failed, with its
  proxy and every server it spawned.
- ``jupyterhub_session`` (session scope) is one default hub shared by the session (a hub costs ~3 s to start):
  use distinct user names (``hub.unique_user()``) and leave its configuration alone.

Each hub's URL and log file are printed when it starts, so pytest shows them with a failing test's output.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from deployer.testing.jupyterhub import JupyterHub, start_hub

__all__ = ["jupyterhub", "jupyterhub_session"]


def _started(hub: JupyterHub) -> JupyterHub:
    print(f"JupyterHub {hub.url} (started in {hub.started_in:.1f}s), log: {hub.log_path}")
    return hub


@pytest.fixture
def jupyterhub(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Callable[..., JupyterHub]]:
    """A factory starting real JupyterHubs for this test; all are stopped afterwards."""
    hubs: list[JupyterHub] = []
    rootpath = Path(request.config.rootpath)
    test_dir = Path(str(request.path)).parent

    def start(**options: Any) -> JupyterHub:
        options.setdefault("pythonpath", [test_dir, rootpath])
        options.setdefault("tools_root", rootpath)
        hub = start_hub(tmp_path_factory.mktemp("jupyterhub"), **options)
        hubs.append(hub)
        return _started(hub)

    try:
        yield start
    finally:
        for hub in hubs:
            hub.stop()


@pytest.fixture(scope="session")
def jupyterhub_session(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[JupyterHub]:
    """One default JupyterHub shared by the whole session; use distinct user names."""
    rootpath = Path(request.config.rootpath)
    hub = start_hub(tmp_path_factory.mktemp("jupyterhub-session"), tools_root=rootpath, pythonpath=[rootpath])
    try:
        yield _started(hub)
    finally:
        hub.stop()
