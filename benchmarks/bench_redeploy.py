"""Time a no-op ``deployer deploy`` of 30 hubs (every release ``unchanged``) against a forced one
(``--force-upgrade``: 30 ``helm upgrade --wait``), on the local Kubernetes API stand-in, and the cost of the check.

Usage: .venv/bin/python benchmarks/bench_redeploy.py [--runs N] [--jobs 4] [--helm 4] [--latency 0 0.02]

Per run: a fresh stand-in and a fresh copy of a synthetic cluster (1 canary + 29 prod basehub hubs, each with a
common values file, its own and its own sops-encrypted one; the real jupyterhub dependency chart, built once beforehand
from ``DEPLOYER_CHART_MIRROR`` when set). A first deploy installs everything (not timed), then the no-op redeploy
and the forced one are timed (the real ``deployer`` console script, start-up included). The check's cost per
release is the median of the no-op run's per-release seconds (decrypting the secret values file, hashing, one
metadata-only list of the release's storage Secrets); the API query alone
(``kube.release_storage_labels``) is timed in-process too, 30 calls.

``--latency``: seconds the stand-in adds before serving each API request, set after the first deploy. With none,
everything is CPU on this machine and the stand-in makes every workload ready at once, so a forced upgrade is far
cheaper than on a real cluster; with some, requests cost what they cost on a remote API server (a check makes one,
an upgrade hundreds).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from bench_deploy import write_cluster  # noqa: E402

from deployer import kube  # noqa: E402
from deployer.chart_mirror import mirror_dir  # noqa: E402
from deployer.testing.chart_cache import ChartCache  # noqa: E402
from deployer.testing.kubeapi import KubeAPIServer  # noqa: E402
from helpers import DEMO_KEY  # noqa: E402

HUBS = 30
DEPLOYER = str(Path(sys.executable).with_name("deployer"))


def make_repo(base: Path) -> tuple[Path, list[str]]:
    root = base / "repo"
    cdir = root / "config" / "clusters" / "bench"
    cdir.mkdir(parents=True)
    shutil.copytree(REPO / "schemas", root / "schemas")
    cache = ChartCache(helm=str(REPO / ".tools" / "bin" / "helm4"), mirror=mirror_dir(os.environ))
    cache.copy_charts(REPO / "helm-charts", root / "helm-charts")  # dependencies built once, before any timing
    hubs = ["canary"] + [f"prod-{i:02d}" for i in range(1, HUBS)]
    write_cluster(cdir, hubs, secret_per_hub=True)
    return root, hubs


def deploy(root: Path, env: dict[str, str], work: Path, *args: str) -> tuple[float, list[dict]]:
    report = work / "report.json"
    started = time.perf_counter()
    done = subprocess.run(
        [DEPLOYER, "--repo", str(root), "deploy", "bench", "--report", str(report), *args],
        env=env,
        capture_output=True,
        text=True,
    )
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"deploy failed:\n{done.stdout}\n{done.stderr}")
    return took, json.loads(report.read_text())["results"]


def one_run(template: Path, hubs: list[str], work: Path, jobs: int, helm: int, latency: float) -> dict[str, float]:
    from kubernetes import config

    root = work / f"run-{time.monotonic_ns()}"
    shutil.copytree(template, root)
    with KubeAPIServer() as server:
        kubeconfig = server.write_kubeconfig(work / "kubeconfig", context="deployer-local")
        env = {
            "PATH": f"{REPO / '.tools' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOME": os.environ.get("HOME", "/"),
            "SOPS_AGE_KEY_FILE": str(DEMO_KEY),
            "KUBECONFIG": str(kubeconfig),
            "KUBECACHEDIR": str(work / "kube-cache"),
            "DEPLOYER_HELM": str(REPO / ".tools" / "bin" / f"helm{helm}"),
            **{k: v for k, v in os.environ.items() if k == "DEPLOYER_CHART_MIRROR"},
        }
        _, first = deploy(root, env, work, "--jobs", str(jobs))
        assert {r["status"] for r in first} == {"deployed"}, first
        server.latency = latency
        noop, results = deploy(root, env, work, "--jobs", str(jobs))
        assert {r["status"] for r in results} == {"unchanged"}, results
        check = statistics.median(r["seconds"] for r in results)
        forced, results = deploy(root, env, work, "--jobs", str(jobs), "--force-upgrade")
        assert {r["status"] for r in results} == {"deployed"}, results
        api = config.new_client_from_config(str(kubeconfig), context="deployer-local")  # type: ignore[no-untyped-call]
        started = time.perf_counter()
        for hub in hubs:
            labels = kube.release_storage_labels(api, hub, hub, doing="bench")
            assert labels and labels[-1].get("deployer.digest"), labels
        query = (time.perf_counter() - started) / len(hubs)
        api.close()
    shutil.rmtree(root)
    return {"noop": noop, "forced": forced, "check": check, "query": query}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--helm", type=int, default=4, choices=[3, 4])
    parser.add_argument("--latency", type=float, nargs="+", default=[0.0, 0.02])
    args = parser.parse_args()
    print(f"deployer deploy of {HUBS} hubs, helm {args.helm}, --jobs {args.jobs}, {args.runs} run(s), median:")
    print(
        "| added API latency | no-op redeploy (all unchanged) | forced (--force-upgrade) | speed-up "
        "| check per release | API query |"
    )
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="bench-redeploy-") as tmp:
        work = Path(tmp)
        template, hubs = make_repo(work)
        for latency in args.latency:
            runs = [one_run(template, hubs, work, args.jobs, args.helm, latency) for _ in range(args.runs)]
            med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            print(
                f"| {latency * 1000:.0f} ms | {med['noop']:.2f} s | {med['forced']:.2f} s "
                f"| {med['forced'] / med['noop']:.1f}x | {med['check'] * 1000:.0f} ms | {med['query'] * 1000:.1f} ms |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
