"""``deployer deploy``/``deploy-support``/``diff``/``template`` end to end: the real deployer, helm (3 and 4) and sops
against a Kubernetes API (the local stand-in, or DEPLOYER_E2E_KUBECONFIG), with the real dependency charts."""

from __future__ import annotations

import base64
import json

import pytest

from helm_majors import HelmBinary

pytestmark = pytest.mark.e2e


def test_install_then_upgrade_then_a_values_change_shows_in_diff_then_live(
    kube_cluster, deploy_repo, tmp_path, helm_binary
):
    repo = deploy_repo(kube_cluster, helm=helm_binary)
    staging, prod = repo.hub("staging"), repo.hub("prod")
    support_before = repo.history("support")
    summary = tmp_path / "summary.md"
    report_file = tmp_path / "reports" / "local.json"  # a folder that does not exist yet, as in the workflow

    first = repo.deployer(
        "deploy", "local", "--report", str(report_file), env=repo.env(GITHUB_STEP_SUMMARY=str(summary))
    )
    assert first.returncode == 0, first.stderr
    report = json.loads(report_file.read_text())
    assert report["cluster"] == "local"
    assert [(r["release"], r["kind"], r["status"]) for r in report["results"]] == [
        ("support", "support", "deployed"),
        (staging, "hub", "deployed"),
        (prod, "hub", "deployed"),
    ]
    keys = {"release", "kind", "status", "revision", "live_revision", "seconds", "error"}
    assert all(set(r) == keys for r in report["results"])
    assert all(r["live_revision"] == r["revision"] for r in report["results"])
    revisions = {r["release"]: r["revision"] for r in report["results"]}
    assert revisions[staging] == 1 and revisions[prod] == 1
    assert revisions["support"] == (support_before[-1]["revision"] + 1 if support_before else 1)
    for line in ("RELEASE", "support", staging, prod, "3 deployed, 0 failed, 0 skipped"):
        assert line in first.stdout
    assert f"| {staging} | hub | deployed | 1 |" in summary.read_text()
    # the live objects are the chart's, with the values in order (the canary's displayName from staging.values)
    identity = kube_cluster.get_object("configmaps", "hub-identity", staging)
    assert identity["data"]["displayName"] == "Local staging hub" and identity["data"]["cluster"] == "local"

    second = repo.deployer("deploy", "local", "--report", str(report_file), "--force-upgrade")  # else: unchanged
    assert second.returncode == 0, second.stderr
    again = {r["release"]: r["revision"] for r in json.loads(report_file.read_text())["results"]}
    assert again == {name: rev + 1 for name, rev in revisions.items()}
    assert [h["status"] for h in repo.history(prod)] == ["superseded", "deployed"]

    nothing = repo.deployer("diff", "local")
    assert nothing.returncode == 0, nothing.stderr
    assert nothing.stdout == ""

    values = repo.cluster_dir() / "prod.values.yaml"
    values.write_text(
        values.read_text().replace("Local production hub", "Local production hub, renamed")
        + "  singleuser:\n    defaultUrl: /lab\n"
    )  # under jupyterhub: lands in the hub Secret
    changed = repo.deployer("diff", "local", prod)
    assert changed.returncode == 1, changed.stderr
    assert "-  displayName: Local production hub\n" in changed.stdout
    assert "+  displayName: Local production hub, renamed\n" in changed.stdout
    assert "+      defaultUrl: /lab\n" in changed.stdout  # from inside the hub Secret's values.yaml, decoded
    assert kube_cluster.get_object("configmaps", "hub-identity", prod)["data"]["displayName"] == "Local production hub"

    live = repo.deployer("deploy", "local", prod)
    assert live.returncode == 0, live.stderr
    assert "support" not in live.stdout  # with HUBS, only those
    assert (
        kube_cluster.get_object("configmaps", "hub-identity", prod)["data"]["displayName"]
        == "Local production hub, renamed"
    )
    assert repo.deployer("diff", "local", prod).returncode == 0


def test_deploy_support_and_template(kube_cluster, deploy_repo, helm_binary):
    repo = deploy_repo(kube_cluster, helm=helm_binary)
    before = repo.history("support")
    done = repo.deployer("deploy-support", "local")
    assert done.returncode == 0, done.stderr
    assert repo.history("support")[-1]["revision"] == (before[-1]["revision"] + 1 if before else 1)
    assert repo.hub("staging") not in done.stdout and not repo.history(repo.hub("staging"))

    staging = repo.hub("staging")
    rendered = repo.deployer("template", "local", staging)
    assert rendered.returncode == 0, rendered.stderr
    assert "name: hub-identity" in rendered.stdout and 'displayName: "Local staging hub"' in rendered.stdout
    assert "values.yaml: (redacted)" in rendered.stdout
    shown = repo.deployer("template", "local", staging, "--show-secrets")
    secret_values = [
        line.split(":", 1)[1].strip().strip('"')
        for line in shown.stdout.splitlines()
        if line.strip().startswith("values.yaml:")
    ]
    assert "DummyAuthenticator" in base64.b64decode(secret_values[0]).decode()  # the decrypted secret file was used
    assert not repo.leftovers()
    assert repo.deployer("template", "local", "support").returncode == 0


@pytest.mark.parametrize(
    "args",
    [
        ["deploy", "nope"],
        ["deploy", "local", "no-such-hub"],
        ["diff", "local", "no-such-hub"],
        ["template", "local", "no-such-hub"],
        ["deploy-support", "nope"],
    ],
)
def test_unknown_cluster_or_hub_is_bad_input_and_runs_no_helm(kube_cluster_session, deploy_repo, args):
    repo = deploy_repo(kube_cluster_session)
    calls = _recording_helm(repo)
    done = repo.deployer(*args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "no cluster named 'nope'" in done.stderr or "no hub named 'no-such-hub'" in done.stderr
    assert "Traceback" not in done.stderr
    assert not calls.exists()


def test_broken_config_deploys_nothing(kube_cluster, deploy_repo):
    repo = deploy_repo(kube_cluster)
    calls = _recording_helm(repo)
    values = repo.cluster_dir() / "prod.values.yaml"
    values.write_text(values.read_text() + "networkPolicy:\n  enabled: sometimes\n")
    requests_before = len(kube_cluster.server.requests) if kube_cluster.is_stand_in else 0
    done = repo.deployer("deploy", "local")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "config/clusters/local/prod.values.yaml:" in done.stderr and "networkPolicy.enabled" in done.stderr
    assert not calls.exists()
    if kube_cluster.is_stand_in:
        assert len(kube_cluster.server.requests) == requests_before
    assert not repo.leftovers()


def _recording_helm(repo):
    """Make the deployer's helm (DEPLOYER_HELM) one that records any call and fails."""
    calls = repo.root / "helm-calls.txt"
    fake = repo.root / "fake-bin" / "helm"
    fake.parent.mkdir(parents=True)
    fake.write_text(f"#!/bin/sh\necho \"$@\" >> '{calls}'\nexit 99\n")
    fake.chmod(0o755)
    repo.helm = HelmBinary(4, fake)
    return calls
