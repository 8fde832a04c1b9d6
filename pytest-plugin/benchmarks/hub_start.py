"""How long a hub takes to start (from ``start_hub`` until its API answers through the proxy), and then a
single-user server's spawn (``hub.start_server``) and ``hub.run_code`` on it.

    python benchmarks/hub_start.py [--hubs N] [--servers N]

Run in a fresh process, so the first figure is a cold start: the fork server pays JupyterHub's import
(``import jupyterhub.app``, timed separately in a new interpreter) and then forks the hub. Every later hub is
forked from the running fork server. Prints each start, the median of the warm ones, the stop times, and the
medians of ``--servers`` spawns and code runs (one each per user, on the last hub). Needs configurable-http-proxy
on PATH and the ``kernels`` extra.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pytest_realhub import start_hub


def _import_time() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import jupyterhub.app"], check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hubs", type=int, default=6)
    parser.add_argument("--servers", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        starts, stops, spawns, runs = [], [], [], []
        for n in range(args.hubs):
            began = time.perf_counter()
            hub = start_hub(Path(folder) / f"hub{n}")
            starts.append(time.perf_counter() - began)
            for user in range(args.servers if n == args.hubs - 1 else 0):
                began = time.perf_counter()
                hub.start_server(f"user{user}")
                spawns.append(time.perf_counter() - began)
                began = time.perf_counter()
                assert hub.run_code(f"user{user}", "1 + 1").result == "2"
                runs.append(time.perf_counter() - began)
            began = time.perf_counter()
            hub.stop()
            stops.append(time.perf_counter() - began)
    print(f"import jupyterhub.app in a new interpreter: {_import_time():.2f} s")
    print(f"first hub (cold: fork server start included): {starts[0]:.2f} s")
    print(f"later hubs: {', '.join(f'{s:.2f}' for s in starts[1:])} s; median {statistics.median(starts[1:]):.2f} s")
    print(f"stop: median {statistics.median(stops):.2f} s (the last hub, with its servers: {stops[-1]:.2f} s)")
    if spawns:
        print(
            f"start_server: median {statistics.median(spawns):.2f} s; run_code: median {statistics.median(runs):.2f} s"
        )


if __name__ == "__main__":
    main()
