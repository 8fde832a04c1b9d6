"""Time ``deployer validate`` of a cluster.yaml just under its 1 MiB size limit, with one error in its last hub,
and the error path alone (parsing the file, then finding the error's line); and of a values file just under the
limit (200,000 entries) with a schema error at its end.

    python benchmarks/bench_big_file.py [--runs 3]

The file holds one cluster of dense hubs (about 8,000, all with the same values file); the last one has an
unknown key. Before the size limit and the libyaml-based ``yamlio.line_of``, finding that line re-parsed the file
with ruamel (minutes for tens of MB); a bigger file is now refused from its size alone.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from deployer import yamlio
from deployer.userfiles import MAX_CLUSTER_FILE, MAX_CONFIG_FILE

PROJECT = Path(__file__).resolve().parents[1]
HUB = (
    "  - name: hub-{i}\n    domain: hub-{i}.big.example.org\n    helm_chart: basehub\n"
    "    helm_chart_values_files: [common.values.yaml]\n"
)


def write_cluster(folder: Path) -> tuple[Path, int]:
    """The near-limit cluster.yaml (and its values file) in ``folder``; its path and the line of the error."""
    head = "name: big\nprovider: kubeconfig\nkubeconfig:\n  context: x\nhubs:\n"
    hubs, size, i = [], len(head) + 100, 0
    while size + len(HUB.format(i=i)) < MAX_CLUSTER_FILE - 100:
        hubs.append(HUB.format(i=i))
        size, i = size + len(hubs[-1]), i + 1
    text = head + "".join(hubs) + "    colour: red\n"
    folder.mkdir(parents=True)
    (folder / "cluster.yaml").write_text(text)
    (folder / "common.values.yaml").write_text("identity:\n  cluster: big\n")
    return folder / "cluster.yaml", text.count("\n")


def write_values_cluster(folder: Path) -> int:
    """A one-hub cluster whose values file is just under the limit (200,000 entries) with an error at its end;
    the line of the error."""
    folder.mkdir(parents=True)
    (folder / "cluster.yaml").write_text(
        "name: vals\nprovider: kubeconfig\nkubeconfig:\n  context: x\nhubs:\n  - name: h\n    domain: h.example.org\n"
        "    helm_chart: basehub\n    helm_chart_values_files: [h.values.yaml]\n"
    )
    env = "".join(f"      VARIABLE_NUMBER_{i}: value-{i}\n" for i in range(200_000))
    text = f"identity: {{}}\njupyterhub:\n  hub:\n    extraEnv:\n{env}networkPolicy:\n  enabled: maybe\n"
    (folder / "h.values.yaml").write_text(text)
    assert len(text) <= MAX_CONFIG_FILE
    return text.count("\n")


def timed_validate(root: str, cluster: str, expected: str) -> float:
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "deployer", "--repo", root, "validate", cluster, "--no-decrypt"],
        capture_output=True,
        text=True,
    )
    elapsed = time.monotonic() - start
    assert done.returncode == 2 and expected in done.stderr, done.stderr[-2000:]
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as tmp2:
        for where in (tmp, tmp2):  # two repositories: validate reads every cluster.yaml (domains are fleet-wide)
            subprocess.run(["cp", "-r", str(PROJECT / "helm-charts"), str(PROJECT / "schemas"), where], check=True)
        path, line = write_cluster(Path(tmp) / "config" / "clusters" / "big")
        print(f"{path.stat().st_size} bytes, error on line {line}")
        values_line = write_values_cluster(Path(tmp2) / "config" / "clusters" / "vals")
        parse, find, cli, values_cli = [], [], [], []
        for _ in range(args.runs):
            yamlio._positions.cache_clear()
            start = time.monotonic()
            yamlio.load(path)
            parse.append(time.monotonic() - start)
            start = time.monotonic()
            found = yamlio.line_of(path, ["hubs", line // 4 - 2, "colour"])
            find.append(time.monotonic() - start)
            assert found == line, found
            cli.append(timed_validate(tmp, "big", f"cluster.yaml:{line}: "))
            values_cli.append(timed_validate(tmp2, "vals", f"h.values.yaml:{values_line}: "))
        for name, times in (
            ("cluster.yaml: parse", parse),
            ("cluster.yaml: line_of", find),
            ("cluster.yaml: deployer validate", cli),
            ("values file: deployer validate", values_cli),
        ):
            print(f"{name}: best {min(times):.2f} s, median {statistics.median(times):.2f} s")


if __name__ == "__main__":
    main()
