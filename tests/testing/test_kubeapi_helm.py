"""Real helm against the local Kubernetes API stand-in (one shared server, one namespace per test)."""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from deployer.testing.fixtures_kube import KubeCluster, ToolError, helm_major

pytestmark = pytest.mark.e2e

CHARTS = Path(__file__).parent / "charts"
WEBAPP, HOOKED, WITHCRD = str(CHARTS / "webapp"), str(CHARTS / "hooked"), str(CHARTS / "withcrd")


@pytest.fixture
def cluster(kube_cluster_session: KubeCluster) -> KubeCluster:
    return kube_cluster_session


@pytest.fixture
def ns(cluster: KubeCluster) -> str:
    return cluster.unique_namespace("helm")


def release_secret(cluster: KubeCluster, release: str, namespace: str, revision: int) -> dict:
    secret = cluster.get_object("secrets", f"sh.helm.release.v1.{release}.v{revision}", namespace)
    assert secret is not None, f"no release record for {release} revision {revision}"
    return secret


def status(cluster: KubeCluster, release: str, namespace: str) -> dict:
    return json.loads(cluster.helm("status", release, "-n", namespace, "-o", "json").stdout)


@pytest.mark.parametrize(
    "wait",
    [[], ["--wait"], ["--wait=watcher"], ["--wait=legacy"], ["--wait=hookOnly"]],
    ids=["no-wait", "wait", "watcher", "legacy", "hookOnly"],
)
def test_install_with_create_namespace_and_each_wait_strategy(cluster: KubeCluster, ns: str, wait: list[str]) -> None:
    if helm_major(cluster) < 4 and any("=" in flag for flag in wait):
        pytest.skip("wait strategies are a helm 4 feature")
    cluster.helm("upgrade", "--install", "web", WEBAPP, "-n", ns, "--create-namespace", *wait, "--timeout", "60s")

    assert status(cluster, "web", ns)["info"]["status"] == "deployed"
    deployment = cluster.require_object("deployments", "web-web", ns)
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    assert deployment["status"]["readyReplicas"] == 1
    assert cluster.require_object("configmaps", "web-config", ns)["data"] == {"message": "hello"}
    assert cluster.require_object("services", "web-web", ns)["spec"]["clusterIP"]
    secret = release_secret(cluster, "web", ns, 1)
    assert secret["metadata"]["labels"]["owner"] == "helm"
    assert secret["metadata"]["labels"]["status"] == "deployed"
    assert base64.b64decode(secret["data"]["release"])  # helm's gzipped, base64 release record


def test_install_without_create_namespace_needs_the_namespace(cluster: KubeCluster, ns: str) -> None:
    failed = cluster.helm("upgrade", "--install", "web", WEBAPP, "-n", ns, check=False)
    assert failed.returncode != 0
    assert f'namespaces "{ns}" not found' in failed.stderr

    cluster.kubectl("create", "namespace", ns)
    cluster.helm("upgrade", "--install", "web", WEBAPP, "-n", ns, "--wait", "--timeout", "60s")
    assert status(cluster, "web", ns)["info"]["status"] == "deployed"


@pytest.mark.parametrize("server_side", ["true", "false"])
def test_upgrade_to_revision_2_with_and_without_server_side_apply(
    cluster: KubeCluster, ns: str, server_side: str
) -> None:
    if helm_major(cluster) < 4:
        pytest.skip("--server-side is a helm 4 flag")
    common = ["-n", ns, "--create-namespace", f"--server-side={server_side}", "--wait", "--timeout", "60s"]
    cluster.helm("upgrade", "--install", "web", WEBAPP, *common)
    cluster.helm("upgrade", "--install", "web", WEBAPP, *common, "--set", "message=bye", "--set", "replicas=2")

    assert status(cluster, "web", ns)["version"] == 2
    assert cluster.require_object("configmaps", "web-config", ns)["data"] == {"message": "bye"}
    deployment = cluster.require_object("deployments", "web-web", ns)
    assert deployment["spec"]["replicas"] == 2
    assert deployment["metadata"]["generation"] == 2
    assert deployment["status"]["observedGeneration"] == 2
    assert release_secret(cluster, "web", ns, 1)["metadata"]["labels"]["status"] == "superseded"
    assert release_secret(cluster, "web", ns, 2)["metadata"]["labels"]["status"] == "deployed"
    if cluster.server is not None:
        patches = {
            r.content_type
            for r in cluster.server.requests
            if r.method == "PATCH" and r.namespace == ns and r.resource == "deployments"
        }
        expected = (
            "application/apply-patch+yaml" if server_side == "true" else ("application/strategic-merge-patch+json")
        )
        assert patches == {expected}


def test_status_history_get_list_rollback_uninstall(cluster: KubeCluster, ns: str) -> None:
    cluster.helm("upgrade", "--install", "web", WEBAPP, "-n", ns, "--create-namespace", "--wait")
    cluster.helm("upgrade", "web", WEBAPP, "-n", ns, "--set", "message=second", "--wait")

    assert "STATUS: deployed" in cluster.helm("status", "web", "-n", ns).stdout
    history = json.loads(cluster.helm("history", "web", "-n", ns, "-o", "json").stdout)
    assert [(h["revision"], h["status"]) for h in history] == [(1, "superseded"), (2, "deployed")]
    assert "message: second" in cluster.helm("get", "values", "web", "-n", ns).stdout
    manifest = cluster.helm("get", "manifest", "web", "-n", ns).stdout
    assert "kind: Deployment" in manifest and "name: web-config" in manifest
    listed = json.loads(cluster.helm("list", "-A", "-o", "json").stdout)
    assert {"name": "web", "namespace": ns, "revision": "2", "status": "deployed"}.items() <= next(
        r for r in listed if r["namespace"] == ns
    ).items()

    cluster.helm("rollback", "web", "1", "-n", ns, "--wait")
    assert cluster.require_object("configmaps", "web-config", ns)["data"] == {"message": "hello"}
    history = json.loads(cluster.helm("history", "web", "-n", ns, "-o", "json").stdout)
    assert [h["status"] for h in history] == ["superseded", "superseded", "deployed"]

    cluster.helm("uninstall", "web", "-n", ns, "--wait")
    assert cluster.get_object("deployments", "web-web", ns) is None
    assert cluster.get_object("configmaps", "web-config", ns) is None
    assert cluster.list_objects("secrets", ns, label_selector="owner=helm,name=web") == []
    assert cluster.list_objects("replicasets", ns) == []  # garbage-collected with their Deployment
    assert all(r["namespace"] != ns for r in json.loads(cluster.helm("list", "-A", "-o", "json").stdout))


def test_hooks_run_and_helm_test_passes(cluster: KubeCluster, ns: str) -> None:
    cluster.helm("upgrade", "--install", "hk", HOOKED, "-n", ns, "--create-namespace", "--wait", "--timeout", "60s")
    migrate = cluster.require_object("jobs", "hk-migrate", ns)  # kept (before-hook-creation only)
    assert migrate["status"]["succeeded"] == 1
    assert cluster.get_object("jobs", "hk-announce", ns) is None  # hook-succeeded: deleted by helm
    assert "name: hk-migrate" in cluster.helm("get", "hooks", "hk", "-n", ns).stdout

    cluster.helm("upgrade", "hk", HOOKED, "-n", ns, "--wait", "--timeout", "60s")
    assert cluster.require_object("jobs", "hk-migrate", ns)["metadata"]["uid"] != migrate["metadata"]["uid"]

    result = cluster.helm("test", "hk", "-n", ns, "--timeout", "60s")
    assert "TEST SUITE:     hk-test" in result.stdout and "Phase:          Succeeded" in result.stdout
    assert cluster.require_object("pods", "hk-test", ns)["status"]["phase"] == "Succeeded"


def test_failing_helm_test_fails(cluster: KubeCluster, ns: str) -> None:
    cluster.helm("upgrade", "--install", "hk", HOOKED, "-n", ns, "--create-namespace", "--set", "failTest=true")
    failed = cluster.helm("test", "hk", "-n", ns, "--timeout", "30s", check=False)
    assert failed.returncode != 0
    assert "hk-test" in failed.stderr and "failed" in failed.stderr.lower()


def test_crds_and_custom_resources(cluster: KubeCluster, ns: str) -> None:
    cluster.helm("upgrade", "--install", "wd", WITHCRD, "-n", ns, "--create-namespace", "--wait", "--timeout", "60s")
    crd = cluster.require_object("customresourcedefinitions", "widgets.example.deployer.test")
    assert {c["type"]: c["status"] for c in crd["status"]["conditions"]}["Established"] == "True"
    assert cluster.require_object("widgets", "wd-widget", ns)["spec"] == {"size": 3}

    cluster.helm("upgrade", "wd", WITHCRD, "-n", ns, "--set", "size=5", "--wait")
    assert cluster.require_object("widgets.example.deployer.test", "wd-widget", ns)["spec"] == {"size": 5}
    listed = json.loads(cluster.kubectl("get", "wdg", "-n", ns, "-o", "json").stdout)
    assert [w["metadata"]["name"] for w in listed["items"]] == ["wd-widget"]

    cluster.helm("uninstall", "wd", "-n", ns)
    assert cluster.get_object("widgets", "wd-widget", ns) is None
    assert cluster.get_object("crd", "widgets.example.deployer.test") is not None  # helm keeps CRDs


def test_concurrent_helm_processes_in_different_namespaces(cluster: KubeCluster) -> None:
    namespaces = [cluster.unique_namespace("par") for _ in range(4)]

    def deploy(namespace: str) -> str:
        cluster.helm(
            "upgrade",
            "--install",
            "web",
            WEBAPP,
            "-n",
            namespace,
            "--create-namespace",
            "--wait",
            "--timeout",
            "60s",
            "--set",
            f"message={namespace}",
        )
        return namespace

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert sorted(pool.map(deploy, namespaces)) == sorted(namespaces)
    for namespace in namespaces:
        assert status(cluster, "web", namespace)["info"]["status"] == "deployed"
        assert cluster.require_object("configmaps", "web-config", namespace)["data"] == {"message": namespace}


def test_helm_error_is_real_when_the_chart_is_invalid(cluster: KubeCluster, ns: str) -> None:
    with pytest.raises(ToolError) as raised:
        cluster.helm(
            "upgrade", "--install", "web", WEBAPP, "-n", ns, "--create-namespace", "--set", "replicas=not-a-number"
        )
    assert raised.value.returncode != 0


def test_configmap_storage_driver(cluster: KubeCluster, ns: str) -> None:
    env = {**cluster.tool_env(), "HELM_DRIVER": "configmap"}
    cluster.helm("upgrade", "--install", "web", WEBAPP, "-n", ns, "--create-namespace", "--wait", env=env)
    cluster.helm("upgrade", "web", WEBAPP, "-n", ns, "--set", "message=two", env=env)
    history = json.loads(cluster.helm("history", "web", "-n", ns, "-o", "json", env=env).stdout)
    assert [h["status"] for h in history] == ["superseded", "deployed"]
    records = cluster.list_objects("configmaps", ns, label_selector="owner=helm,name=web")
    assert sorted(r["metadata"]["labels"]["version"] for r in records) == ["1", "2"]
    assert cluster.list_objects("secrets", ns, label_selector="owner=helm") == []


def test_wait_for_jobs(cluster: KubeCluster, ns: str) -> None:
    cluster.helm(
        "upgrade",
        "--install",
        "hk",
        HOOKED,
        "-n",
        ns,
        "--create-namespace",
        "--wait",
        "--wait-for-jobs",
        "--timeout",
        "60s",
    )
    assert status(cluster, "hk", ns)["info"]["status"] == "deployed"
