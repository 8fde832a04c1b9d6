"""The per-cluster deploy lock (a Lease in the cluster, deployer.deploy.lock) and the honest report of a release
that failed before helm recorded a revision. Real deployer, helm and sops against the local stand-in (its fault
switches: skipped against a real cluster)."""

from __future__ import annotations

import datetime
import json
import re
import shlex
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from deployer.auth import ClusterAccess
from deployer.deploy.lock import NAMESPACE, DeployLock, micro_time
from deployer.kube import api_client

pytestmark = pytest.mark.e2e


NAME = "deployer-deploy-lock-t"  # the Lease of cluster t


def lease(kube_cluster) -> Any:  # the Lease as JSON, or None
    return kube_cluster.get_object("leases", NAME, NAMESPACE)


def wait_for(condition, proc: subprocess.Popen, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert proc.poll() is None, f"the deploy ended before {what}: {proc.communicate()}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def hold_lock(kube_cluster, tmp_path: Path, me: str, duration: int = 120, acquire: bool = True):
    """A ``DeployLock`` of cluster ``t`` taken through deployer.kube, as another machine's deploy would hold it."""
    access = ClusterAccess(kubeconfig=kube_cluster.kubeconfig, context=kube_cluster.context)
    stack = api_client(access, env={}, workdir=tmp_path)
    api = stack.__enter__()
    lock = DeployLock(api, "t", me=me, duration=duration)
    if acquire:
        lock.acquire()
    return lock, stack


def expired_lease(kube_cluster, holder: str) -> None:
    past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=10)
    kube_cluster.server.create_object(
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": NAME, "namespace": NAMESPACE},
            "spec": {
                "holderIdentity": holder,
                "leaseDurationSeconds": 120,
                "acquireTime": micro_time(past),
                "renewTime": micro_time(past),
            },
        }
    )


def test_a_second_deploy_of_a_cluster_is_refused_while_the_first_runs(kube_cluster, custom_repo):
    repo = custom_repo(kube_cluster, hubs=[("h", False)])
    hub = repo.hub("h")
    kube_cluster.readiness = False  # the first deploy's helm --wait blocks until readiness comes back
    first = repo.popen("deploy", "t", "--timeout", "120s")
    try:
        wait_for(lambda: repo.history(hub), first, "helm started the install")
        assert repo.history(hub)[-1]["status"] == "pending-install"
        second = repo.deployer("deploy", "t")  # another process: as from another machine, through the cluster
        assert second.returncode == 2, second.stderr
        holder = lease(kube_cluster)["spec"]["holderIdentity"]
        assert re.fullmatch(rf"[^@\s]+@[^:\s]+:{first.pid}/[0-9a-f]{{8}}", holder), holder
        line = second.stderr.strip()
        assert "\n" not in line and "Traceback" not in line
        assert f"cluster 't' is being deployed by {holder}" in line
        assert "deploy lock, Lease kube-system/deployer-deploy-lock-t, is held since " in line
        assert "wait for that deploy to finish and deploy again, or pass --wait-for-lock SECONDS" in line
        assert "if that deploy is dead, its lock expires at " in line
        assert "interrupted" not in line and "rollback" not in line
        assert repo.history(hub)[-1]["status"] == "pending-install" and len(repo.history(hub)) == 1
        assert lease(kube_cluster)["spec"]["holderIdentity"] == holder  # the refused deploy left it alone
    finally:
        kube_cluster.readiness = True
        _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert [h["status"] for h in repo.history(hub)] == ["deployed"]
    assert lease(kube_cluster) is None  # released after success


def test_a_lock_held_elsewhere_refuses_then_waits(kube_cluster, custom_repo, tmp_path):
    repo = custom_repo(kube_cluster, hubs=[("h", False)])
    lock, stack = hold_lock(kube_cluster, tmp_path, "someone@elsewhere:42/cafe0001")
    try:
        refused = repo.deployer("deploy", "t", "--wait-for-lock", "1")
        assert refused.returncode == 2, refused.stderr
        assert "cluster 't' is being deployed by someone@elsewhere:42/cafe0001" in refused.stderr
        assert "(waited 1 s)" in refused.stderr
        assert not any(r.namespace == repo.hub("h") for r in kube_cluster.requests)  # no helm run
        assert repo.history(repo.hub("h")) == []

        threading.Timer(2, lock.release).start()
        waited = repo.deployer("deploy", "t", "--wait-for-lock", "60")
        assert waited.returncode == 0, waited.stderr
    finally:
        lock.release()
        stack.__exit__(None, None, None)
    assert lease(kube_cluster) is None


def test_dry_run_takes_no_lock(kube_cluster, custom_repo, tmp_path):
    repo = custom_repo(kube_cluster, hubs=[("h", False)])
    lock, stack = hold_lock(kube_cluster, tmp_path, "someone@elsewhere:42/cafe0002")
    try:
        assert repo.deployer("deploy", "t", "--dry-run").returncode == 0
    finally:
        lock.release()
        stack.__exit__(None, None, None)


def test_an_expired_lock_is_taken_over_and_said_and_the_pending_advice_names_its_holder(
    kube_cluster, custom_repo, tmp_path
):
    repo = custom_repo(kube_cluster, hubs=[("h", False)])
    hub = repo.hub("h")
    assert repo.deployer("deploy", "t").returncode == 0
    # a deploy killed mid-upgrade (SIGKILL, as when a CI runner dies): its release pending, its lock left behind
    repo.leave_pending(hub)
    expired_lease(kube_cluster, "ci@runner-7:999/deadbeef")

    report = tmp_path / "report.json"
    done = repo.deployer("deploy", "t", "--report", str(report))
    assert done.returncode == 1, done.stderr
    assert (
        "took over an expired deploy lock of cluster 't' (Lease kube-system/deployer-deploy-lock-t) held by "
        "ci@runner-7:999/deadbeef since " in done.stderr
    )
    assert "a helm run was interrupted before it finished (the deploy by ci@runner-7:999/deadbeef" in done.stderr
    assert "No other deployer deploy of this cluster is running (this one holds its deploy lock)" in done.stderr
    fix = f"helm rollback {hub} 1 --namespace {hub} --kube-context {kube_cluster.context}"
    assert fix in done.stderr
    result = json.loads(report.read_text())["results"][0]
    assert (result["status"], result["revision"], result["live_revision"]) == ("failed", None, 1)
    assert lease(kube_cluster) is None  # released after a failed deploy

    kube_cluster.helm(*shlex.split(fix)[1:])
    assert repo.deployer("deploy", "t").returncode == 0


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_the_lock_is_released_when_the_deploy_is_interrupted(kube_cluster, custom_repo, signum, code):
    repo = custom_repo(kube_cluster, hubs=[("h", False)])
    kube_cluster.readiness = False
    proc = repo.popen("deploy", "t", "--timeout", "120s")
    wait_for(lambda: lease(kube_cluster) is not None and repo.history(repo.hub("h")), proc, "helm started")
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, stderr
    assert lease(kube_cluster) is None
    kube_cluster.readiness = True
    assert repo.deployer("deploy", "t").returncode == 0  # the next deploy is not locked out


def test_the_lock_is_renewed_while_held_and_only_its_holder_deletes_it(kube_cluster, tmp_path):
    lock, stack = hold_lock(kube_cluster, tmp_path, "a@one:1/00000001")
    try:
        first = lease(kube_cluster)
        assert lock.renew()
        renewed = lease(kube_cluster)
        assert renewed["spec"]["renewTime"] > first["spec"]["renewTime"]
        assert renewed["spec"]["acquireTime"] == first["spec"]["acquireTime"]
        # someone took the lease over meanwhile (it had expired): the old holder's renewal and release leave it
        taken = {**renewed, "spec": {**renewed["spec"], "holderIdentity": "b@two:2/00000002"}}
        kube_cluster.server.api.update(kube_cluster.server.registry.lookup("leases"), NAMESPACE, NAME, taken)
        assert not lock.renew()
        lock.release()
        assert lease(kube_cluster)["spec"]["holderIdentity"] == "b@two:2/00000002"
    finally:
        lock.release()
        stack.__exit__(None, None, None)


def test_a_release_delete_with_a_stale_resource_version_is_a_conflict(kube_cluster):
    expired_lease(kube_cluster, "x@y:1/00000003")
    stored = lease(kube_cluster)
    done = kube_cluster.kubectl(
        "delete",
        "--raw",
        f"/apis/coordination.k8s.io/v1/namespaces/{NAMESPACE}/leases/{NAME}",
        "-f",
        "-",
        check=False,
        input=json.dumps({"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {"resourceVersion": "1"}}),
    )
    assert done.returncode != 0 and "Precondition failed: ResourceVersion in precondition: 1" in done.stderr
    assert lease(kube_cluster) == stored
    current = {"preconditions": {"resourceVersion": stored["metadata"]["resourceVersion"]}}
    kube_cluster.kubectl(
        "delete",
        "--raw",
        f"/apis/coordination.k8s.io/v1/namespaces/{NAMESPACE}/leases/{NAME}",
        "-f",
        "-",
        input=json.dumps(current),
    )
    assert lease(kube_cluster) is None


def test_an_upgrade_that_fails_before_helm_records_a_revision_reports_none_and_the_live_one(
    kube_cluster, custom_repo, tmp_path
):
    repo = custom_repo(kube_cluster, hubs=[("h", False)])
    hub = repo.hub("h")
    assert repo.deployer("deploy", "t").returncode == 0
    # the chart now refuses to render (as for values its schema or templates reject): helm records nothing
    (repo.root / "helm-charts" / "basehub" / "templates" / "zz-refuse.yaml").write_text(
        '{{ fail "refused by the chart" }}\n'
    )
    report = tmp_path / "report.json"
    done = repo.deployer("deploy", "t", "--report", str(report))
    assert done.returncode == 1, done.stderr
    assert "refused by the chart" in done.stderr
    assert [h["revision"] for h in repo.history(hub)] == [1]
    result = json.loads(report.read_text())["results"][0]
    assert (result["status"], result["revision"], result["live_revision"]) == ("failed", None, 1)
    header, row = done.stdout.splitlines()[:2]
    assert row[header.index("REVISION") : header.index("LIVE")].strip() == ""
    assert row[header.index("LIVE") : header.index("SECONDS")].strip() == "1"
    assert lease(kube_cluster) is None


def test_the_lock_is_renewed_in_the_background(kube_cluster, tmp_path):
    lock, stack = hold_lock(kube_cluster, tmp_path, "a@one:1/00000004", duration=3)  # renewed every second
    try:
        first = lease(kube_cluster)["spec"]["renewTime"]
        deadline = time.monotonic() + 10
        while lease(kube_cluster)["spec"]["renewTime"] == first:
            assert time.monotonic() < deadline, "the lease was never renewed"
            time.sleep(0.1)
    finally:
        lock.release()
        stack.__exit__(None, None, None)
    assert lease(kube_cluster) is None


def test_of_two_deploys_taking_the_lock_at_once_exactly_one_gets_it(kube_cluster, tmp_path):
    from deployer.deploy.lock import DeployLocked

    held = [hold_lock(kube_cluster, tmp_path, f"m{i}@host:{i}/0000000{i}", acquire=False) for i in (1, 2)]
    expired_lease(kube_cluster, "dead@gone:9/00000009")  # both race to take over the same expired lease
    start = threading.Barrier(2)
    outcomes: list[object] = []

    def take(lock: DeployLock) -> None:
        start.wait()
        try:
            lock.acquire()
            outcomes.append(lock.me)
        except DeployLocked as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=take, args=(lock,)) for lock, _ in held]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    try:
        winners = [o for o in outcomes if isinstance(o, str)]
        assert len(outcomes) == 2 and len(winners) == 1, outcomes
        assert lease(kube_cluster)["spec"]["holderIdentity"] == winners[0]
        loser = next(o for o in outcomes if not isinstance(o, str))
        assert f"is being deployed by {winners[0]}" in str(loser)
    finally:
        for lock, stack in held:
            lock.release()
            stack.__exit__(None, None, None)
    assert lease(kube_cluster) is None
