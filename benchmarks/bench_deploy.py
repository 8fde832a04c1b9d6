"""Time ``deployer deploy`` of a cluster of 1 canary + 12 prod hubs against the local Kubernetes API stand-in.

Usage: .venv/bin/python benchmarks/bench_deploy.py [--runs N] [--jobs 1 4] [--latency 0 0.02] [--helm 4 3]

For each ``--jobs`` value and run: a fresh stand-in (so every release is a new install), a fresh copy of a
synthetic cluster (13 basehub hubs, each with a common values file, its own, and a sops-encrypted one) whose
``helm-charts/basehub/charts/`` is removed, so the deploy must build the chart's dependencies itself (the REAL
jupyterhub chart, from the chart mirror ``DEPLOYER_CHART_MIRROR`` when set, else from its repository). The real
``deployer`` console script runs with ``--verbose --report``; from its output the benchmark reads the total wall
time (start-up included), each release's seconds, and how many ``helm dependency build`` commands ran.

``--latency``: seconds the stand-in adds before serving each API request. With none, everything is CPU on this
machine (helm processes and the single-process Python stand-in share the cores); with some, the deploy waits on
the API as it does on a real, remote cluster, which is where parallel releases pay off. ``--helm``: the helm
majors to run (the pinned ``.tools/bin/helm3`` / ``helm4``, given to the deployer as ``DEPLOYER_HELM``).
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

from deployer.testing.chart_cache import copy_charts  # noqa: E402
from deployer.testing.kubeapi import KubeAPIServer  # noqa: E402
from deployer.tools import find_tool  # noqa: E402
from helpers import DEMO_KEY, demo_recipient, sops_encrypt  # noqa: E402

PROD_HUBS = 12
DEPLOYER = str(Path(sys.executable).with_name("deployer"))


def make_repo(base: Path) -> Path:
    root = base / "repo"
    cdir = root / "config" / "clusters" / "bench"
    cdir.mkdir(parents=True)
    shutil.copytree(REPO / "schemas", root / "schemas")
    copy_charts(REPO / "helm-charts", root / "helm-charts")
    write_cluster(cdir, ["canary"] + [f"prod-{i:02d}" for i in range(1, PROD_HUBS + 1)])
    return root


def write_cluster(cdir: Path, hubs: list[str], *, secret_per_hub: bool = False) -> None:
    """The bench cluster in ``cdir``: the first of ``hubs`` the canary, each hub with a common, an own and an
    encrypted values file (one encryption shared by all, or with ``secret_per_hub`` one per hub, distinct values)."""
    (cdir / "common.values.yaml").write_text(
        "identity:\n  cluster: bench\njupyterhub:\n  hub:\n    config:\n      JupyterHub:\n"
        "        authenticator_class: dummy\n  proxy:\n    service:\n      type: ClusterIP\n"
    )
    password = "jupyterhub:\n  hub:\n    config:\n      DummyAuthenticator:\n        password: {}\n"
    shared = cdir / "enc-hub.secret.values.yaml"
    if not secret_per_hub:
        shared.write_text(password.format("bench-secret"))
        sops_encrypt(shared, demo_recipient())
    lines = ["name: bench", "provider: kubeconfig", "kubeconfig:", "  context: deployer-local", "hubs:"]
    for name in hubs:
        (cdir / f"{name}.values.yaml").write_text(f"identity:\n  displayName: Hub {name}\n")
        secret = cdir / f"enc-{name}.secret.values.yaml"
        if secret_per_hub:
            secret.write_text(password.format(f"s-{name}"))
            sops_encrypt(secret, demo_recipient())
        else:
            shutil.copy(shared, secret)  # sops files do not depend on their name
        lines += [
            f"  - name: {name}",
            f"    domain: {name}.bench.example.org",
            "    helm_chart: basehub",
            f"    canary: {'true' if name == hubs[0] else 'false'}",
            "    helm_chart_values_files:",
            "      - common.values.yaml",
            f"      - {name}.values.yaml",
            f"      - {secret.name}",
        ]
    shared.unlink(missing_ok=True)  # each hub has its copy: no unlisted values file left
    (cdir / "cluster.yaml").write_text("\n".join(lines) + "\n")


def one_run(template: Path, work: Path, jobs: int, helm: int, latency: float) -> dict:
    root = work / f"run-{time.monotonic_ns()}"
    shutil.copytree(template, root)
    shutil.rmtree(root / "helm-charts" / "basehub" / "charts", ignore_errors=True)
    with KubeAPIServer() as server:
        server.latency = latency
        kubeconfig = server.write_kubeconfig(work / "kubeconfig")
        mirror = os.environ.get("DEPLOYER_CHART_MIRROR")
        env = {
            "PATH": f"{REPO / '.tools' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOME": os.environ.get("HOME", "/"),
            "SOPS_AGE_KEY_FILE": str(DEMO_KEY),
            "KUBECONFIG": str(kubeconfig),
            "KUBECACHEDIR": str(work / "kube-cache"),
            "DEPLOYER_HELM": str(REPO / ".tools" / "bin" / f"helm{helm}"),
            **({"DEPLOYER_CHART_MIRROR": mirror} if mirror else {}),
        }
        report_file = work / "report.json"
        started = time.perf_counter()
        done = subprocess.run(
            [
                DEPLOYER,
                "--repo",
                str(root),
                "deploy",
                "bench",
                "--jobs",
                str(jobs),
                "--verbose",
                "--report",
                str(report_file),
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        total = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"deploy failed:\n{done.stdout}\n{done.stderr}")
    results = json.loads(report_file.read_text())["results"]
    builds = [line for line in done.stderr.splitlines() if line.startswith("$ ") and " dependency build " in line]
    build_seconds = sum(float(line.rsplit("(", 1)[1].split()[0]) for line in builds)
    shutil.rmtree(root)
    return {
        "total": total,
        "sum": sum(r["seconds"] for r in results),
        "releases": len(results),
        "builds": len(builds),
        "build_seconds": build_seconds,
        "deployed": sum(r["status"] == "deployed" for r in results),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 4])
    parser.add_argument(
        "--latency",
        type=float,
        nargs="+",
        default=[0.0, 0.02],
        help="seconds the stand-in adds to every API request (a distant API server)",
    )
    parser.add_argument("--helm", type=int, nargs="+", default=[4], choices=[3, 4], help="helm majors to run")
    args = parser.parse_args()
    find_tool("helm", REPO)
    with tempfile.TemporaryDirectory(prefix="bench-deploy-") as tmp:
        work = Path(tmp)
        template = make_repo(work)
        print(
            f"cluster: 1 canary + {PROD_HUBS} prod hubs (basehub, 3 values files each, one sops-encrypted); "
            f"{args.runs} runs per --jobs value, each on a fresh stand-in, basehub/charts/ removed before each run"
        )
        print(
            "| helm | added API latency | --jobs | total wall time (median) | min | sum of the 13 release times "
            "(median) | total / sum | dependency builds per run |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for helm, latency, jobs in [(h, lat, j) for h in args.helm for lat in args.latency for j in args.jobs]:
            runs = [one_run(template, work, jobs, helm, latency) for _ in range(args.runs)]
            assert all(r["deployed"] == r["releases"] == PROD_HUBS + 1 for r in runs)
            totals = [r["total"] for r in runs]
            sums = [r["sum"] for r in runs]
            builds = sorted({r["builds"] for r in runs})
            build_time = statistics.median(r["build_seconds"] for r in runs)
            print(
                f"| {helm} | {latency * 1000:.0f} ms | {jobs} | {statistics.median(totals):.2f} s "
                f"| {min(totals):.2f} s | {statistics.median(sums):.2f} s "
                f"| {statistics.median(totals) / statistics.median(sums):.2f} | "
                f"{', '.join(map(str, builds))} (helm-charts/basehub, {build_time:.2f} s) |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
