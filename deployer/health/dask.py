"""Steps ``dask-cluster``, ``dask-compute`` and ``dask-shutdown``: a daskhub's users can really use Dask.

From inside the test user's server, as a user would (code run in a kernel there by ``kernel.run_code``), with
the hub's Dask Gateway and the JupyterHub authentication its chart configures (the daskhub chart sets
``DASK_GATEWAY__ADDRESS``, ``DASK_GATEWAY__PROXY_ADDRESS`` and ``DASK_GATEWAY__AUTH__TYPE=jupyterhub`` in user
servers, so ``dask_gateway.Gateway()`` needs no argument):

- ``dask-cluster``: ``Gateway().new_cluster()``, scaled to one worker, waiting until the worker has joined;
- ``dask-compute``: ``sum(range(1000))`` submitted to that cluster's worker; the result must be 499500;
- ``dask-shutdown``: every cluster of the test user is stopped (so one left behind by an interrupted earlier run
  goes too), and the gateway must then list none.

Each step runs in a kernel of its own; the cluster is created with ``shutdown_on_close=False`` and found again
by name. Clean-up: once ``dask-cluster`` may have created a cluster (``ctx.dask_requested``), ``dask-shutdown``
runs as clean-up after any failure or interruption (``deployer.health.check``), before the server is stopped.
A cluster is not created when the gateway cannot be reached, and then there is nothing to clean up.

``chart_has_dask(chart_dir)`` decides whether a hub gets these steps by default: its chart, or a local chart it
depends on (``file://``), depends on the ``dask-gateway`` chart (daskhub does).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from deployer.health.base import CheckContext, StepFailed
from deployer.health.kernel import ExecutionResult, run_code
from deployer.health.proxy import require_server_url

MARK = "DEPLOYER-DASK "  # the kernel code prints one line of JSON after this
N = 1000
EXPECTED_SUM = N * (N - 1) // 2
WORKER_WAIT = 240.0  # at most this long for the worker to join (a cloud node may have to start first)
GATEWAY_CHART = "dask-gateway"

CREATE = """\
import json as _json
from dask_gateway import Gateway as _Gateway
_gateway = _Gateway()
_cluster = _gateway.new_cluster(shutdown_on_close=False)
print({mark!r} + _json.dumps({{"cluster": _cluster.name}}), flush=True)
_cluster.scale(1)
_client = _cluster.get_client()
_client.wait_for_workers(1, timeout={wait})
print({mark!r} + _json.dumps({{"workers": len(_client.scheduler_info()["workers"])}}), flush=True)
_client.close()
_gateway.close()
"""

COMPUTE = """\
import json as _json
from dask_gateway import Gateway as _Gateway
_gateway = _Gateway()
_client = _gateway.connect({name!r}).get_client()
_future = _client.submit(sum, range({n}), pure=False)
_result = _future.result(timeout={wait})
_where = sorted(_client.who_has([_future]).get(_future.key, ()))
print({mark!r} + _json.dumps({{"result": _result, "workers": _where}}), flush=True)
_client.close()
_gateway.close()
"""

SHUTDOWN = """\
import json as _json, time as _time
from dask_gateway import Gateway as _Gateway
_gateway = _Gateway()
_names = sorted(c.name for c in _gateway.list_clusters())
for _name in _names:
    _gateway.stop_cluster(_name)
_end = _time.monotonic() + {wait}
while _gateway.list_clusters() and _time.monotonic() < _end:
    _time.sleep(0.2)
_left = sorted(c.name for c in _gateway.list_clusters())
print({mark!r} + _json.dumps({{"stopped": _names, "left": _left}}), flush=True)
_gateway.close()
"""


def chart_has_dask(chart_dir: Path) -> bool:
    """Whether the chart at ``chart_dir`` (or a ``file://`` chart it depends on) depends on ``dask-gateway``.

    False when the folder holds no ``Chart.yaml`` (the config names a chart this checkout does not have)."""
    from deployer.charts import read_chart

    seen: set[Path] = set()

    def visit(path: Path) -> bool:
        path = path.resolve()
        if path in seen or not (path / "Chart.yaml").is_file():
            return False
        seen.add(path)
        for dep in read_chart(path / "Chart.yaml").dependencies:
            if dep.name == GATEWAY_CHART or (dep.is_local and visit(dep.local_path(path))):
                return True
        return False

    return visit(chart_dir)


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _lines(result: ExecutionResult) -> list[dict[str, Any]]:
    """The JSON lines the kernel code printed after ``MARK``."""
    found = []
    for line in result.stdout.splitlines():
        if line.startswith(MARK):
            try:
                data = json.loads(line[len(MARK) :])
            except ValueError:
                continue
            if isinstance(data, dict):
                found.append(data)
    return found


def _run(ctx: CheckContext, code: str, doing: str) -> ExecutionResult:
    """``code`` in a new kernel on the test server; a failure to run it at all names ``doing``, not the code."""
    try:
        return run_code(ctx.client, require_server_url(ctx), code, deadline=ctx.deadline)
    except StepFailed as exc:
        raise StepFailed(f"{doing}: {exc.message.replace(repr(code), 'the Dask code')}") from None


def _wait(ctx: CheckContext, cap: float) -> int:
    """Seconds the kernel code may wait: within the attempt's budget, leaving a little for the reply."""
    return max(1, int(min(cap, ctx.remaining() - 5)))


class CreateCluster:
    name = "dask-cluster"

    def run(self, ctx: CheckContext) -> str:
        require_server_url(ctx)
        ctx.dask_requested = True  # from here on a cluster may exist: clean-up asks the gateway
        started = time.monotonic()
        code = CREATE.format(mark=MARK, wait=_wait(ctx, WORKER_WAIT))
        result = _run(ctx, code, "creating a Dask cluster")
        lines = _lines(result)
        ctx.dask_cluster = next((str(d["cluster"]) for d in lines if "cluster" in d), None)
        if result.error:
            if ctx.dask_cluster is None:
                ctx.dask_requested = False  # the gateway made no cluster: nothing to shut down
                raise StepFailed(f"cannot create a Dask cluster through the hub's Dask Gateway: {_short(result.error)}")
            raise StepFailed(f"Dask cluster {ctx.dask_cluster} did not get a worker: {_short(result.error)}")
        workers = next((d["workers"] for d in lines if "workers" in d), None)
        if ctx.dask_cluster is None or not workers:
            raise StepFailed(f"the kernel did not report a Dask cluster with a worker: {_short(result.stdout)!r}")
        return f"Dask cluster {ctx.dask_cluster} with 1 worker after {time.monotonic() - started:.1f}s"


class Compute:
    name = "dask-compute"

    def run(self, ctx: CheckContext) -> str:
        if ctx.dask_cluster is None:
            raise StepFailed("no Dask cluster (the dask-cluster step did not run)")
        code = COMPUTE.format(mark=MARK, name=ctx.dask_cluster, n=N, wait=_wait(ctx, 120.0))
        result = _run(ctx, code, "computing on the Dask cluster")
        if result.error:
            raise StepFailed(f"sum(range({N})) on Dask cluster {ctx.dask_cluster} raised {_short(result.error)}")
        data = next((d for d in _lines(result) if "result" in d), {})
        if data.get("result") != EXPECTED_SUM:
            raise StepFailed(
                f"sum(range({N})) on the Dask cluster gave {data.get('result')!r}, expected {EXPECTED_SUM}"
            )
        where = ", ".join(data.get("workers") or ()) or "a worker"
        return f"sum(range({N})) = {EXPECTED_SUM} on {where}"


class Shutdown:
    name = "dask-shutdown"

    def run(self, ctx: CheckContext) -> str:
        code = SHUTDOWN.format(mark=MARK, wait=_wait(ctx, 60.0))
        result = _run(ctx, code, "shutting the Dask clusters down")
        if result.error:
            raise StepFailed(f"cannot shut the Dask clusters down: {_short(result.error)}")
        data = next((d for d in _lines(result) if "stopped" in d), None)
        if data is None:
            raise StepFailed(f"the kernel did not report the Dask clusters it stopped: {_short(result.stdout)!r}")
        if data.get("left"):
            raise StepFailed(f"Dask clusters still running after shutdown: {', '.join(data['left'])}")
        ctx.dask_requested = False
        stopped = [str(n) for n in data.get("stopped") or ()]
        if not stopped:
            return "no Dask cluster was running"
        others = [n for n in stopped if n != ctx.dask_cluster]
        leftovers = f"{len(others)} left over from an earlier run ({', '.join(others)})" if others else ""
        if ctx.dask_cluster not in stopped:
            return f"shut down {leftovers}"
        return f"shut down Dask cluster {ctx.dask_cluster}" + (f" and {leftovers}" if leftovers else "")


DASK_STEPS = (CreateCluster(), Compute(), Shutdown())
