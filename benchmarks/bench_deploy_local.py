"""Time a first ``deployer deploy local`` (the example fleet's local cluster: support with cert-manager, ingress-nginx,
prometheus and a ClusterIssuer, then the canary hub, then the prod hub) with the REAL dependency charts, helm 3 vs
helm 4, each run on a fresh local Kubernetes API stand-in.

Usage: .venv/bin/python benchmarks/bench_deploy_local.py [--runs N] [--helm 4 3]

Chart dependencies are built once beforehand (from ``DEPLOYER_CHART_MIRROR`` when set, else from the repositories),
so the figure is the deploy itself: the real ``deployer`` console script (start-up, validation with the real
schemas, sops decryption, three ``helm upgrade --install --wait``), read from its ``--report``.
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

from deployer.chart_mirror import mirror_dir  # noqa: E402
from deployer.testing.chart_cache import ChartCache  # noqa: E402
from deployer.testing.kubeapi import KubeAPIServer  # noqa: E402

DEPLOYER = str(Path(sys.executable).with_name("deployer"))


def one_run(template: Path, work: Path, helm: Path) -> dict:
    root = work / f"run-{time.monotonic_ns()}"
    shutil.copytree(template, root)
    with KubeAPIServer() as server:
        kubeconfig = server.write_kubeconfig(work / "kubeconfig", context="deployer-local")
        env = {
            "PATH": f"{REPO / '.tools' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOME": os.environ.get("HOME", "/"),
            "SOPS_AGE_KEY_FILE": str(REPO / "config" / "DEMO-ONLY.age-key.txt"),
            "KUBECONFIG": str(kubeconfig),
            "KUBECACHEDIR": str(work / "kube-cache"),
            "DEPLOYER_HELM": str(helm),
        }
        report = work / "report.json"
        started = time.perf_counter()
        done = subprocess.run(
            [DEPLOYER, "--repo", str(root), "deploy", "local", "--report", str(report)],
            env=env,
            capture_output=True,
            text=True,
        )
        total = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"deploy failed with {helm}:\n{done.stdout}\n{done.stderr}")
    results = {r["release"]: r["seconds"] for r in json.loads(report.read_text())["results"]}
    shutil.rmtree(root)
    return {"total": total, **results}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--helm", type=int, nargs="+", default=[4, 3], choices=[3, 4])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-deploy-local-") as tmp:
        work = Path(tmp)
        template = work / "repo"
        for folder in ("config", "schemas"):
            shutil.copytree(REPO / folder, template / folder)
        cache = ChartCache(helm=str(REPO / ".tools" / "bin" / "helm4"), mirror=mirror_dir(os.environ))
        cache.copy_charts(REPO / "helm-charts", template / "helm-charts")
        print(
            f"deployer deploy local (support + staging + prod, real charts), {args.runs} runs per helm, "
            "each on a fresh stand-in"
        )
        print("| helm | total wall time (median) | min | support | staging | prod |")
        print("|---|---|---|---|---|---|")
        for major in args.helm:
            runs = [one_run(template, work, REPO / ".tools" / "bin" / f"helm{major}") for _ in range(args.runs)]
            med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            print(
                f"| {major} | {med['total']:.2f} s | {min(r['total'] for r in runs):.2f} s | {med['support']:.2f} s "
                f"| {med['staging']:.2f} s | {med['prod']:.2f} s |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
