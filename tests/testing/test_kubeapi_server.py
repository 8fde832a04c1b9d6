"""The stand-in's own contracts: patches, selectors, protobuf, watches over raw HTTPS, Python API and command."""

from __future__ import annotations

import base64
import http.client
import json
import signal
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from deployer.testing.fixtures_kube import KubeCluster
from deployer.testing.kubeapi import KubeAPIServer
from deployer.testing.kubeapi.patch import PatchError, apply_patch, json_patch, merge_patch, strategic_merge
from deployer.testing.kubeapi.protobuf import UnsupportedProtobuf, decode_object
from deployer.testing.kubeapi.selectors import field_matcher, label_matcher

POD = {"metadata": {"name": "p", "labels": {"app": "web", "tier": "front"}}, "status": {"phase": "Running"}}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("", True),
        ("app=web", True),
        ("app==web", True),
        ("app=db", False),
        ("app!=db", True),
        ("app in (web, db)", True),
        ("app notin (web)", False),
        ("tier", True),
        ("!tier", False),
        ("missing", False),
        ("!missing", True),
        ("app=web,tier in (back)", False),
        ("app=web,tier=front", True),
    ],
)
def test_label_selectors(selector: str, expected: bool) -> None:
    assert label_matcher(selector)(POD) is expected


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("metadata.name=p", True),
        ("metadata.name!=p", False),
        ("status.phase=Running", True),
        ("spec.nodeName=", True),
        ("metadata.name=p,status.phase!=Running", False),
    ],
)
def test_field_selectors(selector: str, expected: bool) -> None:
    assert field_matcher(selector)(POD) is expected


def test_bad_selector_is_rejected() -> None:
    with pytest.raises(ValueError):
        label_matcher("a in b")


CONTAINERS = {
    "spec": {
        "containers": [
            {"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}]},
            {"name": "b", "image": "b:1"},
        ]
    }
}


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        (
            {"spec": {"containers": [{"name": "b", "image": "b:2"}]}},
            [{"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}]}, {"name": "b", "image": "b:2"}],
        ),
        (
            {"spec": {"containers": [{"name": "a", "env": [{"name": "Y", "value": "2"}]}]}},
            [
                {"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]},
                {"name": "b", "image": "b:1"},
            ],
        ),
        ({"spec": {"containers": [{"name": "a", "$patch": "delete"}]}}, [{"name": "b", "image": "b:1"}]),
        (
            {
                "spec": {
                    "$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
                    "containers": [{"name": "a", "image": "a:2"}],
                }
            },
            [{"name": "b", "image": "b:1"}, {"name": "a", "image": "a:2", "env": [{"name": "X", "value": "1"}]}],
        ),
        ({"spec": {"containers": [{"name": "c"}, {"$patch": "replace"}]}}, [{"name": "c"}]),
    ],
    ids=["merge-by-name", "nested-env", "delete-directive", "element-order", "replace-directive"],
)
def test_strategic_merge_lists(patch: dict[str, Any], expected: list[Any]) -> None:
    assert strategic_merge(CONTAINERS, patch)["spec"]["containers"] == expected


def test_strategic_merge_maps_null_and_retain_keys() -> None:
    target: dict[str, Any] = {
        "metadata": {"labels": {"a": "1", "b": "2"}},
        "spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}},
    }
    patch = {
        "metadata": {"labels": {"a": None, "c": "3"}},
        "spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}},
    }
    assert strategic_merge(target, patch) == {
        "metadata": {"labels": {"b": "2", "c": "3"}},
        "spec": {"strategy": {"type": "Recreate"}},
    }
    assert target["metadata"]["labels"] == {"a": "1", "b": "2"}  # inputs untouched


def test_merge_and_json_patches() -> None:
    assert merge_patch({"a": {"b": 1, "c": 2}, "l": [1, 2]}, {"a": {"b": None}, "l": [3]}) == {"a": {"c": 2}, "l": [3]}
    doc = {"spec": {"items": ["x", "y"]}}
    ops: list[dict[str, Any]] = [
        {"op": "add", "path": "/spec/items/-", "value": "z"},
        {"op": "remove", "path": "/spec/items/0"},
        {"op": "replace", "path": "/spec/new", "value": 1},
        {"op": "copy", "from": "/spec/new", "path": "/n"},
        {"op": "test", "path": "/n", "value": 1},
    ]
    with pytest.raises(PatchError):
        json_patch(doc, ops)  # replace needs an existing path
    ops[2]["op"] = "add"
    assert json_patch(doc, ops) == {"spec": {"items": ["y", "z"], "new": 1}, "n": 1}
    with pytest.raises(PatchError):
        json_patch(doc, [{"op": "test", "path": "/spec/items/0", "value": "nope"}])


def test_server_side_apply_removes_what_the_manager_no_longer_applies() -> None:
    first = {"metadata": {"name": "x", "labels": {"a": "1", "b": "2"}}, "data": {"k": "v", "old": "o"}}
    live = apply_patch(None, first, None)
    live["metadata"]["labels"]["someone-else"] = "kept"
    second = {"metadata": {"name": "x", "labels": {"a": "1"}}, "data": {"k": "v2"}}
    assert apply_patch(live, second, first) == {
        "metadata": {"name": "x", "labels": {"a": "1", "someone-else": "kept"}},
        "data": {"k": "v2"},
    }


def _field(number: int, payload: bytes) -> bytes:
    def varint(n: int) -> bytes:
        out = b""
        while True:
            byte, n = n & 0x7F, n >> 7
            out += bytes([byte | (0x80 if n else 0)])
            if not n:
                return out

    return varint(number << 3 | 2) + varint(len(payload)) + payload


def test_protobuf_secret_envelope_is_decoded() -> None:
    meta = (
        _field(1, b"sh.helm.release.v1.web.v1")
        + _field(3, b"demo")
        + _field(11, _field(1, b"owner") + _field(2, b"helm"))
    )
    secret = (
        _field(1, meta)
        + _field(2, _field(1, b"release") + _field(2, b"\x00\x01bin"))
        + _field(3, b"helm.sh/release.v1")
    )
    body = b"k8s\x00" + _field(1, _field(1, b"v1") + _field(2, b"Secret")) + _field(2, secret)
    assert decode_object(body) == {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "helm.sh/release.v1",
        "metadata": {"name": "sh.helm.release.v1.web.v1", "namespace": "demo", "labels": {"owner": "helm"}},
        "data": {"release": base64.b64encode(b"\x00\x01bin").decode()},
    }
    with pytest.raises(UnsupportedProtobuf):
        decode_object(b"k8s\x00" + _field(1, _field(1, b"apps/v1") + _field(2, b"Deployment")))


# -- raw HTTPS ------------------------------------------------------------------------------------
def _connection(server: KubeAPIServer) -> http.client.HTTPSConnection:
    context = ssl.create_default_context(cadata=server.ca_pem.decode())
    return http.client.HTTPSConnection("127.0.0.1", server.port, context=context, timeout=10)


def _request(
    server: KubeAPIServer, method: str, path: str, body: Any = None, content_type: str = "application/json"
) -> tuple[int, Any]:
    conn = _connection(server)
    conn.request(
        method, path, body=json.dumps(body) if body is not None else None, headers={"Content-Type": content_type}
    )
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, json.loads(data) if data else None


def _events(response: http.client.HTTPResponse, count: int) -> list[dict[str, Any]]:
    return [json.loads(response.readline()) for _ in range(count)]


def test_watch_list_sends_initial_events_bookmark_then_changes() -> None:
    with KubeAPIServer() as server:
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "one", "labels": {"w": "yes"}}}
        assert _request(server, "POST", "/api/v1/namespaces/default/configmaps", cm)[0] == 201
        conn = _connection(server)
        conn.request(
            "GET",
            "/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true"
            "&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&labelSelector=w%3Dyes",
        )
        response = conn.getresponse()
        added, bookmark = _events(response, 2)
        assert (added["type"], added["object"]["metadata"]["name"]) == ("ADDED", "one")
        assert bookmark["type"] == "BOOKMARK"
        assert (bookmark["object"]["kind"], bookmark["object"]["apiVersion"]) == ("ConfigMap", "v1")
        assert bookmark["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}

        _request(server, "POST", "/api/v1/namespaces/default/configmaps", {**cm, "metadata": {"name": "other"}})
        _request(
            server,
            "PATCH",
            "/api/v1/namespaces/default/configmaps/one",
            {"data": {"k": "v"}},
            "application/merge-patch+json",
        )
        _request(
            server,
            "PATCH",
            "/api/v1/namespaces/default/configmaps/one",
            {"metadata": {"labels": {"w": "no"}}},
            "application/merge-patch+json",
        )
        modified, left = _events(response, 2)  # "other" does not match the selector
        assert (modified["type"], modified["object"]["data"]) == ("MODIFIED", {"k": "v"})
        assert (left["type"], left["object"]["metadata"]["name"]) == ("DELETED", "one")
        conn.close()

        conn = _connection(server)
        conn.request(
            "GET",
            "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion="
            + bookmark["object"]["metadata"]["resourceVersion"],
        )
        replay = _events(conn.getresponse(), 3)
        assert [(e["type"], e["object"]["metadata"]["name"]) for e in replay] == [
            ("ADDED", "other"),
            ("MODIFIED", "one"),
            ("MODIFIED", "one"),
        ]
        conn.close()


def test_create_update_conflicts_and_not_found() -> None:
    with KubeAPIServer() as server:
        path = "/api/v1/namespaces/default/configmaps"
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}}
        code, created = _request(server, "POST", path, cm)
        assert code == 201 and created["metadata"]["resourceVersion"] and created["metadata"]["uid"]
        code, status = _request(server, "POST", path, cm)
        assert (code, status["reason"]) == (409, "AlreadyExists")
        stale = {**created, "data": {"a": "2"}, "metadata": {**created["metadata"], "resourceVersion": "1"}}
        assert _request(server, "PUT", f"{path}/c", stale)[1]["reason"] == "Conflict"
        code, status = _request(server, "POST", "/api/v1/namespaces/nowhere/configmaps", cm)
        assert (code, status["message"]) == (404, 'namespaces "nowhere" not found')
        code, status = _request(server, "POST", path, {**cm, "metadata": {"name": "Bad_Name"}})
        assert (code, status["reason"]) == (422, "Invalid")
        assert _request(server, "GET", "/apis/nothing.example/v1/things")[0] == 404


def test_python_api_reads_and_writes_objects() -> None:
    with KubeAPIServer() as server:
        server.create_object(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "d", "namespace": "default", "labels": {"x": "1"}},
                "spec": {
                    "selector": {"matchLabels": {"x": "1"}},
                    "template": {"metadata": {"labels": {"x": "1"}}, "spec": {}},
                },
            }
        )
        for name in ("deployments", "Deployment", "deploy", "deployments.apps"):
            deployment = server.get_object(name, "d", "default")
            assert deployment is not None and deployment["status"]["availableReplicas"] == 1
        assert [o["metadata"]["name"] for o in server.list_objects("deploy", label_selector="x=1")] == ["d"]
        assert server.list_objects("deploy", label_selector="x=2") == []
        (rs,) = server.list_objects("replicasets", "default")
        assert rs["metadata"]["ownerReferences"][0]["name"] == "d"
        server.delete_object("deploy", "d", "default")
        assert server.get_object("deploy", "d", "default") is None
        assert server.list_objects("replicasets") == []
        with pytest.raises(KeyError):
            server.get_object("gizmos", "x")


def test_kubeconfig_contents(tmp_path: Path) -> None:
    from ruamel.yaml import YAML

    with KubeAPIServer(token="t0k") as server:
        path = server.write_kubeconfig(tmp_path / "kc", context="mine")
        config = YAML(typ="safe").load(path.read_text())
        assert config["current-context"] == "mine"
        assert config["clusters"][0]["cluster"]["server"] == server.url
        assert base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"]) == server.ca_pem
        assert config["users"][0]["user"] == {"token": "t0k"}
        assert path.stat().st_mode & 0o077 == 0
    assert not server.running


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_command_serves_until_signalled(tmp_path: Path, kube_cluster_session: KubeCluster, signum: int) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "deployer.testing.kubeapi",
            "--kubeconfig",
            str(kubeconfig),
            "--context",
            "cli",
            "--token",
            "cli-token",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    try:
        line = process.stdout.readline()
        assert f"kubeconfig written to {kubeconfig}" in line and "https://127.0.0.1:" in line
        listed = kube_cluster_session.run(
            "kubectl",
            "--kubeconfig",
            str(kubeconfig),
            "get",
            "ns",
            "-o",
            "name",
            env={"KUBECACHEDIR": str(tmp_path / "cache")},
        )
        assert "namespace/kube-system" in listed.stdout.split()
        process.send_signal(signum)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


# -- names, defaults and custom resources without their CRD ----------------------------------------------------------
@pytest.mark.parametrize(
    ("group", "kind", "name", "valid"),
    [
        ("rbac.authorization.k8s.io", "ClusterRole", "cm-controller-approve:cert-manager-io", True),
        ("rbac.authorization.k8s.io", "RoleBinding", "Upper_Case:ok", True),
        ("rbac.authorization.k8s.io", "Role", "a/b", False),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding", "50%", False),
        ("rbac.authorization.k8s.io", "Role", "..", False),
        ("", "ConfigMap", "cm-controller-approve:cert-manager-io", False),
        ("", "ConfigMap", "a.b-c", True),
        ("", "Namespace", "a.b", False),
        ("", "Namespace", "x" * 64, False),
        ("", "Namespace", "9lives", True),
        ("", "Service", "9lives", False),
        ("", "Service", "proxy-public", True),
        ("apps", "Deployment", "hub.example", True),
        ("batch", "CronJob", "c" * 53, False),
        ("cert-manager.io", "ClusterIssuer", "letsencrypt", True),
    ],
)
def test_names_are_validated_per_kind(group: str, kind: str, name: str, valid: bool) -> None:
    from deployer.testing.kubeapi.names import name_errors

    assert (name_errors(group, kind, name) == []) is valid


def test_invalid_names_get_the_api_servers_422() -> None:
    with KubeAPIServer() as server:
        role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "rules": []}
        code, created = _request(
            server,
            "POST",
            "/apis/rbac.authorization.k8s.io/v1/clusterroles",
            {**role, "metadata": {"name": "x-approve:cert-manager-io"}},
        )
        assert code == 201 and created["metadata"]["name"] == "x-approve:cert-manager-io"
        code, status = _request(
            server, "POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", {**role, "metadata": {"name": "a/b%"}}
        )
        assert code == 422 and status["reason"] == "Invalid"
        assert status["message"] == (
            'ClusterRole.rbac.authorization.k8s.io "a/b%" is invalid: [metadata.name: '
            "Invalid value: \"a/b%\": may not contain '/', metadata.name: Invalid value: "
            "\"a/b%\": may not contain '%']"
        )
        assert status["details"]["kind"] == "ClusterRole"
        assert [c["field"] for c in status["details"]["causes"]] == ["metadata.name", "metadata.name"]
        code, status = _request(
            server,
            "POST",
            "/api/v1/namespaces/default/services",
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "1st"}},
        )
        assert code == 422
        assert status["message"] == (
            'Service "1st" is invalid: metadata.name: Invalid value: "1st": a DNS-1035 label must consist of lower '
            "case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric "
            "character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
        )
        code, status = _request(
            server,
            "POST",
            "/api/v1/namespaces/default/configmaps",
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}},
        )
        assert (code, status["message"]) == (
            422,
            'ConfigMap "" is invalid: metadata.name: Required value: name or generateName is required',
        )


def _deployment(**spec: Any) -> dict[str, Any]:
    labels = {"app": "web"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": labels},
            **spec,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {"name": "web", "image": "nginx"},
                        {"name": "side", "image": "busybox:1.36", "ports": [{"containerPort": 80}]},
                    ]
                },
            },
        },
    }


def test_workload_defaults_are_applied_on_create() -> None:
    with KubeAPIServer() as server:
        spec = server.create_object(_deployment())["spec"]
        assert spec["replicas"] == 1
        assert spec["strategy"] == {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
        }
        assert (spec["revisionHistoryLimit"], spec["progressDeadlineSeconds"]) == (10, 600)
        pod = spec["template"]["spec"]
        assert (pod["restartPolicy"], pod["dnsPolicy"], pod["terminationGracePeriodSeconds"]) == (
            "Always",
            "ClusterFirst",
            30,
        )
        web, side = pod["containers"]
        assert (web["imagePullPolicy"], side["imagePullPolicy"]) == ("Always", "IfNotPresent")
        assert web["terminationMessagePath"] == "/dev/termination-log"
        assert side["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
        recreate = server.create_object(
            {**_deployment(strategy={"type": "Recreate"}), "metadata": {"name": "r", "namespace": "default"}}
        )
        assert recreate["spec"]["strategy"] == {"type": "Recreate"}

        sts = server.create_object(
            {
                "apiVersion": "apps/v1",
                "kind": "StatefulSet",
                "metadata": {"name": "s", "namespace": "default"},
                "spec": {"selector": {}, "serviceName": "s", "template": {"spec": {}}},
            }
        )["spec"]
        assert sts["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
        assert (sts["replicas"], sts["podManagementPolicy"], sts["revisionHistoryLimit"]) == (1, "OrderedReady", 10)
        assert sts["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
        ds = server.create_object(
            {
                "apiVersion": "apps/v1",
                "kind": "DaemonSet",
                "metadata": {"name": "d", "namespace": "default"},
                "spec": {"selector": {}, "template": {"spec": {}}},
            }
        )["spec"]
        assert ds["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
        job = server.create_object(
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {"name": "j", "namespace": "default"},
                "spec": {"template": {"metadata": {"labels": {"app": "j"}}, "spec": {"restartPolicy": "Never"}}},
            }
        )
        spec = job["spec"]
        assert (
            spec["backoffLimit"],
            spec["completions"],
            spec["parallelism"],
            spec["completionMode"],
            spec["suspend"],
        ) == (6, 1, 1, "NonIndexed", False)
        uid = job["metadata"]["uid"]
        assert spec["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
        assert spec["template"]["metadata"]["labels"]["job-name"] == "j"
        assert job["metadata"]["labels"] == {"app": "j"}
        svc = server.create_object(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "lb", "namespace": "default"},
                "spec": {"type": "LoadBalancer", "ports": [{"port": 443}]},
            }
        )
        (port,) = svc["spec"]["ports"]
        assert (port["protocol"], port["targetPort"]) == ("TCP", 443) and 30000 <= port["nodePort"] <= 32767
        assert svc["spec"]["sessionAffinity"] == "None" and svc["spec"]["clusterIP"].startswith("10.96.")
        assert svc["status"]["loadBalancer"]["ingress"] == [{"ip": "127.0.0.1", "ipMode": "VIP"}]


@pytest.mark.parametrize(
    ("method", "content_type", "body"),
    [
        ("PUT", "application/json", None),
        ("PATCH", "application/strategic-merge-patch+json", {"spec": {"strategy": None, "replicas": None}}),
        ("PATCH", "application/merge-patch+json", {"spec": {"strategy": None, "replicas": None}}),
        (
            "PATCH",
            "application/json-patch+json",
            [{"op": "remove", "path": "/spec/strategy"}, {"op": "remove", "path": "/spec/replicas"}],
        ),
        ("PATCH", "application/apply-patch+yaml", "manifest"),
    ],
    ids=["put", "strategic", "merge", "json", "apply"],
)
def test_defaults_are_applied_on_every_update(method: str, content_type: str, body: Any) -> None:
    with KubeAPIServer() as server:
        path = "/apis/apps/v1/namespaces/default/deployments/web"
        created = server.create_object(_deployment())
        manifest = _deployment()
        if body is None:  # a PUT of the bare manifest, as `kubectl replace` sends it
            body = {
                **manifest,
                "metadata": {**manifest["metadata"], "resourceVersion": created["metadata"]["resourceVersion"]},
            }
        elif body == "manifest":
            body = manifest
        code, updated = _request(server, method, path + "?fieldManager=test", body, content_type)
        assert code == 200, updated
        assert updated["spec"]["strategy"]["rollingUpdate"] == {"maxUnavailable": "25%", "maxSurge": "25%"}
        assert updated["spec"]["replicas"] == 1
        assert updated["metadata"]["generation"] == 1  # defaulting back what was removed changes nothing


def test_explicit_values_are_not_overridden_by_defaults() -> None:
    with KubeAPIServer() as server:
        dep = server.create_object(_deployment(replicas=3, strategy={"rollingUpdate": {"maxUnavailable": 0}}))
        assert dep["spec"]["replicas"] == 3
        assert dep["spec"]["strategy"] == {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"},
        }


def test_custom_resources_are_served_only_while_their_crd_is_established() -> None:
    crd: dict[str, Any] = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "clusterissuers.cert-manager.io"},
        "spec": {
            "group": "cert-manager.io",
            "scope": "Cluster",
            "names": {
                "plural": "clusterissuers",
                "singular": "clusterissuer",
                "kind": "ClusterIssuer",
                "listKind": "ClusterIssuerList",
            },
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                }
            ],
        },
    }
    issuer = {
        "apiVersion": "cert-manager.io/v1",
        "kind": "ClusterIssuer",
        "metadata": {"name": "le"},
        "spec": {"selfSigned": {}},
    }
    path = "/apis/cert-manager.io/v1/clusterissuers"
    not_found = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "the server could not find the requested resource",
        "reason": "NotFound",
        "code": 404,
    }
    with KubeAPIServer() as server:
        assert _request(server, "POST", path, issuer) == (404, not_found)
        assert _request(server, "GET", path + "/le") == (404, not_found)
        assert _request(server, "GET", "/apis/cert-manager.io/v1")[0] == 404
        groups = _request(server, "GET", "/apis")[1]["groups"]
        assert "cert-manager.io" not in [g["name"] for g in groups]
        assert "apis/cert-manager.io/v1" not in _request(server, "GET", "/openapi/v3")[1]["paths"]

        code, stored = _request(server, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
        assert code == 201
        assert {c["type"]: c["status"] for c in stored["status"]["conditions"]} == {
            "NamesAccepted": "True",
            "Established": "True",
        }
        assert _request(server, "POST", path, issuer)[0] == 201
        assert [r["name"] for r in _request(server, "GET", "/apis/cert-manager.io/v1")[1]["resources"]] == [
            "clusterissuers",
            "clusterissuers/status",
        ]

        stored["status"]["conditions"] = [{"type": "Established", "status": "False"}]
        crd_path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/clusterissuers.cert-manager.io"
        assert _request(server, "PUT", crd_path + "/status", stored)[0] == 200
        assert _request(server, "GET", path + "/le")[0] == 404
        assert _request(server, "PUT", crd_path, {**crd, "metadata": {"name": crd["metadata"]["name"]}})[0] == 200
        assert _request(server, "GET", path + "/le")[0] == 200

        assert _request(server, "DELETE", crd_path)[0] == 200
        assert _request(server, "GET", path) == (404, not_found)
        assert server.store.list(("cert-manager.io", "clusterissuers"))[0] == []


def test_crd_names_must_be_plural_dot_group() -> None:
    with KubeAPIServer() as server:
        crd = {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "issuers.example.org"},
            "spec": {
                "group": "example.org",
                "scope": "Namespaced",
                "names": {"plural": "widgets", "kind": "Widget"},
                "versions": [{"name": "v1", "served": True, "storage": True}],
            },
        }
        code, status = _request(server, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
        assert code == 422
        assert status["message"].endswith(
            'metadata.name: Invalid value: "issuers.example.org": must be spec.names.plural+"."+spec.group'
        )


def test_openapi_v2_is_an_empty_document() -> None:
    with KubeAPIServer() as server:
        conn = _connection(server)
        conn.request(
            "GET", "/openapi/v2", headers={"Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"}
        )
        response = conn.getresponse()
        body = response.read()
        assert response.status == 200
        assert response.getheader("Content-Type") == "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
        assert body.startswith(b"\x0a\x032.0\x12")
        conn.close()
        code, document = _request(server, "GET", "/openapi/v2")
        assert code == 200 and document["definitions"] == {}


def test_a_load_balancer_turned_cluster_ip_loses_its_node_ports() -> None:
    with KubeAPIServer() as server:
        server.create_object(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "lb", "namespace": "default"},
                "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
            }
        )
        code, svc = _request(
            server,
            "PATCH",
            "/api/v1/namespaces/default/services/lb",
            {"spec": {"type": "ClusterIP"}},
            "application/merge-patch+json",
        )
        assert code == 200
        assert svc["spec"]["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80}]
        assert "externalTrafficPolicy" not in svc["spec"] and "allocateLoadBalancerNodePorts" not in svc["spec"]
        assert svc["status"]["loadBalancer"] == {}
