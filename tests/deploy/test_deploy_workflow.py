"""The deploy workflow (.github/workflows/deploy-hubs.yaml) EXECUTED: every job's steps run as GitHub runs them
(``tests/github_actions.py``: bash -e, the GitHub environment files, ``${{ }}`` from matrix/needs/steps, artifacts
between jobs) with the real deployer, helm and sops against the local Kubernetes API stand-in, for a push that
changes two clusters. Cluster ``a``'s canary fails to deploy: its prod hub is held back; cluster ``b`` (support,
canary, prod) goes all the way, because the canary matrix says ``fail-fast: false`` (the second test removes it:
then a's failure cancels b's canary, as on GitHub). The health check runs for real, against a real JupyterHub
(the session's): the stand-in runs no pods, so a ``deployer`` wrapper on PATH gives ``health-check`` that hub's
URL."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

from github_actions import Runner
from helpers import DEMO_KEY, HUB_COMMON_VALUES, PROJECT

pytestmark = pytest.mark.e2e

SUPPORT = "ingress-nginx:\n  controller:\n    service:\n      type: ClusterIP\nclusterIssuer:\n  enabled: false\n"


def cluster_yaml(name: str, context: str, canary: str, prod: str, *, support: bool) -> str:
    lines = [f"name: {name}", "provider: kubeconfig", "kubeconfig:", f"  context: {context}"]
    if support:
        lines += ["support:", "  helm_chart_values_files: [support.values.yaml]"]
    lines.append("hubs:")
    for hub, is_canary in ((canary, True), (prod, False)):
        lines += [
            f"  - name: {hub}",
            f"    domain: {hub}.{name}.example.org",
            "    helm_chart: basehub",
            f"    canary: {'true' if is_canary else 'false'}",
            "    helm_chart_values_files: [common.values.yaml]",
        ]
    return "\n".join(lines) + "\n"


def git(root: Path, *args: str) -> str:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(root),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
    }
    return subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True).stdout.strip()


def wrapper(bin_dir: Path) -> None:
    """``deployer`` on PATH: the real one; ``health-check`` is pointed at the test's JupyterHub (and starts after
    ``TEST_HEALTH_DELAY`` seconds)."""
    real = Path(sys.executable).with_name("deployer")
    bin_dir.mkdir()
    (bin_dir / "deployer").write_text(
        "#!/bin/bash\n"
        'if [ "$1" = health-check ]; then\n'
        '  sleep "${TEST_HEALTH_DELAY:-0}"\n'
        f'  exec {real} "$@" --url "$TEST_HUB_URL" --user "wf-$3"\n'
        "fi\n"
        f'exec {real} "$@"\n'
    )
    (bin_dir / "pip").write_text("#!/bin/sh\nexit 0\n")  # `pip install .`: the deployer is installed already
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)


WORKFLOW = PROJECT / ".github" / "workflows" / "deploy-hubs.yaml"


def run_push(
    workflow: dict, kube_cluster, built_charts, chart_cache, hub, tmp_path: Path, health_delay: int = 0
) -> tuple[dict, tuple]:
    """The push of the module docstring through ``workflow``: (the runs by job, the releases ca, pa, cb, pb).
    ``health_delay``: seconds each health check waits before it starts."""
    tag = uuid.uuid4().hex[:6]
    ca, pa, cb, pb = (f"{n}-{tag}" for n in ("ca", "pa", "cb", "pb"))
    origin = tmp_path / "origin"
    shutil.copytree(PROJECT / "schemas", origin / "schemas")
    shutil.copytree(built_charts, origin / "helm-charts")  # copy2 keeps mtimes: charts/ stays up to date
    for name, canary, prod, support in (("a", ca, pa, False), ("b", cb, pb, True)):
        folder = origin / "config" / "clusters" / name
        folder.mkdir(parents=True)
        (folder / "cluster.yaml").write_text(cluster_yaml(name, kube_cluster.context, canary, prod, support=support))
        (folder / "common.values.yaml").write_text(HUB_COMMON_VALUES.format(cluster=name))
        if support:
            (folder / "support.values.yaml").write_text(SUPPORT)
    git(origin, "init", "-q", "-b", "main")
    git(origin, "add", "-A")
    git(origin, "commit", "-q", "-m", "base")
    before = git(origin, "rev-parse", "HEAD")
    for name in ("a", "b"):  # the push: a values file of each cluster and b's support values
        with open(origin / "config" / "clusters" / name / "common.values.yaml", "a") as handle:
            handle.write("  singleuser:\n    defaultUrl: /lab\n")
    with open(origin / "config" / "clusters" / "b" / "support.values.yaml", "a") as handle:
        handle.write("# changed\n")
    git(origin, "commit", "-q", "-am", "change a and b")

    kube_cluster.inject_error(
        500, namespace=ca, resource="configmaps", verb="create", message="injected: canary a breaks"
    )
    wrapper(tmp_path / "bin")
    env = {
        **chart_cache.env({}),  # DEPLOYER_CHART_MIRROR, when the tests have one
        "PATH": os.pathsep.join(
            [
                str(tmp_path / "bin"),
                str(PROJECT / ".tools" / "bin"),
                str(Path(sys.executable).parent),
                os.environ.get("PATH", ""),
            ]
        ),
        "HOME": os.environ.get("HOME", "/"),
        "SOPS_AGE_KEY_FILE": str(DEMO_KEY),  # what setup-deployer puts in GITHUB_ENV
        "KUBECONFIG": str(kube_cluster.kubeconfig),
        "KUBECACHEDIR": str(kube_cluster.workdir / "kube-cache"),
        "TEST_HUB_URL": hub.url,
        "TEST_HEALTH_DELAY": str(health_delay),
        "JUPYTERHUB_API_TOKEN": hub.token,
        **({"SSL_CERT_FILE": str(hub.ca_file)} if getattr(hub, "ca_file", None) else {}),
    }
    github = {"event_name": "push", "ref": "refs/heads/main", "repository": "o/r", "event": {"before": before}}
    return Runner(workflow, origin, tmp_path / "runner", env, github).run(), (ca, pa, cb, pb)


def explained(runs: dict) -> str:
    return "\n".join(
        f"{r.job} {r.matrix.get('cluster', '')} {s.name}: {s.outcome} ({s.seconds:.1f} s)\n"
        f"{s.stdout[-1500:]}"
        f"{s.stderr[-3000:]}"
        for rs in runs.values()
        for r in rs
        for s in r.steps
    )


def test_a_push_runs_plan_gate_and_legs_and_a_failed_canary_holds_back_only_its_cluster(
    kube_cluster, built_charts, chart_cache, jupyterhub_session, tmp_path
):
    workflow = yaml.safe_load(WORKFLOW.read_text())
    runs, (ca, pa, cb, pb) = run_push(workflow, kube_cluster, built_charts, chart_cache, jupyterhub_session, tmp_path)

    def explain() -> str:
        return explained(runs)

    def legs(job: str) -> list[tuple[str, str, str]]:
        return [(r.matrix["cluster"], "+".join(r.matrix["hubs"]), r.result) for r in runs[job]]

    # plan: the step outputs become the job's outputs; the plan goes to the job summary
    [plan] = runs["plan"]
    assert plan.result == "success", explain()
    assert [leg["cluster"] for leg in json.loads(plan.outputs["support"])] == ["b"]
    assert [(leg["cluster"], leg["hubs"]) for leg in json.loads(plan.outputs["prod"])] == [("a", [pa]), ("b", [pb])]
    assert f"| b | canary | {cb} |" in plan.summary
    assert runs["comment"][0].result == "skipped"  # pull requests only
    # support: one leg, from needs.plan.outputs.support; its report is an artifact
    assert [(r.matrix["cluster"], r.result) for r in runs["support"]] == [("b", "success")], explain()
    # gate-canary -> canary matrix: both canaries (a has no support to wait for)
    assert [leg["hubs"] for leg in json.loads(runs["gate-canary"][0].outputs["legs"])] == [[ca], [cb]]
    assert legs("canary") == [("a", ca, "failure"), ("b", cb, "success")], explain()
    failed = {s.name: s for s in runs["canary"][0].steps}
    deploy_a = failed[f"Deploy canary {ca} on a"]
    assert "injected: canary a breaks" in deploy_a.stdout + deploy_a.stderr
    # an earlier step failed: the health check (no `if:`, so success()) is skipped; the if: always() upload runs
    assert failed["Health check"].outcome == "skipped"
    assert [s.outcome for s in runs["canary"][0].steps][-1] == "success"
    assert f"{cb} is healthy" in {s.name: s for s in runs["canary"][1].steps}["Health check"].stdout, explain()
    # gate-prod reads every report artifact: a's prod is held back, b's goes on
    [gate] = runs["gate-prod"]
    assert [(leg["cluster"], leg["hubs"]) for leg in json.loads(gate.outputs["legs"])] == [("b", [pb])], explain()
    assert f"held back: a {pa}: canary {ca} failed" in gate.steps[-1].stderr
    assert legs("prod") == [("b", pb, "success")], explain()
    # what the cluster saw, and the artifacts each leg left
    assert kube_cluster.get_object("deployments", "hub", pb) is not None
    assert kube_cluster.get_object("namespaces", pa) is None
    artifacts = tmp_path / "runner" / "artifacts"
    assert sorted(p.name for p in artifacts.iterdir()) == [
        "plan",
        "report-canary-a-0",
        "report-canary-b-1",
        "report-prod-b-0",
        "report-support-b",
    ]
    report = json.loads((artifacts / "report-canary-a-0" / "canary-a-0.json").read_text())
    assert [(r["release"], r["status"]) for r in report["results"]] == [(ca, "failed")]
    assert json.loads((artifacts / "report-canary-b-1" / f"health-b-{cb}.json").read_text())["healthy"] is True


def test_without_fail_fast_false_a_failed_canary_cancels_the_other_clusters_canary(
    kube_cluster, built_charts, chart_cache, jupyterhub_session, tmp_path
):
    # GitHub's default, fail-fast: true, cancels the legs still running when one fails: canary b goes down with a
    # (b's deploy and health check outlast a's failed deploy), so b's prod is held back too. The workflow's
    # `fail-fast: false` is what the test above proves; without it, the test above fails.
    workflow = yaml.safe_load(WORKFLOW.read_text())
    del workflow["jobs"]["canary"]["strategy"]["fail-fast"]
    # a health check takes minutes on GitHub, a second here: 5 s keep b's leg running when a's fails, as there
    runs, (_, _, _, pb) = run_push(
        workflow, kube_cluster, built_charts, chart_cache, jupyterhub_session, tmp_path, health_delay=5
    )
    canary = [(r.matrix["cluster"], r.result) for r in runs["canary"]]
    assert canary == [("a", "failure"), ("b", "cancelled")], explained(runs)
    steps_b = [s.outcome for s in runs["canary"][1].steps]
    # stopped while deploying or while checking health (or skipped, cancelled before it), the health check never
    # passes; the report upload (if: always()) still runs
    assert steps_b[-2] in ("cancelled", "skipped") and steps_b[-1] == "success", explained(runs)
    assert runs["prod"][0].result == "skipped"  # nothing left to deploy: b's canary did not succeed
    assert kube_cluster.get_object("namespaces", pb) is None
