"""Write a synthetic config repository: CLUSTERS clusters x HUBS hubs each, with the project's charts.

    python benchmarks/synthetic_fleet.py OUTDIR --clusters 200 --hubs 10

Each cluster has a support entry, a canary and prod hubs (every 5th one a daskhub), a shared
common.values.yaml plus one values file per hub; no secret files (secrets cost one sops process each and
are benchmarked separately). Validating it reads the real dependency charts' schemas (jupyterhub, dask-gateway,
cert-manager, prometheus and its subcharts). Used by the validate and plan benchmarks.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]


def write_fleet(out: Path, clusters: int, hubs: int) -> Path:
    # Built dependency archives (helm-charts/*/charts/) come along when present; without them validate finds the
    # pinned archives through DEPLOYER_CHART_MIRROR or helm's cache.
    shutil.copytree(PROJECT / "helm-charts", out / "helm-charts")
    shutil.copytree(PROJECT / "schemas", out / "schemas")
    for c in range(clusters):
        name = f"cluster-{c:04d}"
        folder = out / "config" / "clusters" / name
        folder.mkdir(parents=True)
        lines = [
            f"name: {name}",
            "provider: gcp",
            "gcp:",
            f"  project: project-{c:04d}",
            "  location: us-central1",
            f"  cluster: {name}",
            "support:",
            "  helm_chart_values_files: [support.values.yaml]",
            "hubs:",
        ]
        (folder / "support.values.yaml").write_text("clusterIssuer:\n  enabled: true\n  email: ops@example.org\n")
        (folder / "common.values.yaml").write_text(
            f"identity:\n  cluster: {name}\njupyterhub:\n  singleuser:\n    memory: {{guarantee: 1G, limit: 2G}}\n"
        )
        for h in range(hubs):
            hub = f"hub-{h:03d}"
            dask = h % 5 == 4
            lines += [
                f"  - name: {hub}",
                f"    domain: {hub}.{name}.example.org",
                f"    helm_chart: {'daskhub' if dask else 'basehub'}",
            ]
            if h == 0:
                lines.append("    canary: true")
            if dask:
                lines.append(f"    helm_chart_values_files: [{hub}.values.yaml]")
                (folder / f"{hub}.values.yaml").write_text(
                    f"basehub:\n  identity:\n    cluster: {name}\n    displayName: Hub {h}\n"
                    f"  jupyterhub:\n    ingress:\n      hosts: [{hub}.{name}.example.org]\n"
                )
            else:
                lines.append(f"    helm_chart_values_files: [common.values.yaml, {hub}.values.yaml]")
                (folder / f"{hub}.values.yaml").write_text(
                    f"identity:\n  displayName: Hub {h}\n"
                    f"jupyterhub:\n  ingress:\n    hosts: [{hub}.{name}.example.org]\n"
                )
        (folder / "cluster.yaml").write_text("\n".join(lines) + "\n")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--clusters", type=int, default=200)
    parser.add_argument("--hubs", type=int, default=10)
    args = parser.parse_args()
    write_fleet(args.out, args.clusters, args.hubs)
    print(f"wrote {args.clusters} clusters x {args.hubs} hubs to {args.out}")


if __name__ == "__main__":
    main()
