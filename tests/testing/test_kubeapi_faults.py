"""Fault switches and authentication of the local Kubernetes API stand-in, proven with the real helm and kubectl.

Each test gets a fresh server (``kube_cluster``), since it flips switches.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from deployer.testing.fixtures_kube import KubeCluster
from deployer.testing.kubeapi import KubeAPIServer

pytestmark = pytest.mark.e2e

WEBAPP = str(Path(__file__).parent / "charts" / "webapp")


def release_status(cluster: KubeCluster, namespace: str, release: str = "web") -> str:
    return json.loads(cluster.helm("status", release, "-n", namespace, "-o", "json").stdout)["info"]["status"]


@pytest.mark.parametrize("wait", ["--wait", "--wait=legacy"])
def test_wait_times_out_with_readiness_off_and_release_fails(kube_cluster: KubeCluster, wait: str) -> None:
    kube_cluster.readiness = False
    started = time.monotonic()
    failed = kube_cluster.helm(
        "upgrade", "--install", "web", WEBAPP, "-n", "slow", "--create-namespace", wait, "--timeout", "2s", check=False
    )
    assert failed.returncode == 1
    assert time.monotonic() - started < 20
    assert "context deadline exceeded" in failed.stderr or "timed out" in failed.stderr
    assert release_status(kube_cluster, "slow") == "failed"
    assert "status" not in kube_cluster.require_object("deployments", "web-web", "slow")

    kube_cluster.readiness = True  # the fake controllers catch up with what is stored
    assert kube_cluster.require_object("deployments", "web-web", "slow")["status"]["readyReplicas"] == 1
    kube_cluster.helm("upgrade", "--install", "web", WEBAPP, "-n", "slow", wait, "--timeout", "30s")
    assert release_status(kube_cluster, "slow") == "deployed"


def test_rollback_on_failure_uninstalls_a_failed_first_install(kube_cluster: KubeCluster) -> None:
    from deployer.testing.fixtures_kube import helm_major

    kube_cluster.readiness = False
    flag = "--rollback-on-failure" if helm_major(kube_cluster) >= 4 else "--atomic"
    failed = kube_cluster.helm(
        "upgrade",
        "--install",
        "web",
        WEBAPP,
        "-n",
        "atomic",
        "--create-namespace",
        flag,
        "--timeout",
        "2s",
        check=False,
    )
    assert failed.returncode == 1 and "uninstalled" in failed.stderr
    assert kube_cluster.get_object("deployments", "web-web", "atomic") is None
    assert kube_cluster.list_objects("secrets", "atomic", label_selector="owner=helm") == []


def test_rollout_status_times_out_with_readiness_off(kube_cluster: KubeCluster) -> None:
    kube_cluster.readiness = False
    kube_cluster.kubectl("create", "namespace", "roll")
    kube_cluster.helm("upgrade", "--install", "web", WEBAPP, "-n", "roll")
    waited = kube_cluster.kubectl("rollout", "status", "deploy/web-web", "-n", "roll", "--timeout=1s", check=False)
    assert waited.returncode == 1 and "timed out" in waited.stderr


@pytest.mark.parametrize(("code", "reason"), [(500, "InternalError"), (403, "Forbidden")])
@pytest.mark.parametrize("server_side", ["true", "false"])
def test_injected_error_on_create_fails_helm_and_the_release(
    kube_cluster: KubeCluster, code: int, reason: str, server_side: str
) -> None:
    rule = kube_cluster.inject_error(
        code, verb="create", namespace="broken", resource="deployments", message="quota exceeded (injected)"
    )
    other = kube_cluster.helm(
        "upgrade", "--install", "web", WEBAPP, "-n", "fine", "--create-namespace", f"--server-side={server_side}"
    )
    assert other.returncode == 0  # other namespaces are not affected

    failed = kube_cluster.helm(
        "upgrade",
        "--install",
        "web",
        WEBAPP,
        "-n",
        "broken",
        "--create-namespace",
        f"--server-side={server_side}",
        check=False,
    )
    assert failed.returncode == 1
    assert "quota exceeded (injected)" in failed.stderr
    assert release_status(kube_cluster, "broken") == "failed"
    assert rule.hits >= 1
    assert kube_cluster.get_object("deployments", "web-web", "broken") is None
    assert kube_cluster.get_object("configmaps", "web-config", "broken") is not None
    statuses = {
        r.status
        for r in kube_cluster.requests
        if r.namespace == "broken" and r.resource == "deployments" and r.verb in ("create", "patch")
    }
    assert code in statuses

    kube_cluster.clear_errors()
    kube_cluster.helm("upgrade", "--install", "web", WEBAPP, "-n", "broken", f"--server-side={server_side}")
    assert release_status(kube_cluster, "broken") == "deployed"


def test_injected_error_limited_times_and_on_reads(kube_cluster: KubeCluster) -> None:
    kube_cluster.inject_error(503, verb="list", resource="configmaps", namespace="default", times=1)
    first = kube_cluster.kubectl("get", "configmaps", "-n", "default", check=False)
    assert first.returncode == 1 and "injected fault" in first.stderr
    assert kube_cluster.kubectl("get", "configmaps", "-n", "default").returncode == 0


def test_added_latency_slows_every_request(kube_cluster: KubeCluster) -> None:
    kube_cluster.kubectl("get", "namespace", "default")  # warms kubectl's discovery cache
    kube_cluster.latency = 0.3
    before = len(kube_cluster.requests)
    started = time.monotonic()
    kube_cluster.kubectl("get", "namespace", "default")
    elapsed = time.monotonic() - started
    served = len(kube_cluster.requests) - before
    assert served >= 1
    assert elapsed >= 0.3 * served  # requests are sequential here, each delayed

    kube_cluster.latency = 0
    started = time.monotonic()
    kube_cluster.kubectl("get", "namespace", "default")
    assert time.monotonic() - started < 0.3 * served


def test_bad_token_gets_401_and_good_token_is_recorded(tmp_path: Path, kube_cluster: KubeCluster) -> None:
    with KubeAPIServer(token="s3cret") as server:
        good = server.write_kubeconfig(tmp_path / "good")
        bad = server.write_kubeconfig(tmp_path / "bad", token="wrong")
        anonymous = server.write_kubeconfig(tmp_path / "anonymous", token=None)
        env = {"KUBECACHEDIR": str(tmp_path / "cache")}

        denied = kube_cluster.run("kubectl", "--kubeconfig", str(bad), "get", "ns", env=env, check=False)
        assert denied.returncode == 1
        assert "Unauthorized" in denied.stderr or "must be logged in" in denied.stderr
        assert (
            kube_cluster.run("kubectl", "--kubeconfig", str(anonymous), "get", "ns", env=env, check=False).returncode
            == 1
        )
        assert server.tokens_seen == ["wrong"]
        assert {r.status for r in server.requests if r.path != "/version"} == {401}

        listed = kube_cluster.run("kubectl", "--kubeconfig", str(good), "get", "ns", "-o", "name", env=env)
        assert "namespace/default" in listed.stdout.split()
        assert server.tokens_seen == ["wrong", "s3cret"]


def test_token_callable_decides(tmp_path: Path, kube_cluster: KubeCluster) -> None:
    with KubeAPIServer(token=lambda token: token.startswith("k8s-aws-v1.")) as server:
        env = {"KUBECACHEDIR": str(tmp_path / "cache")}
        ok = server.write_kubeconfig(tmp_path / "ok", token="k8s-aws-v1.abc")
        ko = server.write_kubeconfig(tmp_path / "ko", token="gcp-token")
        assert kube_cluster.run("kubectl", "--kubeconfig", str(ok), "get", "ns", env=env).returncode == 0
        assert kube_cluster.run("kubectl", "--kubeconfig", str(ko), "get", "ns", env=env, check=False).returncode == 1
        assert server.tokens_seen == ["k8s-aws-v1.abc", "gcp-token"]


def test_exec_plugin_token_reaches_the_server(tmp_path: Path, kube_cluster: KubeCluster) -> None:
    import sys

    from deployer.testing.kubeapi.kubeconfig import write_kubeconfig

    credential = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "status": {"token": "from-exec-plugin"},
    }
    with KubeAPIServer(token="from-exec-plugin") as server:
        config = server.kubeconfig(token=None)
        config["users"][0]["user"] = {
            "exec": {
                "apiVersion": "client.authentication.k8s.io/v1",
                "interactiveMode": "Never",
                "command": sys.executable,
                "args": ["-c", f"print({json.dumps(json.dumps(credential))})"],
            }
        }
        path = write_kubeconfig(tmp_path / "exec-kubeconfig", config)
        kube_cluster.run(
            "kubectl", "--kubeconfig", str(path), "get", "ns", env={"KUBECACHEDIR": str(tmp_path / "cache")}
        )
        assert server.tokens_seen == ["from-exec-plugin"]
