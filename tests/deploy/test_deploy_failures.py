"""Failures end to end: a prod hub failing alone, a failing canary holding back every prod hub, and a release left
``pending-upgrade`` by an interrupted helm run. Real deployer, helm and sops against the local stand-in, with its
fault switches (skipped against a real cluster)."""

from __future__ import annotations

import json
import shlex

import pytest

pytestmark = pytest.mark.e2e


def test_one_failing_prod_hub_does_not_stop_the_others(kube_cluster, custom_repo, tmp_path):
    repo = custom_repo(kube_cluster, hubs=[("canary", True), ("p1", False), ("p2", False), ("p3", False)])
    p1, p2, p3 = (repo.hub(n) for n in ("p1", "p2", "p3"))
    kube_cluster.inject_error(
        500, namespace=p2, resource="configmaps", verb="create", message="injected: etcd is on fire"
    )
    report_file = tmp_path / "report.json"
    done = repo.deployer("deploy", "t", "--jobs", "3", "--report", str(report_file))
    assert done.returncode == 1, done.stdout + done.stderr
    results = {r["release"]: r for r in json.loads(report_file.read_text())["results"]}
    assert [results[n]["status"] for n in (repo.hub("canary"), p1, p2, p3)] == [
        "deployed",
        "deployed",
        "failed",
        "deployed",
    ]
    assert "injected: etcd is on fire" in results[p2]["error"]
    assert results[p2]["revision"] == 1  # helm recorded the failed install
    assert results[p1]["error"] is None
    assert f"{p2}: FAILED" in done.stderr and "etcd is on fire" in done.stderr
    assert "1 failed" in done.stdout
    for ns in (p1, p3):
        assert kube_cluster.get_object("deployments", "hub", ns) is not None
    assert repo.history(p2)[-1]["status"] == "failed"


def test_a_failing_canary_leaves_every_prod_hub_untouched(kube_cluster, custom_repo, tmp_path):
    repo = custom_repo(kube_cluster, hubs=[("c1", True), ("c2", True), ("p1", False), ("p2", False)])
    c1, c2, p1, p2 = (repo.hub(n) for n in ("c1", "c2", "p1", "p2"))
    kube_cluster.readiness = False  # the canary's workloads never become ready: helm --wait times out
    report_file = tmp_path / "report.json"
    done = repo.deployer("deploy", "t", "--timeout", "2s", "--report", str(report_file))
    assert done.returncode == 1, done.stdout + done.stderr
    results = {r["release"]: r for r in json.loads(report_file.read_text())["results"]}
    assert results[c1]["status"] == "failed" and "not ready" in results[c1]["error"]
    for name in (c2, p1, p2):
        assert results[name]["status"] == "skipped"
        assert results[name]["error"] == f"not deployed because canary '{c1}' failed"
        assert results[name]["revision"] is None
    touched = {r.namespace for r in kube_cluster.server.requests}
    assert c1 in touched and not touched & {c2, p1, p2}
    for ns in (c2, p1, p2):
        assert kube_cluster.get_object("namespaces", ns) is None
        assert kube_cluster.list_objects("secrets", ns) == []


def test_a_pending_upgrade_is_explained_not_retried(kube_cluster, custom_repo):
    repo = custom_repo(kube_cluster, hubs=[("h", False)])
    hub = repo.hub("h")
    assert repo.deployer("deploy", "t").returncode == 0
    # An interrupted run: a helm upgrade killed (SIGKILL, as when a CI runner dies) after it recorded revision 2.
    repo.leave_pending(hub)

    done = repo.deployer("deploy", "t")
    assert done.returncode == 1
    assert f"release '{hub}' (namespace {hub}) is stuck in status pending-upgrade at revision 2" in done.stderr
    fix = f"helm rollback {hub} 1 --namespace {hub} --kube-context {kube_cluster.context}"
    assert fix in done.stderr
    assert (
        f"Inspect first with: helm history {hub} --namespace {hub} --kube-context {kube_cluster.context}" in done.stderr
    )
    assert repo.history(hub)[-1]["status"] == "pending-upgrade"  # not retried: nothing changed

    # the explained recovery works as printed
    kube_cluster.helm(*shlex.split(fix)[1:])
    done = repo.deployer("deploy", "t")
    assert done.returncode == 0, done.stderr
    assert repo.history(hub)[-1]["status"] == "deployed"
