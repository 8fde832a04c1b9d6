"""The daskhub the Dask steps of the health check are tested against: a REAL JupyterHub with a REAL
dask-gateway-server as its service (``deployer.testing.daskhub``), shared by the session (it costs ~5 s).

It misbehaves on purpose for some users, by name (as ``odd_hub`` does):

- ``dask-broken-compute*``: their Dask workers compute ``sum(range(...))`` wrong: it raises (a worker whose
  ``sum`` fails on ranges), so ``dask-compute`` fails on a real worker of a real cluster;
- ``dask-unreachable*``: their servers get a ``DASK_GATEWAY__ADDRESS`` where nothing listens.

And the gateway's own API is asked which clusters a user has: it lists only the clusters of the user its token
belongs to, and test users are removed (with their tokens) by the health check. So the hub also has a service
named like each test user below (``PROBES``): the gateway resolves a service token to the service's name, so
``gateway.clusters(hub_probe(name))`` lists the clusters of user ``name`` through the gateway's REST API.
"""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from deployer.testing.daskhub import DaskHub, running_daskhub

PROBES = ("dask-ok", "dask-broken-compute", "dask-unreachable", "dask-interrupted")

BROKEN_WORKER = """\
import builtins, sys
_sum = builtins.sum
def _broken(values, *args):
    if isinstance(values, range):
        raise ZeroDivisionError("this worker's sum is broken on purpose")
    return _sum(values, *args)
builtins.sum = _broken
from distributed.cli.dask_worker import main
sys.argv[0] = "dask-worker"
main()
"""


def probe_token(name: str) -> str:
    return f"probe-token-{name}-0123456789"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def daskhub(tmp_path_factory, request) -> Iterator[DaskHub]:
    rootpath = Path(request.config.rootpath)
    gateway_config = f"""
from dask_gateway_server.options import Options

def _per_user(options, user):
    if user.name.startswith("dask-broken-compute"):
        return {{"worker_cmd": [{sys.executable!r}, "-c", {BROKEN_WORKER!r}, "--no-nanny"]}}  # sum patched here
    return {{}}

c.Backend.cluster_options = Options(handler=_per_user)
"""
    hub_config = f"""
def _dask_unreachable(spawner):
    if spawner.user.name.startswith("dask-unreachable"):
        spawner.environment = {{
            **spawner.environment,
            "DASK_GATEWAY__ADDRESS": "http://127.0.0.1:{_closed_port()}/services/dask-gateway",
        }}

c.Spawner.pre_spawn_hook = _dask_unreachable
"""
    with running_daskhub(
        tmp_path_factory.mktemp("daskhub"),
        gateway_config=gateway_config,
        extra_config=hub_config,
        services=[{"name": name, "api_token": probe_token(name)} for name in PROBES],
        pythonpath=[rootpath],
    ) as daskhub:
        print(f"daskhub: JupyterHub {daskhub.hub.url}, Dask Gateway {daskhub.gateway.address}")
        yield daskhub


@pytest.fixture
def no_cluster_left(daskhub) -> Callable[[str], bool]:
    """``no_cluster_left(name)``: the gateway lists no cluster of user ``name`` (asked through its REST API as
    that name, with the probe service's token) and no scheduler or worker process of the gateway runs."""

    def check(name: str) -> bool:
        deadline = time.monotonic() + 15  # processes end a moment after the gateway marks their cluster stopped
        while daskhub.gateway.cluster_pids() and time.monotonic() < deadline:
            time.sleep(0.2)
        return daskhub.gateway.clusters(probe_token(name)) == [] and not daskhub.gateway.cluster_pids()

    return check
