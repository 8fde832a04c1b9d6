"""Several daskhub releases on one cluster: the dask-gateway objects are named per release, and each hub points at
its own release's Dask Gateway (Traefik Service), under helm 3 and helm 4, rendered and installed.

The REAL pinned charts (jupyterhub 4.2.0 under basehub, dask-gateway 2024.1.0), built by the ``chart_cache`` fixture
into a copy of ``helm-charts/`` (from ``DEPLOYER_CHART_MIRROR`` when set). The installs run against the local
Kubernetes API stand-in (``kube_cluster``, a fresh one per test) or ``DEPLOYER_E2E_KUBECONFIG``.
"""

from __future__ import annotations

import ast
import base64
import json
import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from traitlets.config import Config

from deployer.testing.fixtures_kube import KubeCluster
from helm_majors import HelmBinary, helm_binary  # noqa: F401 - a fixture
from helpers import PROJECT

LOCAL_COMMON = PROJECT / "config" / "clusters" / "local" / "common.values.yaml"
EXTRA_CONFIG_KEY = "daskhub-dask-gateway-addresses"
SERVICE_TOKEN_KEY = "hub.services.dask-gateway.apiToken"
# kinds of cluster-scoped objects the charts could render (any of them must be unique per release)
CLUSTER_SCOPED = {
    "ClusterRole",
    "ClusterRoleBinding",
    "PriorityClass",
    "IngressClass",
    "StorageClass",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "PersistentVolume",
    "Namespace",
    "APIService",
}
# the dask-gateway chart's names: "<prefix>-<fullname>", fullname = "<release>-dask-gateway"
GATEWAY_CLUSTER_ROLES = ("api", "controller", "traefik")


@pytest.fixture(scope="module")
def charts(chart_cache, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of helm-charts/ with every chart's real dependencies built."""
    return chart_cache.copy_charts(PROJECT / "helm-charts", tmp_path_factory.mktemp("daskhub") / "helm-charts")


@pytest.fixture(scope="module")
def values_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The local cluster's common hub values (dummy authenticator, ClusterIP proxy), nested under ``basehub:``."""
    path = tmp_path_factory.mktemp("values") / "daskhub.values.yaml"
    path.write_text(yaml.safe_dump({"basehub": yaml.safe_load(LOCAL_COMMON.read_text())}))
    return path


def render(helm: HelmBinary, chart: Path, release: str, namespace: str, *args: str) -> list[dict]:
    argv = [str(helm.path), "template", release, str(chart), "--namespace", namespace, *args]
    done = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, f"helm{helm.major} template {release}:\n{done.stderr}"
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def by_kind_and_name(docs: list[dict]) -> dict[tuple[str, str], dict]:
    return {(doc["kind"], doc["metadata"]["name"]): doc for doc in docs}


def hub_values(found: dict[tuple[str, str], dict]) -> dict:
    """The values the JupyterHub chart hands its hub (Secret ``hub``, key ``values.yaml``)."""
    return yaml.safe_load(base64.b64decode(found[("Secret", "hub")]["data"]["values.yaml"]))


def hub_config(values: dict, release: str, namespace: str) -> Config:
    """What the hub's jupyterhub_config.py ends with for the dask-gateway wiring: services and the singleuser
    environment built from the values as the JupyterHub chart does, then the hub.extraConfig snippets run in order,
    with the environment variables the hub Deployment sets."""
    c = Config()
    c.JupyterHub.services = [{"name": name, **service} for name, service in values["hub"]["services"].items()]
    extra_env = values.get("singleuser", {}).get("extraEnv")
    if extra_env:
        c.KubeSpawner.environment = dict(extra_env)
    env = {"HELM_RELEASE_NAME": release, "POD_NAMESPACE": namespace}
    for _, snippet in sorted(values["hub"].get("extraConfig", {}).items()):
        with pytest.MonkeyPatch.context() as patch:
            for name, value in env.items():
                patch.setenv(name, value)
            exec(compile(snippet, "extraConfig", "exec"), {"c": c, "print": lambda *a, **k: None})
    return c


def hub_deployment_env(found: dict[tuple[str, str], dict]) -> dict[str, dict]:
    containers = found[("Deployment", "hub")]["spec"]["template"]["spec"]["containers"]
    [container] = [c for c in containers if c["name"] == "hub"]
    return {e["name"]: e for e in container["env"]}


def gateway_address(found: dict[tuple[str, str], dict], release: str, namespace: str) -> tuple[str, str]:
    """(the dask-gateway service url's host, the singleuser DASK_GATEWAY__PROXY_ADDRESS host) as the hub sets them."""
    c = hub_config(hub_values(found), release, namespace)
    [service] = [s for s in c.JupyterHub.services if s["name"] == "dask-gateway"]
    proxy_address = c.KubeSpawner.environment["DASK_GATEWAY__PROXY_ADDRESS"]
    return urlsplit(service["url"]).netloc, urlsplit(proxy_address).netloc


def traefik_service_name(found: dict[tuple[str, str], dict]) -> str:
    [name] = [name for kind, name in found if kind == "Service" and name.startswith("traefik-")]
    return name


# --- rendering -------------------------------------------------------------------------------------------------------


def test_two_releases_render_distinct_cluster_scoped_names(
    helm_binary: HelmBinary, charts: Path, values_file: Path
) -> None:
    rendered = {
        release: by_kind_and_name(render(helm_binary, charts / "daskhub", release, release, "-f", str(values_file)))
        for release in ("alpha", "beta")
    }
    cluster_scoped = {
        release: {key for key in found if key[0] in CLUSTER_SCOPED} for release, found in rendered.items()
    }
    for release, keys in cluster_scoped.items():
        for prefix in GATEWAY_CLUSTER_ROLES:
            assert ("ClusterRole", f"{prefix}-{release}-dask-gateway") in keys, (release, sorted(keys))
            assert ("ClusterRoleBinding", f"{prefix}-{release}-dask-gateway") in keys, (release, sorted(keys))
    assert not cluster_scoped["alpha"] & cluster_scoped["beta"]

    for release, found in rendered.items():
        # each hub points at its own release's Traefik Service, in its own namespace, on the Service's port
        traefik = found[("Service", f"traefik-{release}-dask-gateway")]
        assert [p["port"] for p in traefik["spec"]["ports"] if p["name"] == "web"] == [80]
        assert gateway_address(found, release, release) == (f"traefik-{release}-dask-gateway.{release}:80",) * 2
        # ...and the hub Deployment gives the extraConfig what it reads
        env = hub_deployment_env(found)
        assert env["HELM_RELEASE_NAME"]["value"] == release
        assert env["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
        # the rest of the singleuser wiring is release-independent
        extra_env = hub_values(found)["singleuser"]["extraEnv"]
        assert extra_env["DASK_GATEWAY__ADDRESS"] == "http://proxy-public/services/dask-gateway"
        assert extra_env["DASK_GATEWAY__PUBLIC_ADDRESS"] == "/services/dask-gateway/"
        assert extra_env["DASK_GATEWAY__AUTH__TYPE"] == "jupyterhub"
        # Traefik and the controller select this release's objects only
        traefik_args = found[("Deployment", f"traefik-{release}-dask-gateway")]["spec"]["template"]["spec"][
            "containers"
        ][0]["args"]
        selector = f"--providers.kubernetescrd.labelselector=gateway.dask.org/instance={release}-dask-gateway"
        assert selector in traefik_args


def test_the_gateway_finds_its_own_hub(helm_binary: HelmBinary, charts: Path) -> None:
    found = by_kind_and_name(
        render(helm_binary, charts / "daskhub", "alpha", "alpha", "--set", "basehub.identity.cluster=t")
    )
    # the token: the Secret `hub` of the same namespace, where the JupyterHub chart generates it
    assert SERVICE_TOKEN_KEY in found[("Secret", "hub")]["data"]
    [api] = found[("Deployment", "api-alpha-dask-gateway")]["spec"]["template"]["spec"]["containers"]
    token = {e["name"]: e for e in api["env"]}["JUPYTERHUB_API_TOKEN"]["valueFrom"]["secretKeyRef"]
    assert token == {"name": "hub", "key": SERVICE_TOKEN_KEY}
    # the hub API: apiUrl unset, so dask-gateway uses HUB_SERVICE_HOST/PORT, i.e. the Service `hub` of its namespace
    assert ("Service", "hub") in found
    assert ("Secret", "api-alpha-dask-gateway") not in found  # no apiToken of our own
    gateway_config = found[("ConfigMap", "api-alpha-dask-gateway")]["data"]["dask_gateway_config.py"]
    [literal] = re.findall(r"^_PROPERTIES = json\.loads\((\".*\")\)$", gateway_config, re.MULTILINE)
    properties = json.loads(ast.literal_eval(literal))
    assert properties["gateway"]["auth"]["jupyterhub"].get("apiUrl") is None  # helm 3 drops nulls, helm 4 keeps them
    assert "HUB_SERVICE_HOST" in gateway_config


@pytest.mark.parametrize(
    "release",
    [
        "hub-with-dask-gateway",  # the chart's fullname is then the release name alone
        "a" * 53,  # helm's longest release name: the chart truncates its names to 63 characters
        "x" * 40 + "-dask",  # truncation right after a "-", which the chart trims
    ],
)
def test_extra_config_follows_the_chart_naming_helpers(helm_binary: HelmBinary, charts: Path, release: str) -> None:
    found = by_kind_and_name(
        render(helm_binary, charts / "daskhub", release, "ns", "--set", "basehub.identity.cluster=t")
    )
    traefik = traefik_service_name(found)
    assert gateway_address(found, release, "ns") == (f"{traefik}.ns:80",) * 2


def test_explicit_hub_values_win(helm_binary: HelmBinary, charts: Path) -> None:
    found = by_kind_and_name(render(
        helm_binary, charts / "daskhub", "alpha", "alpha",
        "--set", "basehub.jupyterhub.hub.services.dask-gateway.url=http://elsewhere",
        "--set", "basehub.jupyterhub.singleuser.extraEnv.DASK_GATEWAY__PROXY_ADDRESS=gateway://elsewhere:8786",
    ))  # fmt: skip
    assert gateway_address(found, "alpha", "alpha") == ("elsewhere", "elsewhere:8786")


@pytest.mark.parametrize("key", ["fullnameOverride", "nameOverride"])
def test_fixed_gateway_names_are_refused(helm_binary: HelmBinary, charts: Path, key: str) -> None:
    argv = [str(helm_binary.path), "template", "alpha", str(charts / "daskhub"), "--set", f"dask-gateway.{key}=gw"]
    done = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert done.returncode != 0
    assert key in done.stderr


# --- installing two releases on one cluster ---------------------------------------------------------------------------


@pytest.mark.e2e
def test_two_daskhubs_install_side_by_side(
    kube_cluster: KubeCluster, helm_binary: HelmBinary, charts: Path, values_file: Path, tmp_path: Path
) -> None:
    env = helm_binary.env(tmp_path)  # this helm, with its own folders in tmp_path

    def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return kube_cluster.helm(*args, env=env, check=check, timeout=300)

    releases = [(f"dh{n}-{helm_binary.major}", kube_cluster.unique_namespace(f"dh{n}")) for n in (1, 2)]
    try:
        for name, namespace in releases:
            helm(
                "upgrade",
                "--install",
                name,
                str(charts / "daskhub"),
                "--namespace",
                namespace,
                "--create-namespace",
                "-f",
                str(values_file),
                "--wait",
                "--timeout",
                "3m",
            )
        for name, namespace in releases:
            status = json.loads(helm("status", name, "--namespace", namespace, "-o", "json").stdout)
            assert (status["info"]["status"], status["version"]) == ("deployed", 1)
            for prefix in GATEWAY_CLUSTER_ROLES:
                role = kube_cluster.get_object("clusterroles", f"{prefix}-{name}-dask-gateway")
                assert role is not None, prefix
                assert role["metadata"]["annotations"]["meta.helm.sh/release-name"] == name
                assert role["metadata"]["annotations"]["meta.helm.sh/release-namespace"] == namespace
            assert kube_cluster.get_object("services", f"traefik-{name}-dask-gateway", namespace) is not None
            for deployment in (f"api-{name}-dask-gateway", "hub"):
                found = kube_cluster.get_object("deployments", deployment, namespace)
                assert found is not None and found["status"]["readyReplicas"] == 1, deployment
    finally:
        for name, namespace in releases:
            if helm("status", name, "--namespace", namespace, check=False).returncode == 0:
                helm("uninstall", name, "--namespace", namespace, "--wait", check=False)

    for name, namespace in releases:
        assert helm("status", name, "--namespace", namespace, check=False).returncode != 0
        for prefix in GATEWAY_CLUSTER_ROLES:
            assert kube_cluster.get_object("clusterroles", f"{prefix}-{name}-dask-gateway") is None
            assert kube_cluster.get_object("clusterrolebindings", f"{prefix}-{name}-dask-gateway") is None
