"""Time `helm upgrade --install` of the small test chart against the local Kubernetes API stand-in.

Usage: .venv/bin/python benchmarks/bench_kubeapi.py [--runs N]

Starts a KubeAPIServer, writes a kubeconfig, then times N fresh installs (each in a new namespace, with
--create-namespace --wait), N upgrades to revision 2 (--wait), and, as a baseline for helm's own start-up and
rendering cost, N `helm template` runs of the same chart (no API server involved). Prints one line per measurement.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from deployer.testing.kubeapi import KubeAPIServer  # noqa: E402
from deployer.tools import find_tool  # noqa: E402

CHART = REPO / "tests" / "testing" / "charts" / "webapp"


def timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, check=True, capture_output=True, stdin=subprocess.DEVNULL)
    return time.perf_counter() - started


def summary(label: str, samples: list[float]) -> str:
    return (
        f"{label}: median {statistics.median(samples):.3f}s, min {min(samples):.3f}s, "
        f"max {max(samples):.3f}s over {len(samples)} runs"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    helm = find_tool("helm", REPO)
    with tempfile.TemporaryDirectory() as tmp, KubeAPIServer() as server:
        kubeconfig = server.write_kubeconfig(Path(tmp) / "kubeconfig")
        env = {**os.environ, "KUBECONFIG": str(kubeconfig), "KUBECACHEDIR": str(Path(tmp) / "cache")}
        base = [helm, "--kube-context", "deployer-local"]
        timed([*base, "list", "-A"], env)  # warm the discovery cache, as a second deploy would find it
        installs, upgrades, templates = [], [], []
        for n in range(args.runs):
            ns = f"bench-{n}"
            before = len(server.requests)
            installs.append(
                timed(
                    [
                        *base,
                        "upgrade",
                        "--install",
                        "web",
                        str(CHART),
                        "-n",
                        ns,
                        "--create-namespace",
                        "--wait",
                        "--timeout",
                        "60s",
                    ],
                    env,
                )
            )
            requests = len(server.requests) - before
            upgrades.append(
                timed(
                    [*base, "upgrade", "--install", "web", str(CHART), "-n", ns, "--wait", "--set", "message=second"],
                    env,
                )
            )
            templates.append(timed([helm, "template", "web", str(CHART)], env))
        print(summary("helm upgrade --install (new release, --create-namespace --wait)", installs))
        print(f"  API requests per install: {requests}")
        print(summary("helm upgrade --install (revision 2, --wait)", upgrades))
        print(summary("helm template (no API server; helm's own floor)", templates))
    return 0


if __name__ == "__main__":
    sys.exit(main())
