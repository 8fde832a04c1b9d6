"""Benchmark: `deployer validate` of a synthetic fleet (default 200 clusters x 10 hubs = 2,000 hubs).

    .venv/bin/python benchmarks/bench_validate.py [--clusters 200] [--hubs 10] [--runs 3]

Times the whole command in a child process (start-up included) and prints the best and median runs.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic_fleet import write_fleet


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clusters", type=int, default=200)
    parser.add_argument("--hubs", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    deployer = str(Path(sys.executable).with_name("deployer"))
    with tempfile.TemporaryDirectory() as tmp:
        root = write_fleet(Path(tmp) / "fleet", args.clusters, args.hubs)
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            proc = subprocess.run([deployer, "--repo", str(root), "validate"], capture_output=True, text=True)
            times.append(time.perf_counter() - start)
            if proc.returncode != 0:
                sys.exit(f"validate failed:\n{proc.stderr[-2000:]}")
    hubs = args.clusters * args.hubs
    print(
        f"deployer validate, {args.clusters} clusters x {args.hubs} hubs = {hubs} hubs: "
        f"best {min(times):.2f} s, median {statistics.median(times):.2f} s over {args.runs} runs"
    )


if __name__ == "__main__":
    main()
