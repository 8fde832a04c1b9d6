"""Real kubectl against the local Kubernetes API stand-in (one shared server, one namespace per test)."""

from __future__ import annotations

import json
import textwrap

import pytest

from deployer.testing.fixtures_kube import KubeCluster

pytestmark = pytest.mark.e2e


def manifest(ns: str, image: str = "nginx:1.27", env: str = "A", extra_label: bool = True) -> str:
    label = "\n        tier: front" if extra_label else ""
    return textwrap.dedent(f"""\
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: app
      namespace: {ns}
      labels:
        app: demo{label}
    spec:
      replicas: 2
      selector:
        matchLabels: {{app: demo}}
      template:
        metadata:
          labels: {{app: demo}}
        spec:
          containers:
            - name: main
              image: {image}
              env:
                - name: MODE
                  value: "{env}"
            - name: sidecar
              image: busybox:1.36
    ---
    apiVersion: v1
    kind: ConfigMap
    metadata:
      name: settings
      namespace: {ns}
      labels:
        app: demo
    data:
      key: value
    """)


@pytest.fixture
def ns(kube_cluster_session: KubeCluster) -> str:
    namespace = kube_cluster_session.unique_namespace("kc")
    kube_cluster_session.kubectl("create", "namespace", namespace)
    return namespace


@pytest.fixture
def cluster(kube_cluster_session: KubeCluster) -> KubeCluster:
    return kube_cluster_session


@pytest.mark.parametrize("mode", [[], ["--server-side"]], ids=["client-side", "server-side"])
def test_apply_create_then_update(cluster: KubeCluster, ns: str, mode: list[str]) -> None:
    created = cluster.kubectl("apply", *mode, "-f", "-", input=manifest(ns))
    assert "deployment.apps/app" in created.stdout and "configmap/settings" in created.stdout

    cluster.kubectl("apply", *mode, "-f", "-", input=manifest(ns, image="nginx:1.28", env="B", extra_label=False))
    deployment = cluster.require_object("deployments", "app", ns)
    containers = {c["name"]: c for c in deployment["spec"]["template"]["spec"]["containers"]}
    assert containers["main"]["image"] == "nginx:1.28"
    assert containers["main"]["env"] == [{"name": "MODE", "value": "B"}]
    assert list(containers) == ["main", "sidecar"]
    assert "tier" not in deployment["metadata"]["labels"]  # a field dropped from the manifest is removed
    assert deployment["metadata"]["generation"] == 2
    unchanged = cluster.kubectl(
        "apply", *mode, "-f", "-", input=manifest(ns, image="nginx:1.28", env="B", extra_label=False)
    )
    assert "unchanged" in unchanged.stdout or "serverside-applied" in unchanged.stdout
    assert cluster.require_object("deployments", "app", ns)["metadata"]["generation"] == 2


def test_get_table_json_yaml_jsonpath_and_label_selector(cluster: KubeCluster, ns: str) -> None:
    cluster.kubectl("apply", "-f", "-", input=manifest(ns))
    cluster.kubectl("create", "configmap", "other", "-n", ns, "--from-literal=a=b")

    table = cluster.kubectl("get", "configmaps", "-n", ns).stdout.splitlines()
    assert table[0].split() == ["NAME", "AGE"]
    assert sorted(line.split()[0] for line in table[1:]) == ["other", "settings"]

    selected = cluster.kubectl("get", "configmaps", "-n", ns, "-l", "app=demo", "-o", "json").stdout
    assert [i["metadata"]["name"] for i in json.loads(selected)["items"]] == ["settings"]
    assert cluster.kubectl("get", "cm", "-n", ns, "-l", "app!=demo", "-o", "name").stdout.split() == ["configmap/other"]

    as_yaml = cluster.kubectl("get", "deployment", "app", "-n", ns, "-o", "yaml").stdout
    assert "kind: Deployment" in as_yaml and "image: nginx:1.27" in as_yaml
    jsonpath = cluster.kubectl(
        "get", "deploy", "app", "-n", ns, "-o", "jsonpath={.spec.replicas}/{.status.readyReplicas}"
    ).stdout
    assert jsonpath == "2/2"
    assert cluster.kubectl("get", "cm", "other", "-n", ns, "-o", "jsonpath={.data.a}").stdout == "b"

    every = cluster.kubectl("get", "all", "-n", ns).stdout
    assert "deployment.apps/app" in every and "replicaset.apps/app-" in every

    missing = cluster.kubectl("get", "cm", "nope", "-n", ns, check=False)
    assert missing.returncode == 1 and 'configmaps "nope" not found' in missing.stderr


def test_rollout_status_and_delete(cluster: KubeCluster, ns: str) -> None:
    cluster.kubectl("apply", "-f", "-", input=manifest(ns))
    rollout = cluster.kubectl("rollout", "status", "deployment/app", "-n", ns, "--timeout=30s")
    assert 'deployment "app" successfully rolled out' in rollout.stdout

    deleted = cluster.kubectl("delete", "deployment", "app", "-n", ns)
    assert 'deployment.apps "app" deleted' in deleted.stdout
    assert cluster.get_object("deployments", "app", ns) is None
    assert cluster.list_objects("replicasets", ns) == []  # owned ReplicaSet garbage-collected

    cluster.kubectl("delete", "configmap", "-n", ns, "-l", "app=demo")
    assert cluster.get_object("configmaps", "settings", ns) is None


def test_deleting_a_namespace_deletes_its_objects(cluster: KubeCluster, ns: str) -> None:
    cluster.kubectl("apply", "-f", "-", input=manifest(ns))
    cluster.kubectl("delete", "namespace", ns, "--timeout=30s")
    assert cluster.get_object("namespaces", ns) is None
    assert cluster.list_objects("deployments", ns) == []
    assert cluster.list_objects("configmaps", ns) == []


def test_auth_can_i_and_whoami(cluster: KubeCluster) -> None:
    assert cluster.kubectl("auth", "can-i", "create", "deployments", "-n", "default").stdout.strip() == "yes"
    whoami = cluster.kubectl("auth", "whoami", "-o", "json").stdout
    assert json.loads(whoami)["status"]["userInfo"]["username"]
