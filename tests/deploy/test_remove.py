"""``deployer remove`` and ``deployer orphans`` (deployer.fleet) with the real deployer, helm (3 and 4) and sops
against the local Kubernetes API stand-in: two hubs deployed, a user's home directory (a PVC) in one, both then
deleted from cluster.yaml. Plus the pure decisions (which names a removal may target, what is orphaned) and the
stand-in's terminating namespaces that ``remove`` waits for."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from deployer.auth import ClusterAccess
from deployer.config.model import ClusterConfig, HubConfig, SupportConfig
from deployer.deploy.lock import DeployLock
from deployer.errors import UsageError
from deployer.fleet.live import HelmRelease
from deployer.fleet.orphans import find_orphans
from deployer.fleet.remove import StillConfigured, check_target
from deployer.kube import api_client

DEPLOYER = str(Path(sys.executable).with_name("deployer"))

pytestmark = pytest.mark.e2e


def run(repo, *args: str) -> subprocess.CompletedProcess[str]:
    """The real deployer with stdin that is not a terminal (as in CI)."""
    return repo.deployer(*args, timeout=180, stdin=subprocess.DEVNULL)


def typed(repo, answer: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The real deployer on a terminal (a pty) where a person types ``answer``."""
    import os
    import pty

    main, terminal = pty.openpty()
    try:
        os.write(main, answer.encode() + b"\n")
        return repo.deployer(*args, timeout=180, stdin=terminal)
    finally:
        os.close(terminal)
        os.close(main)


def claim(namespace: str, name: str, size: str, volume: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": size}},
            "volumeName": volume,
        },
    }


def drop_hubs(repo, *hubs: str) -> None:
    """Delete the hubs' entries from cluster.yaml (each is five lines long in custom_repo's file)."""
    path = repo.cluster_dir() / "cluster.yaml"
    lines = path.read_text().splitlines(keepends=True)
    for hub in hubs:
        start = lines.index(f"  - name: {hub}\n")
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("  - name: ")), len(lines))
        del lines[start:end]
    path.write_text("".join(lines))


def orphaned(repo) -> dict:
    done = run(repo, "orphans", "t", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_remove_shows_asks_locks_uninstalls_and_deletes(kube_cluster, custom_repo, helm_binary, tmp_path):
    repo = custom_repo(kube_cluster, hubs=[("a", False), ("b", False), ("kept", False)])  # kept: never deployed
    repo.helm = helm_binary
    a, b = repo.hub("a"), repo.hub("b")
    deployed = repo.deployer("deploy", "t", a, b)
    assert deployed.returncode == 0, deployed.stderr
    kube_cluster.server.create_object(claim(a, "claim-alice", "10Gi", "pv-alice-home"))

    # still in cluster.yaml: refused before the cluster is touched
    still = run(repo, "remove", "t", a, "--yes")
    assert still.returncode == 2 and len(still.stderr.strip().splitlines()) == 1, still.stderr
    assert still.stderr.startswith(f"config/clusters/t/cluster.yaml:6: hub '{a}' is still in cluster 't'")
    assert "cluster.yaml first" in still.stderr
    assert repo.history(a)[-1]["status"] == "deployed"
    assert orphaned(repo) == {"clusters": [{"cluster": "t", "releases": [], "namespaces": []}]}

    drop_hubs(repo, a, b)
    found = orphaned(repo)["clusters"]
    assert [c["cluster"] for c in found] == ["t"]
    assert [(r["name"], r["namespace"], r["revision"], r["status"]) for r in found[0]["releases"]] == [
        (a, a, 1, "deployed"),
        (b, b, 1, "deployed"),
    ]
    assert all(r["chart"].startswith("basehub-") for r in found[0]["releases"])
    assert found[0]["namespaces"] == [a, b]
    listing = run(repo, "orphans")
    assert listing.returncode == 0 and f"remove with: deployer remove t {a}" in listing.stdout

    # no terminal, no --yes: what would go is shown, nothing is removed
    asked = run(repo, "remove", "t", a)
    assert asked.returncode == 2, asked.stderr
    assert "pass --yes" in asked.stderr and len(asked.stderr.strip().splitlines()) == 1
    assert "claim-alice (10Gi, bound to volume pv-alice-home)" in asked.stdout
    assert f"helm release {a} (namespace {a}, revision 1, deployed, chart basehub-" in asked.stdout
    assert repo.history(a)[-1]["status"] == "deployed" and kube_cluster.get_object("namespaces", a)

    # another deploy holds the cluster's lock: refused, nothing removed
    access = ClusterAccess(kubeconfig=kube_cluster.kubeconfig, context=kube_cluster.context)
    with api_client(access, env={}, workdir=tmp_path) as api:
        other = DeployLock(api, "t", me="someone@ci:1/x")
        other.acquire()
        try:
            locked = run(repo, "remove", "t", a, "--yes")
        finally:
            other.release()
    assert locked.returncode == 2 and "is being deployed by someone@ci:1/x" in locked.stderr, locked.stderr
    assert repo.history(a)[-1]["status"] == "deployed"

    # --yes: uninstalled, the namespace is Terminating for a while and waited for until it is gone
    kube_cluster.server.namespace_deletion = 1.0
    removed = run(repo, "remove", "t", a, "--yes")
    assert removed.returncode == 0, removed.stderr
    assert "claim-alice (10Gi, bound to volume pv-alice-home)" in removed.stdout
    assert f"namespace {a} is gone" in removed.stderr
    assert repo.history(a) == [] and kube_cluster.get_object("namespaces", a) is None
    assert kube_cluster.list_objects("persistentvolumeclaims", a) == []
    assert kube_cluster.get_object("leases", "deployer-deploy-lock-t", "kube-system") is None  # released

    # a namespace that holds another helm release too: deleting it would take that one as well
    record = "sh.helm.release.v1.extra.v1"
    labels = {"owner": "helm", "name": "extra", "version": "1", "status": "deployed"}
    kube_cluster.server.create_object(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": record, "namespace": b, "labels": labels}}
    )
    crowded = run(repo, "remove", "t", b, "--yes")
    assert crowded.returncode == 2 and "also holds helm release(s) extra" in crowded.stderr, crowded.stderr
    assert repo.history(b)[-1]["status"] == "deployed"
    kube_cluster.server.delete_object("secrets", record, b)

    # on a terminal the person types the hub's name; anything else removes nothing
    declined = typed(repo, "no", "remove", "t", b, "--keep-namespace")
    assert declined.returncode == 1 and "not confirmed" in declined.stderr, declined.stderr
    assert f"Type the hub's name ({b})" in declined.stderr and "(namespace " + b + " is kept" in declined.stdout
    assert repo.history(b)[-1]["status"] == "deployed"
    kept = typed(repo, b, "remove", "t", b, "--keep-namespace")
    assert kept.returncode == 0, kept.stderr
    assert repo.history(b) == [] and kube_cluster.get_object("namespaces", b) is not None

    assert orphaned(repo) == {"clusters": [{"cluster": "t", "releases": [], "namespaces": []}]}
    again = run(repo, "remove", "t", a, "--yes")
    assert again.returncode == 0 and "nothing to remove" in again.stdout, again.stderr


def test_the_stand_in_keeps_a_deleted_namespace_terminating_while_it_is_emptied(kube_cluster):
    server = kube_cluster.server
    server.namespace_deletion = 0.5
    server.create_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gone"}})
    server.create_object(claim("gone", "home", "1Gi", "pv-1"))
    kube_cluster.kubectl("delete", "namespace", "gone", "--wait=false")
    ns = kube_cluster.get_object("namespaces", "gone")
    assert ns["status"]["phase"] == "Terminating" and ns["metadata"]["deletionTimestamp"]
    refused = kube_cluster.kubectl("create", "configmap", "x", "-n", "gone", check=False)
    assert refused.returncode == 1 and "because it is being terminated" in refused.stderr
    again = kube_cluster.kubectl("delete", "namespace", "gone", "--wait=false", check=False)
    assert again.returncode == 1 and "ensuring all content is removed" in again.stderr
    kube_cluster.kubectl("wait", "--for=delete", "namespace/gone", "--timeout=10s")
    assert kube_cluster.list_objects("persistentvolumeclaims", "gone") == []


CLUSTER = ClusterConfig(
    name="c",
    provider="kubeconfig",
    spec=None,
    dir="config/clusters/c",
    support=SupportConfig(values_files=("s.yaml",)),
    hubs=(HubConfig("kept", "kept.example.org", "basehub", ("v.yaml",)),),
)


@pytest.mark.parametrize(
    ("hub", "error", "says"),
    [
        ("kept", StillConfigured, "config/clusters/c/cluster.yaml: hub 'kept' is still in cluster 'c'"),
        ("support", UsageError, "must be a hub name"),
        ("Bad_Name", UsageError, "must be a hub name"),
        ("kube-system", UsageError, "is a system namespace"),
        ("default", UsageError, "is a system namespace"),
        ("gone", None, ""),
    ],
)
def test_which_names_a_removal_may_target(hub, error, says):
    if error is None:
        check_target(CLUSTER, hub)
        return
    with pytest.raises(error) as raised:
        check_target(CLUSTER, hub)
    assert says in str(raised.value)


def release(name: str, namespace: str | None = None) -> HelmRelease:
    return HelmRelease(name, namespace or name, 1, "deployed", "basehub-0.1.0")


def test_orphans_are_releases_and_namespaces_the_config_does_not_know():
    releases = [
        release("kept"),
        release("support"),
        release("gone"),
        release("stray", "kept"),  # in a hub's namespace: the release is orphaned, the namespace is not
        release("metrics", "kube-system"),  # system namespaces are never the deployer's
        release("other", "shared"),
        release("old", "shared"),
    ]
    namespaces = ["default", "kube-system", "kept", "support", "gone", "shared", "unrelated"]
    found = find_orphans(CLUSTER, releases, namespaces)
    assert [(r.name, r.namespace) for r in found.releases] == [
        ("gone", "gone"),
        ("stray", "kept"),
        ("old", "shared"),
        ("other", "shared"),
    ]
    assert found.namespaces == ("gone", "shared")
    assert find_orphans(CLUSTER, [release("kept"), release("support")], namespaces).to_json() == {
        "cluster": "c",
        "releases": [],
        "namespaces": [],
    }


def test_orphans_says_what_to_do_when_the_api_refuses(kube_cluster, custom_repo):
    repo = custom_repo(kube_cluster, hubs=[("h", False)])
    kube_cluster.inject_error(403, resource="secrets", verb="list")
    refused = run(repo, "orphans", "t")
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "cannot list the helm releases and namespaces of cluster 't'" in refused.stderr
    assert "403 Forbidden" in refused.stderr and "grant their identity access" in refused.stderr


def test_the_wait_for_a_terminating_namespace_is_bounded(kube_cluster, tmp_path):
    from deployer.fleet.remove import NamespaceNotGone, delete_and_wait

    kube_cluster.server.namespace_deletion = 2.0
    kube_cluster.server.create_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "slow"}})
    access = ClusterAccess(kubeconfig=kube_cluster.kubeconfig, context=kube_cluster.context)
    with api_client(access, env={}, workdir=tmp_path) as api:
        with pytest.raises(NamespaceNotGone, match=r"namespace slow of cluster 'c' is still terminating after 0\.2 s"):
            delete_and_wait(api, "c", "slow", timeout=0.2)
        assert kube_cluster.get_object("namespaces", "slow")["status"]["phase"] == "Terminating"
        said: list[str] = []
        delete_and_wait(api, "c", "slow", timeout=10, on_message=said.append)  # already terminating: no 409
    assert said[-1] == "namespace slow is gone" and kube_cluster.get_object("namespaces", "slow") is None
