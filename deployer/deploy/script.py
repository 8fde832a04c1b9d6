"""``--dry-run``: the plain helm and sops commands that do the same deploy, runnable as printed in bash.

``dry_run_script(root, cluster, hubs, env=...) -> str`` touches no cluster and decrypts nothing; it only asks the
local helm for its version (flags differ between helm 3 and 4). The helm command lines come from the same builders
(``deployer.helm_argv``) the deploy runs, with the differences a person needs:

- secret values files are read through process substitution, ``--values <(sops --decrypt FILE)``, so their
  plaintext never lands on disk; each secret file is first decrypted to ``/dev/null`` so that a missing key stops
  the script (a failure inside ``<(...)`` would not);
- the cluster is reached as its provider says by hand (``deployer.auth.manual_access``): credentials a CLI must
  keep on disk (a decrypted kubeconfig, gcloud's or az's login) go to a private temporary folder that the script
  removes when it exits, and a comment above those lines says what lands there;
- dependency builds are always listed (``charts/`` is not committed), with the ``helm repo add`` lines a fresh
  machine needs, as comments;
- a hub's generated ``deployer-facts.values.yaml`` (``deployer.hubfacts``, the same text the deploy writes) is
  put into a shell variable by a heredoc just above its helm command and passed FIRST, through
  ``--values <(printf ...)``, so plain helm gets exactly the values the deployer passes.

Order and gating are the deploy's: support, canaries, then prod hubs (one after the other here); with
``set -euo pipefail`` a failure stops everything after it. Paths are relative to the repository root.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from deployer import helm_argv, hubfacts
from deployer.auth import manual_access
from deployer.charts import build_order
from deployer.deploy.dependencies import repo_add_hints
from deployer.deploy.engine import DeployOptions, HelmCli, load_release_order
from deployer.deploy.jobs import Job, ReleaseOrder
from deployer.errors import ConfigError, Problem
from deployer.repo import relative
from deployer.run import Runner
from deployer.secret_files import is_secret_file
from deployer.shellwords import Raw, shell_join, sops_check, sops_decrypt

FACTS_END = "DEPLOYER_FACTS"  # the heredoc's delimiter


def facts_lines(job: Job, text: str) -> tuple[list[str], Raw]:
    """The lines that put a hub's generated values into a shell variable, and the ``--values`` argument that
    passes them to helm."""
    var = "facts_" + job.release.replace("-", "_")  # hub names are DNS labels: no "_" to collide with
    lines = [
        f"# {job.release}: {hubfacts.FILE_NAME}, generated from its cluster.yaml entry, first in the values order",
        f"{var}=\"$(cat <<'{FACTS_END}'",
        *text.rstrip("\n").split("\n"),
        FACTS_END,
        ')"',
    ]
    return lines, Raw(f"<(printf '%s\\n' \"${var}\")")


def check_files(root: Path, order: ReleaseOrder) -> None:
    """The dry run's checks (no decryption): every chart and values file exists."""
    problems = []
    for job in order.jobs:
        if not (root / job.chart_path / "Chart.yaml").is_file():
            problems.append(
                Problem(order.cluster.file, None, f"{job.release}: chart folder {job.chart_path} not found")
            )
        for rel in job.values_files:
            if not (root / rel).is_file():
                problems.append(Problem(rel, None, f"{job.release}: values file not found"))
    if problems:
        raise ConfigError(problems)


def job_command(
    job: Job, *, major: int, options: DeployOptions, target: helm_argv.KubeTarget, facts: str | None = None
) -> str:
    """The job's helm command; ``facts``: its generated values (``hubfacts.facts_text``), heredoc lines first."""
    values: list[str] = [sops_decrypt(rel) if is_secret_file(rel) else rel for rel in job.values_files]
    before: list[str] = []
    if facts is not None:
        before, argument = facts_lines(job, facts)
        values.insert(0, argument)
    helm = shell_join(
        [
            "helm",
            *helm_argv.upgrade_args(
                job.release,
                job.chart_path,
                namespace=job.namespace,
                values_files=values,
                major=major,
                wait=options.wait,
                timeout=options.timeout,
                target=target,
            ),
        ]
    )
    return "\n".join([*before, helm])


def dry_run_script(
    root: Path,
    cluster_name: str,
    hubs: Sequence[str] | None = None,
    *,
    env: Mapping[str, str],
    support: bool | None = None,
    options: DeployOptions = DeployOptions(),
    runner: Runner | None = None,
) -> str:
    order = load_release_order(root, cluster_name, hubs, support=support)
    check_files(root, order)
    helm_cli = HelmCli(root, runner or Runner(), env)
    releases = ", ".join(j.release for j in order.jobs) or "nothing"
    lines = [
        f"# The deploy of cluster {cluster_name} ({releases}) as plain helm (v{helm_cli.major}) and sops commands;",
        "# run them in bash from the repository root.",
        "# Nothing was deployed or decrypted to print this. Secret values reach helm through <(sops --decrypt ...).",
        "set -euo pipefail",
    ]
    access = manual_access(order.cluster)
    lines += access.lines
    chart_dirs: list[Path] = []
    for chart in order.charts():
        for path in build_order(root / chart):
            if path not in chart_dirs:
                chart_dirs.append(path)
    if chart_dirs:
        lines.append("# chart dependencies, from each chart's committed Chart.lock; once per machine first:")
        lines += ["#   " + shell_join(["helm", *argv]) for argv in repo_add_hints(chart_dirs)]
        lines += [shell_join(["helm", *helm_argv.dependency_build_args(relative(root, p))]) for p in chart_dirs]
    secrets = list(dict.fromkeys(rel for job in order.jobs for rel in job.secret_files))
    if secrets:
        lines.append("# check that every secret file can be decrypted here before deploying anything")
        lines += [sops_check(rel) for rel in secrets]
    stages = [
        ("support (cluster-wide services)", [order.support] if order.support else []),
        ("canary hubs, one by one: each must deploy before the prod hubs", list(order.canaries)),
        ("prod hubs (the deployer runs these in parallel)", list(order.prod)),
    ]
    for title, jobs in stages:
        if jobs:
            lines.append(f"# {title}")
            lines += [
                job_command(
                    job,
                    major=helm_cli.major,
                    options=options,
                    target=access.target,
                    facts=hubfacts.facts_text(job.facts, root / job.chart_path) if job.facts else None,
                )
                for job in jobs
            ]
    return "\n".join(lines) + "\n"
