"""The REAL upstream charts, with the real helm 3 and helm 4, against the local Kubernetes API stand-in.

Each of the project's charts (basehub with the real jupyterhub 4.2.0, daskhub with the real dask-gateway and its
``crds/``, support with the real cert-manager, ingress-nginx and prometheus) is installed with
``helm upgrade --install --wait``, upgraded a second time and uninstalled, once per helm major, on the one shared
stand-in of the session (``kube_cluster_session``). What this exercises beyond small charts: RBAC names with ``:``,
API-server defaults that helm 3's waiter dereferences, hook Jobs and hook DaemonSets (z2jh's image puller,
ingress-nginx's admission Jobs, cert-manager's startupapicheck), CRDs from ``crds/`` and CRDs as templates, and a
custom resource whose CRD is missing.

Charts come from a copy of ``helm-charts/`` in a temporary folder (nothing is written into the repository), their
real dependencies built by the ``chart_cache`` fixture (from ``DEPLOYER_CHART_MIRROR`` when set).

Releases are uninstalled at the end of each test (and cert-manager's kept CRDs deleted), because the support chart
creates cluster-scoped objects with fixed names (the ``nginx`` IngressClass, cert-manager's CRDs) that a release of
the other helm major could not adopt.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from deployer.testing.fixtures_kube import KubeCluster
from helm_majors import HelmBinary, helm_binary  # noqa: F401 - a fixture
from helpers import PROJECT

pytestmark = pytest.mark.e2e

CHARTS = ("basehub", "daskhub", "support")
LOCAL = PROJECT / "config" / "clusters" / "local"
CERT_MANAGER_CRDS = (
    "certificaterequests",
    "certificates",
    "challenges.acme",
    "clusterissuers",
    "issuers",
    "orders.acme",
)
ISSUER_CRD = {
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
ISSUER = {
    "apiVersion": "cert-manager.io/v1",
    "kind": "ClusterIssuer",
    "metadata": {"name": "{{ .Release.Name }}"},
    "spec": {"selfSigned": {}},
}


# -- charts ---------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def charts(tmp_path_factory: pytest.TempPathFactory, chart_cache) -> Path:
    """A copy of helm-charts/ whose charts have their real dependency archives in charts/."""
    return chart_cache.copy_charts(PROJECT / "helm-charts", tmp_path_factory.mktemp("real-charts") / "helm-charts")


# -- helm -----------------------------------------------------------------------------------------------------------
@dataclass
class Helm:
    major: int
    binary: Path
    cluster: KubeCluster
    env: dict[str, str]

    def __call__(self, *args: str, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return self.cluster.helm(*args, env=self.env, check=check, timeout=timeout)

    def deploy(
        self, release: str, chart: Path, namespace: str, *values: str, wait: str = "--wait"
    ) -> subprocess.CompletedProcess[str]:
        return self(
            "upgrade",
            "--install",
            release,
            str(chart),
            "--namespace",
            namespace,
            "--create-namespace",
            *values,
            wait,
            "--timeout",
            "2m",
        )

    def status(self, release: str, namespace: str) -> dict:
        return json.loads(self("status", release, "--namespace", namespace, "-o", "json").stdout)


@pytest.fixture(scope="module")
def cluster(kube_cluster_session: KubeCluster) -> KubeCluster:
    return kube_cluster_session


@pytest.fixture
def helm(helm_binary: HelmBinary, cluster: KubeCluster, tmp_path_factory: pytest.TempPathFactory) -> Helm:
    home = tmp_path_factory.mktemp(f"helm{helm_binary.major}-home")
    helm = Helm(helm_binary.major, helm_binary.path, cluster, helm_binary.env(home))
    assert helm("version", "--short").stdout.startswith(f"v{helm_binary.major}.")  # the chosen major runs
    return helm


@pytest.fixture
def release(helm: Helm, cluster: KubeCluster) -> Iterator[tuple[str, str]]:
    """(release name, namespace), both fresh; the release is uninstalled afterwards if the test did not."""
    namespace = cluster.unique_namespace(f"rc{helm.major}")
    name = f"r{helm.major}-{uuid.uuid4().hex[:6]}"
    yield name, namespace
    if helm("status", name, "--namespace", namespace, check=False).returncode == 0:
        helm("uninstall", name, "--namespace", namespace, "--wait", check=False)


def _hook_ran(cluster: KubeCluster, namespace: str, resource: str, name: str) -> bool:
    """The stand-in saw ``name`` created in ``namespace`` (hooks are deleted again once they succeed)."""
    if cluster.server is None:
        return True
    return any(
        r.namespace == namespace
        and r.resource == resource
        and r.name in (name, "")
        and r.status == 201
        and r.verb in ("create", "patch")
        for r in cluster.server.requests
    )


def _deploy_twice_then_uninstall(
    helm: Helm, release: str, chart: Path, namespace: str, *values: str, second_wait: str = "--wait"
) -> None:
    helm.deploy(release, chart, namespace, *values)
    status = helm.status(release, namespace)
    assert (status["info"]["status"], status["version"]) == ("deployed", 1)
    helm.deploy(release, chart, namespace, *values, wait=second_wait)
    status = helm.status(release, namespace)
    assert (status["info"]["status"], status["version"]) == ("deployed", 2)


def _uninstall(helm: Helm, release: str, namespace: str) -> str:
    done = helm("uninstall", release, "--namespace", namespace, "--wait")
    assert helm("status", release, "--namespace", namespace, check=False).returncode != 0
    return done.stdout


# -- the charts -------------------------------------------------------------------------------------------------------
def test_basehub_with_the_real_jupyterhub_chart(
    helm: Helm, cluster: KubeCluster, charts: Path, release: tuple[str, str]
) -> None:
    name, namespace = release
    _deploy_twice_then_uninstall(helm, name, charts / "basehub", namespace, "-f", str(LOCAL / "common.values.yaml"))

    for deployment in ("hub", "proxy", "user-scheduler"):
        obj = cluster.require_object("deployments", deployment, namespace)
        assert obj["status"]["readyReplicas"] == obj["spec"]["replicas"] >= 1
    placeholder = cluster.require_object("statefulsets", "user-placeholder", namespace)
    assert placeholder["spec"]["updateStrategy"]["type"] == "RollingUpdate"
    puller = cluster.require_object("daemonsets", "continuous-image-puller", namespace)
    assert puller["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"]
    assert cluster.require_object("secrets", "hub", namespace)["data"]
    # the pre-install/pre-upgrade image puller hooks ran and were deleted (hook-succeeded)
    assert _hook_ran(cluster, namespace, "daemonsets", "hook-image-puller")
    assert _hook_ran(cluster, namespace, "jobs", "hook-image-awaiter")
    assert cluster.get_object("jobs", "hook-image-awaiter", namespace) is None

    _uninstall(helm, name, namespace)
    assert cluster.get_object("deployments", "hub", namespace) is None


def test_daskhub_with_the_real_dask_gateway_chart_and_its_crds(
    helm: Helm, cluster: KubeCluster, charts: Path, release: tuple[str, str], tmp_path: Path
) -> None:
    name, namespace = release
    common = yaml.safe_load((LOCAL / "common.values.yaml").read_text())
    values = tmp_path / "daskhub.values.yaml"
    values.write_text(yaml.safe_dump({"basehub": common}))  # daskhub nests basehub's values under basehub:
    _deploy_twice_then_uninstall(helm, name, charts / "daskhub", namespace, "-f", str(values))

    crd = cluster.require_object("customresourcedefinitions", "daskclusters.gateway.dask.org")
    assert {c["type"]: c["status"] for c in crd["status"]["conditions"]}["Established"] == "True"
    assert cluster.require_object("deployments", f"api-{name}-dask-gateway", namespace)["status"]["readyReplicas"] == 1
    assert cluster.require_object("deployments", "hub", namespace)["status"]["readyReplicas"] == 1
    cluster.kubectl(
        "apply",
        "-n",
        namespace,
        "-f",
        "-",
        input=json.dumps(
            {
                "apiVersion": "gateway.dask.org/v1alpha1",
                "kind": "DaskCluster",
                "metadata": {"name": "c1"},
                "spec": {"scheduler": {}, "worker": {}},
            }
        ),
    )
    assert cluster.kubectl("get", "daskclusters", "-n", namespace, "-o", "name").stdout.split() == [
        "daskcluster.gateway.dask.org/c1"
    ]

    _uninstall(helm, name, namespace)
    # CRDs from a chart's crds/ folder are never deleted by helm (so the next install skips them)
    assert cluster.get_object("customresourcedefinitions", "daskclusters.gateway.dask.org") is not None


def test_support_with_real_cert_manager_ingress_nginx_and_prometheus(
    helm: Helm, cluster: KubeCluster, charts: Path, release: tuple[str, str]
) -> None:
    if not cluster.is_stand_in:
        pytest.skip("creates and deletes cert-manager's cluster-wide CRDs: only on the throw-away local stand-in")
    name, namespace = release
    values = ("-f", str(LOCAL / "support.values.yaml"), "--set", "clusterIssuer.enabled=false")
    try:
        # helm 4 waits with kstatus first, then with its legacy waiter (helm 3's) on the upgrade
        _deploy_twice_then_uninstall(
            helm,
            name,
            charts / "support",
            namespace,
            *values,
            second_wait="--wait=legacy" if helm.major >= 4 else "--wait",
        )

        approve = f"{name}-cert-manager-controller-approve:cert-manager-io"
        assert cluster.get_object("clusterroles", approve) is not None  # an RBAC name with ':'
        for crd in CERT_MANAGER_CRDS:  # rendered as templates (crds.enabled) and Established
            assert cluster.get_object("customresourcedefinitions", f"{crd}.cert-manager.io") is not None
        assert cluster.require_object("deployments", f"{name}-cert-manager", namespace)["status"]["readyReplicas"] == 1
        controller = cluster.require_object("deployments", f"{name}-ingress-nginx-controller", namespace)
        assert controller["spec"]["strategy"]["type"] == "RollingUpdate"
        assert controller["status"]["readyReplicas"] == 1
        assert cluster.get_object("deployments", f"{name}-prometheus-server", namespace) is not None
        assert cluster.get_object("validatingwebhookconfigurations", f"{name}-ingress-nginx-admission") is not None
        # the hook Jobs ran and were deleted (hook-succeeded)
        for job in (
            f"{name}-ingress-nginx-admission-create",
            f"{name}-ingress-nginx-admission-patch",
            f"{name}-cert-manager-startupapicheck",
        ):
            assert _hook_ran(cluster, namespace, "jobs", job), job
            assert cluster.get_object("jobs", job, namespace) is None, job

        out = _uninstall(helm, name, namespace)
        assert "kept due to the resource policy" in out  # cert-manager's crds.keep, as on a real cluster
        assert cluster.get_object("clusterroles", approve) is None
    finally:
        for crd in CERT_MANAGER_CRDS:
            cluster.kubectl("delete", "customresourcedefinition", f"{crd}.cert-manager.io", "--ignore-not-found")


def test_custom_resource_before_its_crd_fails_like_a_real_server(
    helm: Helm, cluster: KubeCluster, release: tuple[str, str], tmp_path: Path
) -> None:
    if not cluster.is_stand_in:
        pytest.skip("creates and deletes cert-manager's cluster-wide CRDs: only on the throw-away local stand-in")
    name, namespace = release
    chart = tmp_path / "issuer"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: issuer\nversion: 0.1.0\n")
    (chart / "templates" / "issuer.yaml").write_text(yaml.safe_dump(ISSUER))
    no_match = 'no matches for kind "ClusterIssuer" in version "cert-manager.io/v1"'
    try:
        failed = helm(
            "upgrade", "--install", name, str(chart), "--namespace", namespace, "--create-namespace", check=False
        )
        assert failed.returncode != 0
        assert "resource mapping not found for name" in failed.stderr and no_match in failed.stderr
        applied = cluster.kubectl(
            "apply", "-f", "-", input=json.dumps({**ISSUER, "metadata": {"name": name}}), check=False
        )
        assert applied.returncode != 0 and no_match in applied.stderr
        raw = cluster.kubectl("get", "--raw", f"/apis/cert-manager.io/v1/clusterissuers/{name}", check=False)
        assert "(NotFound): the server could not find the requested resource" in raw.stderr

        cluster.kubectl("apply", "-f", "-", input=json.dumps(ISSUER_CRD))
        cluster.kubectl(
            "wait", "--for", "condition=Established", "crd/clusterissuers.cert-manager.io", "--timeout", "30s"
        )
        helm(
            "upgrade",
            "--install",
            name,
            str(chart),
            "--namespace",
            namespace,
            "--create-namespace",
            "--wait",
            "--timeout",
            "1m",
        )
        assert helm.status(name, namespace)["info"]["status"] == "deployed"
        assert cluster.kubectl("get", "clusterissuer", name, "-o", "name").stdout.strip() == (
            f"clusterissuer.cert-manager.io/{name}"
        )
        _uninstall(helm, name, namespace)
    finally:
        cluster.kubectl("delete", "customresourcedefinition", "clusterissuers.cert-manager.io", "--ignore-not-found")
