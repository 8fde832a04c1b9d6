"""Run the same example tests with pytest-realhub and with pytest-jupyterhub, N times each, and compare.

The two suites test the same behaviour of two real components from PyPI (jupyterhub-idle-culler as a
hub-managed service, jupyterhub-nativeauthenticator through its forms):

- ``tests/examples/`` -- with pytest-realhub (a real hub in its own process; configured hubs shared per module);
- ``benchmarks/pytest_jupyterhub_suite/`` -- with pytest-jupyterhub (JupyterHub's in-process ``MockHub``, one
  per test: its ``hub_app`` fixture has function scope).

Each run is one whole ``python -m pytest`` command, timed from start to exit (wall time), the suites taking
turns (realhub, pytest-jupyterhub, realhub, ...) so that a slow phase of the machine hits both. The table shows
every run's time, the median, and the outcome counts of pytest's summary line.

Set-up: one virtualenv that has both plugins and the components::

    python3 -m venv /some/where/venv
    /some/where/venv/bin/pip install pytest-jupyterhub 'jupyterhub==6.1.1' jupyter_server ipykernel \\
        -r pytest-plugin/tests/examples/requirements.txt ./pytest-plugin

Usage (configurable-http-proxy must be on PATH, or give its folder with ``--proxy-dir``)::

    python pytest-plugin/benchmarks/compare.py --python /some/where/venv/bin/python [--runs 3]
        [--proxy-dir DIR] [--suite realhub|pytest-jupyterhub] [--show-output]

The script writes nothing into the repository: pytest runs in a temporary folder, its cache off.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
PLUGIN_ROOT = HERE.parent


@dataclass(frozen=True)
class Suite:
    """A test suite, its rootdir and ini file (if any)."""

    name: str
    path: Path
    rootdir: Path
    inifile: Path | None = None


PJH_SUITE = HERE / "pytest_jupyterhub_suite"
SUITES = (
    Suite("realhub", PLUGIN_ROOT / "tests" / "examples", PLUGIN_ROOT),
    Suite("pytest-jupyterhub", PJH_SUITE, PJH_SUITE, PJH_SUITE / "pytest.ini"),
)
OUTCOMES = ("passed", "failed", "error", "xfailed", "xpassed", "skipped")
SUMMARY = re.compile(r"(\d+) (passed|failed|errors?|xfailed|xpassed|skipped)")


@dataclass
class Run:
    """One timed pytest command."""

    seconds: float
    returncode: int
    counts: dict[str, int] = field(default_factory=dict)

    def outcome(self) -> str:
        return ", ".join(f"{n} {k}" for k, n in self.counts.items() if n) or f"no summary (exit {self.returncode})"


def summary_counts(output: str) -> dict[str, int]:
    """The outcome counts of pytest's last summary line (``2 passed, 1 failed in 3.2s``)."""
    lines = [line for line in output.splitlines() if re.search(r"\bin [\d.]+s\b", line)]
    counts = dict.fromkeys(OUTCOMES, 0)
    for number, kind in SUMMARY.findall(lines[-1] if lines else ""):
        counts["error" if kind.startswith("error") else kind] += int(number)
    return counts


def run_suite(python: str, suite: Suite, env: dict[str, str], show_output: bool) -> Run:
    """Run ``suite`` once with ``python -m pytest`` and time it.

    pytest runs in a throw-away working folder: MockHub writes files into the current one (its cookie secret).
    """
    command = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(suite.rootdir)]
    if suite.inifile:
        command += ["-c", str(suite.inifile)]
    with tempfile.TemporaryDirectory(prefix="compare-") as cwd:
        started = time.monotonic()
        proc = subprocess.run([*command, str(suite.path)], cwd=cwd, env=env, capture_output=True, text=True)
        seconds = time.monotonic() - started
    if show_output:
        print(proc.stdout[-4000:], proc.stderr[-2000:], sep="\n")
    return Run(seconds, proc.returncode, summary_counts(proc.stdout))


def versions(python: str, env: dict[str, str]) -> str:
    """The versions of JupyterHub and the two plugins in the environment of ``python``."""
    code = (
        "from importlib.metadata import version as v\n"
        "names = ('jupyterhub', 'pytest-realhub', 'pytest-jupyterhub', 'jupyterhub-idle-culler',"
        " 'jupyterhub-nativeauthenticator')\n"
        "print(', '.join(f'{n} {v(n)}' for n in names))"
    )
    proc = subprocess.run([python, "-c", code], env=env, capture_output=True, text=True, check=False)
    return proc.stdout.strip() or proc.stderr.strip().splitlines()[-1]


def table(results: dict[str, list[Run]]) -> str:
    """The results as a plain-text table: one row per suite."""
    runs = max(len(r) for r in results.values())
    head = ["suite", *(f"run {i + 1}" for i in range(runs)), "median", "outcome (each run)"]
    rows = [head]
    for name, done in results.items():
        outcomes = sorted({r.outcome() for r in done})
        rows.append(
            [
                name,
                *(f"{r.seconds:.1f} s" for r in done),
                f"{statistics.median(r.seconds for r in done):.1f} s",
                " | ".join(outcomes),
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=sys.executable, help="the virtualenv's python (default: this one)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each suite (default 3)")
    parser.add_argument("--proxy-dir", help="folder of configurable-http-proxy, put first on the tests' PATH")
    parser.add_argument("--suite", choices=[s.name for s in SUITES], help="run only this suite")
    parser.add_argument("--show-output", action="store_true", help="print the tail of every run's output")
    args = parser.parse_args(argv)

    env = dict(os.environ)  # the children's environment; this process's own is left alone
    if args.proxy_dir:
        env["PATH"] = os.pathsep.join([str(Path(args.proxy_dir).resolve()), env.get("PATH", "")])
    suites = [s for s in SUITES if args.suite in (None, s.name)]
    print(versions(args.python, env))
    results: dict[str, list[Run]] = {s.name: [] for s in suites}
    for i in range(args.runs):
        for suite in suites:
            run = run_suite(args.python, suite, env, args.show_output)
            results[suite.name].append(run)
            print(f"run {i + 1} {suite.name}: {run.seconds:.1f} s, {run.outcome()}", flush=True)
    print()
    print(table(results))
    if len(suites) == 2:
        ours, theirs = (statistics.median(r.seconds for r in results[s.name]) for s in suites)
        print(f"\nrealhub / pytest-jupyterhub (medians): {ours / theirs:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
