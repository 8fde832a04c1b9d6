"""Benchmark: `deployer generate-matrix` on a synthetic fleet (default 200 clusters x 10 hubs) with 500
changed paths, the whole process timed (start-up included).

    .venv/bin/python benchmarks/bench_plan.py [--clusters 200] [--hubs 10] [--paths 500] [--runs 5]

Beyond the fleet's values and cluster files, the changed paths alternate between files of the basehub chart
(each one more reason for the same ~1,600 hubs) and unknown paths: `--paths 10000` and `--paths 100000` measure
how planning scales with the number of changed paths.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic_fleet import write_fleet


def changed_paths(root: Path, count: int) -> list[str]:
    """A fixed mix: mostly values files, some cluster.yaml files, chart files, docs and unknown paths."""
    rng = random.Random(42)
    values = sorted(p.relative_to(root).as_posix() for p in root.glob("config/clusters/*/*.values.yaml"))
    clusters = sorted(p.relative_to(root).as_posix() for p in root.glob("config/clusters/*/cluster.yaml"))
    picks = rng.sample(values, min(len(values), count - 20)) + rng.sample(clusters, min(len(clusters), 10))
    picks += ["helm-charts/daskhub/values.yaml", "README.md", "docs/guide.md", "tests/test_x.py"]
    # the rest: alternately files of a chart most hubs use (every one a reason for the same hubs: the case that
    # was quadratic) and paths no rule knows
    picks += [
        f"helm-charts/basehub/files/file-{i}.txt" if i % 2 == 0 else f"unknown/file-{i}.txt"
        for i in range(count - len(picks))
    ]
    return picks[:count]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clusters", type=int, default=200)
    parser.add_argument("--hubs", type=int, default=10)
    parser.add_argument("--paths", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    deployer = str(Path(sys.executable).with_name("deployer"))
    with tempfile.TemporaryDirectory() as tmp:
        root = write_fleet(Path(tmp) / "fleet", args.clusters, args.hubs)
        listing = Path(tmp) / "changed.txt"
        listing.write_text("\n".join(changed_paths(root, args.paths)) + "\n")
        times, legs = [], 0
        for _ in range(args.runs):
            start = time.perf_counter()
            proc = subprocess.run(
                [deployer, "--repo", str(root), "generate-matrix", "--from", str(listing)],
                capture_output=True,
                text=True,
            )
            times.append(time.perf_counter() - start)
            if proc.returncode != 0:
                sys.exit(f"generate-matrix failed:\n{proc.stderr[-2000:]}")
            data = json.loads(proc.stdout)
            legs = sum(len(data[k]) for k in ("support", "canary", "prod"))
    print(
        f"deployer generate-matrix, {args.clusters} clusters x {args.hubs} hubs, {args.paths} changed paths "
        f"({legs} legs): best {min(times):.3f} s, median {statistics.median(times):.3f} s over {args.runs} runs"
    )


if __name__ == "__main__":
    main()
