"""Looking before deploying: ``template`` (what helm would apply) and ``diff`` (what a deploy would change).

- ``template(root, cluster, release, env=...) -> str``: ``helm template`` of one hub (or ``support``) from exactly
  the inputs the deploy uses (chart, release, namespace, values files in order, secrets decrypted to private
  temporary files). Validated first; needs no cluster. Secret data is redacted unless ``show_secrets``.
- ``diff(root, cluster, hubs, env=...) -> list[ReleaseDiff]``: for each release the deploy would touch, the
  unified diff between the live manifest (``helm get manifest``; empty for a release not installed yet) and the one
  a deploy would apply (``helm upgrade --install --dry-run=server``, so ``lookup`` sees the cluster as the real
  upgrade does). Secret values are decoded and diffed line by line, masking values of encrypted files (the run's
  redactor), keys that look secret and binary data (``deploy.secretdiff``). Any failure raises ``PreviewError``
  (exit 2), because "could not tell" must not read as "no changes" or "changes".
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from deployer import helm_argv
from deployer.deploy.dependencies import prepare
from deployer.deploy.engine import HelmCli, access_session, load_release_order, validate_releases, values_for
from deployer.deploy.jobs import Job, ReleaseOrder, order_releases, support_job
from deployer.deploy.manifests import manifest_diff, redact_secrets
from deployer.errors import DeployerError, UsageError
from deployer.run import Runner


class PreviewError(DeployerError):
    """diff/template could not be computed."""

    exit_code = 2


class ChangesFound(DeployerError):
    """``diff`` found changes: exit 1, so CI can tell."""


@dataclass(frozen=True)
class ReleaseDiff:
    release: str
    namespace: str
    installed: bool
    diff: str  # "" when nothing would change

    @property
    def changed(self) -> bool:
        return bool(self.diff)


def template(
    root: Path,
    cluster_name: str,
    release: str,
    *,
    env: Mapping[str, str],
    show_secrets: bool = False,
    runner: Runner | None = None,
) -> str:
    from deployer.private import private_dir

    order = _one_release(root, cluster_name, release)
    runner = runner or Runner()
    deps, _ = prepare(root, order.charts(), env, runner)
    job = order.jobs[0]
    deps.ensure(job.chart_path)  # raises the dependency error, if any, before anything else
    validate_releases(root, order, env=env, runner=runner)
    helm_cli = HelmCli(root, runner, env)
    with private_dir() as workdir, values_for(job, root=root, env=env, workdir=workdir, runner=runner) as values:
        done = helm_cli.run(
            helm_argv.template_args(job.release, job.chart_path, namespace=job.namespace, values_files=values), env=env
        )
    # Secret objects are blanked; decrypted values the chart renders elsewhere (env, config) are masked too
    return done.stdout if show_secrets else runner.redactor(redact_secrets(done.stdout))


def _one_release(root: Path, cluster_name: str, release: str) -> ReleaseOrder:
    from deployer.config.load import load_cluster

    cluster = load_cluster(root, cluster_name)
    if cluster.hub(release) is None and release == "support":
        job = support_job(cluster)
        if job is None:
            raise UsageError(f"{cluster.file}: cluster '{cluster_name}' has no support chart configured")
        return ReleaseOrder(cluster, job, (), ())
    return order_releases(cluster, [release], support=False)


def diff(
    root: Path,
    cluster_name: str,
    hubs: Sequence[str] | None = None,
    *,
    env: Mapping[str, str],
    support: bool | None = None,
    runner: Runner | None = None,
) -> list[ReleaseDiff]:
    order = load_release_order(root, cluster_name, hubs, support=support)
    runner = runner or Runner()
    deps, _ = prepare(root, order.charts(), env, runner)
    try:
        for chart in order.charts():
            deps.ensure(chart)  # "could not tell" (exit 2) before validating or reaching the cluster
    except DeployerError as exc:
        raise PreviewError(exc.render()) from None
    validate_releases(root, order, env=env, runner=runner)
    try:
        helm_cli = HelmCli(root, runner, env)
        out = []
        with access_session(root, order, env, runner) as (workdir, target, helm_env):
            for job in order.jobs:
                deps.ensure(job.chart_path)
                out.append(_release_diff(root, job, helm_cli, helm_env, env, target, workdir, runner))
        return out
    except DeployerError as exc:
        if exc.exit_code == 2:
            raise
        raise PreviewError(exc.render()) from None


def _release_diff(
    root: Path,
    job: Job,
    helm_cli: HelmCli,
    helm_env: Mapping[str, str],
    env: Mapping[str, str],
    target: helm_argv.KubeTarget,
    workdir: Path,
    runner: Runner,
) -> ReleaseDiff:
    live = helm_cli.run(
        helm_argv.get_manifest_args(job.release, namespace=job.namespace, target=target), env=helm_env, check=False
    )
    if live.returncode != 0 and not any(s in live.stderr for s in helm_argv.NOT_FOUND):
        raise runner.error(live)
    installed = live.returncode == 0
    with values_for(job, root=root, env=env, workdir=workdir, runner=runner) as values:
        done = helm_cli.run(
            helm_argv.upgrade_args(
                job.release,
                job.chart_path,
                namespace=job.namespace,
                values_files=values,
                major=helm_cli.major,
                target=target,
                dry_run_server=True,
                output_json=True,
            ),
            env=helm_env,
        )
    try:
        desired = json.loads(done.stdout)["manifest"]
    except (ValueError, KeyError, TypeError):
        raise PreviewError(f"{job.release}: cannot read the manifest from helm's dry run output") from None
    text = manifest_diff(live.stdout if installed else "", desired, job.release, runner.redactor)
    return ReleaseDiff(job.release, job.namespace, installed, runner.redactor(text))
