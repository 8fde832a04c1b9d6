"""``--dry-run``: the plain helm and sops commands that do the same deploy, runnable as printed in bash.

``dry_run_script(root, cluster, hubs, env=...) -> str`` touches no cluster and decrypts nothing; it only asks the
local helm for its version (flags differ between helm 3 and 4). The helm command lines come from the same builders
(``deployer.helm``) the deploy runs, with two differences a person needs:

- secret values files are read through process substitution, ``--values <(sops --decrypt FILE)``, so plaintext
  never lands on disk; each secret file is first decrypted to ``/dev/null`` so that a missing key stops the script
  (a failure inside ``<(...)`` would not);
- dependency builds are always listed (``charts/`` is not committed), with the ``helm repo add`` lines a fresh
  machine needs, as comments.

Order and gating are the deploy's: support, canaries, then prod hubs (one after the other here); with
``set -euo pipefail`` a failure stops everything after it. Paths are relative to the repository root.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Mapping, Sequence

from deployer import helm as H
from deployer.charts import build_order
from deployer.config.model import AwsSpec, AzureSpec, ClusterConfig, GcpSpec, KubeconfigSpec
from deployer.deploy.dependencies import repo_add_hints
from deployer.deploy.engine import DeployOptions, Helm, load_plan
from deployer.deploy.jobs import Job, Plan, is_secret_file
from deployer.errors import ConfigError, Problem
from deployer.repo import relative
from deployer.run import Runner


class Raw(str):
    """A shell word printed as is (process substitution, a variable); every other word is quoted."""


def shell_join(argv: Sequence[str]) -> str:
    return " ".join(a if isinstance(a, Raw) else shlex.quote(a) for a in argv)


def sops_decrypt(rel: str) -> Raw:
    return Raw(f"<(sops --decrypt {shlex.quote(rel)})")


def access_lines(cluster: ClusterConfig) -> tuple[list[str], H.KubeTarget]:
    """The commands that reach the cluster, and the flags helm then needs."""
    spec = cluster.spec
    key = cluster.key_file
    if isinstance(spec, KubeconfigSpec):
        if spec.file is None:
            return [f"# cluster {cluster.name}: your KUBECONFIG" + (f", context {spec.context}" if spec.context else
                                                                     ", current context")], \
                H.KubeTarget(context=spec.context)
        return ([f"# cluster {cluster.name}: its sops-encrypted kubeconfig, decrypted to a private temporary file",
                 "kubeconfig=\"$(mktemp)\"; trap 'rm -f \"$kubeconfig\"' EXIT",
                 f"sops --decrypt {shlex.quote(key or '')} > \"$kubeconfig\""],
                H.KubeTarget(kubeconfig=Raw('"$kubeconfig"'), context=spec.context))
    if isinstance(spec, GcpSpec):
        lines = [f"# cluster {cluster.name}: GKE; this sets your current kubeconfig context"]
        if key:
            lines.append(shell_join(["gcloud", "auth", "activate-service-account", Raw("--key-file=" + sops_decrypt(key))]))
        lines.append(shell_join(["gcloud", "container", "clusters", "get-credentials", spec.cluster,
                                 "--project", spec.project, "--location", spec.location]))
        return lines, H.KubeTarget()
    if isinstance(spec, AwsSpec):
        lines = [f"# cluster {cluster.name}: EKS; this sets your current kubeconfig context"]
        if key:
            lines.append(f"# credentials: the AWS keys in {key} (sops --decrypt {shlex.quote(key)})")
        argv = ["aws", "eks", "update-kubeconfig", "--name", spec.cluster, "--region", spec.region]
        if spec.role_arn:
            argv += ["--role-arn", spec.role_arn]
        return [*lines, shell_join(argv)], H.KubeTarget()
    if isinstance(spec, AzureSpec):
        lines = [f"# cluster {cluster.name}: AKS; this sets your current kubeconfig context"]
        if key:
            lines.append(f"# credentials: the service principal in {key} (sops --decrypt {shlex.quote(key)})")
        argv = ["az", "aks", "get-credentials", "--resource-group", spec.resource_group, "--name", spec.cluster,
                "--subscription", spec.subscription_id, "--overwrite-existing"]
        return [*lines, shell_join(argv)], H.KubeTarget()
    return [f"# cluster {cluster.name}: make your current kubeconfig context reach it"], H.KubeTarget()


def check_files(root: Path, plan: Plan) -> None:
    """The dry run's checks (no decryption): every chart and values file exists."""
    problems = []
    for job in plan.jobs:
        if not (root / job.chart / "Chart.yaml").is_file():
            problems.append(Problem(plan.cluster.file, None, f"{job.release}: chart folder {job.chart} not found"))
        for rel in job.values_files:
            if not (root / rel).is_file():
                problems.append(Problem(rel, None, f"{job.release}: values file not found"))
    if problems:
        raise ConfigError(problems)


def job_command(job: Job, *, major: int, options: DeployOptions, target: H.KubeTarget) -> str:
    values = [sops_decrypt(rel) if is_secret_file(rel) else rel for rel in job.values_files]
    return shell_join(["helm", *H.upgrade_args(job.release, job.chart, namespace=job.namespace, values_files=values,
                                               major=major, wait=options.wait, timeout=options.timeout,
                                               target=target)])


def dry_run_script(root: Path, cluster_name: str, hubs: Sequence[str] | None = None, *, env: Mapping[str, str],
                   support: bool | None = None, options: DeployOptions = DeployOptions(),
                   runner: Runner | None = None) -> str:
    plan = load_plan(root, cluster_name, hubs, support=support)
    check_files(root, plan)
    helm = Helm(root, runner or Runner(), env)
    releases = ", ".join(j.release for j in plan.jobs) or "nothing"
    lines = [
        f"# The deploy of cluster {cluster_name} ({releases}) as plain helm (v{helm.major}) and sops commands;",
        "# run them in bash from the repository root.",
        "# Nothing was deployed or decrypted to print this. Secret values reach helm through <(sops --decrypt ...).",
        "set -euo pipefail",
    ]
    access, target = access_lines(plan.cluster)
    lines += access
    chart_dirs: list[Path] = []
    for chart in plan.charts():
        for path in build_order(root / chart):
            if path not in chart_dirs:
                chart_dirs.append(path)
    if chart_dirs:
        lines.append("# chart dependencies, from each chart's committed Chart.lock; once per machine first:")
        lines += ["#   " + shell_join(["helm", *argv]) for argv in repo_add_hints(chart_dirs)]
        lines += [shell_join(["helm", *H.dependency_build_args(relative(root, p))]) for p in chart_dirs]
    secrets = list(dict.fromkeys(rel for job in plan.jobs for rel in job.secret_files))
    if secrets:
        lines.append("# check that every secret file can be decrypted here before deploying anything")
        lines += [f"sops --decrypt {shlex.quote(rel)} > /dev/null" for rel in secrets]
    stages = [("support (cluster-wide services)", [plan.support] if plan.support else []),
              ("canary hubs, one by one: each must deploy before the prod hubs", list(plan.canaries)),
              ("prod hubs (the deployer runs these in parallel)", list(plan.prod))]
    for title, jobs in stages:
        if jobs:
            lines.append(f"# {title}")
            lines += [job_command(job, major=helm.major, options=options, target=target) for job in jobs]
    return "\n".join(lines) + "\n"
