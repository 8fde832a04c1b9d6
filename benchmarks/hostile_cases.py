"""Count the project's own corpus of hostile and careless input, by class, and run it: how many cases each class
has and how many of them got the behaviour their test asserts (exit 2 with one clear line, nothing half-done, no
secret anywhere, no hang).

    python benchmarks/hostile_cases.py            # collect and run (about 3 minutes)
    python benchmarks/hostile_cases.py --collect  # count only

A case is one test (one parametrized id counts once); a class is a group of test modules that attack one surface.
The table this prints is the one in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]

CLASSES: dict[str, list[str]] = {
    "broken or hostile config (names, paths, schema, secrets naming, helm parity)": [
        "tests/config/test_broken_configs.py",
        "tests/config/test_schema_patterns.py",
        "tests/config/test_helm_parity.py",
    ],
    "huge, deep and alias-bomb files": ["tests/config/test_huge_files.py", "tests/test_yamlio.py"],
    "tampered plans, reports and changed-path lists (gate, generate-matrix)": [
        "tests/test_gate.py",
        "tests/cli/test_generate_matrix.py",
    ],
    "unwritable output files (--report, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY)": ["tests/cli/test_output_files.py"],
    "export OUTDIR (repositories, kernel filesystems, FIFOs, work trees)": ["tests/export/test_export_outdir.py"],
    "secrets in output (every encoding) and on disk (SIGKILL, stale folders)": [
        "tests/test_redact.py",
        "tests/deploy/test_deploy_secrets.py",
        "tests/test_private.py",
        "tests/test_sigkill_leftovers.py",
    ],
    "interrupts, failures and concurrent deploys": [
        "tests/deploy/test_deploy_failures.py",
        "tests/deploy/test_deploy_lock.py",
    ],
}


def _class_of(nodeid: str) -> str | None:
    for name, files in CLASSES.items():
        if any(nodeid.startswith(f) for f in files):
            return name
    return None


def collect() -> collections.Counter[str]:
    files = [f for group in CLASSES.values() for f in group]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--collect-only", "-p", "no:cacheprovider", *files],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=False,
    )
    counts: collections.Counter[str] = collections.Counter()
    for line in done.stdout.splitlines():
        name = _class_of(line.strip())
        if "::" in line and name:
            counts[name] += 1
    return counts


def run() -> dict[str, collections.Counter[str]]:
    files = [f for group in CLASSES.values() for f in group]
    outcomes: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "junit.xml"
        subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}", *files],
            cwd=PROJECT,
            env=os.environ.copy(),
            capture_output=True,
            check=False,
        )
        for case in ET.parse(report).getroot().iter("testcase"):
            path = case.get("classname", "").replace(".", "/")
            name = next((n for n, fs in CLASSES.items() if any(path.startswith(f[:-3]) for f in fs)), None)
            if name is None:
                continue
            kinds = {child.tag for child in case}
            outcome = "failed" if kinds & {"failure", "error"} else "skipped" if "skipped" in kinds else "passed"
            outcomes[name][outcome] += 1
    return outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collect", action="store_true", help="count the cases only, do not run them")
    args = parser.parse_args()
    print("| class | cases | passed | failed | skipped |\n| --- | --- | --- | --- | --- |")
    if args.collect:
        counts = collect()
        for name in CLASSES:
            print(f"| {name} | {counts[name]} | | | |")
        print(f"| total | {sum(counts.values())} | | | |")
        return
    outcomes = run()
    total: collections.Counter[str] = collections.Counter()
    for name in CLASSES:
        o = outcomes[name]
        total.update(o)
        print(f"| {name} | {sum(o.values())} | {o['passed']} | {o['failed']} | {o['skipped']} |")
    print(f"| total | {sum(total.values())} | {total['passed']} | {total['failed']} | {total['skipped']} |")


if __name__ == "__main__":
    main()
