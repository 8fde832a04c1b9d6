"""Our charts rendered and installed with the REAL pinned dependency charts (jupyterhub, dask-gateway, cert-manager,
ingress-nginx, prometheus), built from the chart mirror when the tests have one: what the deploy, the health check
and the export rely on."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from deployer.testing.chart_cache import ChartCache

ROOT = Path(__file__).resolve().parents[1]
CHARTS = ROOT / "helm-charts"
HEALTH_CHECK_KEY = "hub.services.deployer-health-check.apiToken"


def render(helm: str, release: str, chart: Path, *args: str) -> list[dict]:
    argv = [helm, "template", release, str(chart), "--namespace", release, *args]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return [doc for doc in YAML(typ="safe", pure=True).load_all(result.stdout) if doc]


def objects(docs: list[dict]) -> dict[tuple[str, str], dict]:
    return {(doc["kind"], doc["metadata"]["name"]): doc for doc in docs}


@pytest.fixture(scope="module")
def built_charts(chart_cache: ChartCache, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of helm-charts/ with every chart's real dependencies built."""
    return chart_cache.copy_charts(CHARTS, tmp_path_factory.mktemp("built") / "helm-charts")


# --- rendering our charts with the real dependency charts -----------------------------------------------------


def test_basehub_renders_what_deploy_and_health_check_rely_on(chart_cache: ChartCache, built_charts: Path) -> None:
    docs = render(
        chart_cache.helm,
        "staging",
        built_charts / "basehub",
        "--set", "identity.cluster=local",
        "--set", "identity.displayName=Staging hub",
    )  # fmt: skip
    found = objects(docs)
    for key in [
        ("Deployment", "hub"),
        ("Service", "hub"),
        ("Deployment", "proxy"),
        ("Service", "proxy-public"),
        ("Service", "proxy-api"),
        ("Secret", "hub"),
        ("ConfigMap", "hub"),
        ("ConfigMap", "hub-identity"),
        ("NetworkPolicy", "basehub-default"),
    ]:
        assert key in found, key
    token = base64.b64decode(found[("Secret", "hub")]["data"][HEALTH_CHECK_KEY])
    assert len(token) >= 32
    assert found[("ConfigMap", "hub-identity")]["data"] == {
        "cluster": "local",
        "hub": "staging",
        "displayName": "Staging hub",
        "chartVersion": "0.1.0",
    }
    # the JupyterHub chart hands the hub its values through the Secret (they may hold secrets), never a ConfigMap
    hub_values = YAML(typ="safe", pure=True).load(base64.b64decode(found[("Secret", "hub")]["data"]["values.yaml"]))
    assert "values.yaml" not in found[("ConfigMap", "hub")].get("data", {})
    assert "deployer-health-check" in hub_values["hub"]["services"]
    role = hub_values["hub"]["loadRoles"]["deployer-health-check"]
    assert role["services"] == ["deployer-health-check"]
    assert {"admin:users", "admin:servers", "access:servers"} <= set(role["scopes"])


def test_basehub_network_policy_toggle(chart_cache: ChartCache, built_charts: Path) -> None:
    off = objects(render(chart_cache.helm, "h", built_charts / "basehub", "--set", "networkPolicy.enabled=false"))
    assert ("NetworkPolicy", "basehub-default") not in off
    allow = 'networkPolicy.allowFromNamespaces=["support"]'
    on = objects(render(chart_cache.helm, "h", built_charts / "basehub", "--set-json", allow))
    ingress_from = on[("NetworkPolicy", "basehub-default")]["spec"]["ingress"][0]["from"]
    assert ingress_from[0] == {"podSelector": {}}
    assert ingress_from[1]["namespaceSelector"]["matchExpressions"][0]["values"] == ["support"]


def test_daskhub_renders_hub_gateway_and_both_tokens(chart_cache: ChartCache, built_charts: Path) -> None:
    docs = render(chart_cache.helm, "dhub", built_charts / "daskhub", "--set", "basehub.identity.cluster=aws-demo")
    found = objects(docs)
    for key in [
        ("Deployment", "hub"),
        ("Service", "proxy-public"),
        ("ConfigMap", "hub-identity"),
        # dask-gateway's objects are named after the release (its chart's fullname `<release>-dask-gateway`), its
        # cluster-scoped ClusterRoles too, so that several daskhubs share a cluster (tests/test_daskhub_chart.py)
        ("Deployment", "api-dhub-dask-gateway"),
        ("Deployment", "controller-dhub-dask-gateway"),
        ("Deployment", "traefik-dhub-dask-gateway"),
        ("Service", "traefik-dhub-dask-gateway"),
        ("ClusterRole", "controller-dhub-dask-gateway"),
        ("ClusterRoleBinding", "controller-dhub-dask-gateway"),
    ]:
        assert key in found, key
    assert not [name for kind, name in found if "dask-gateway" in name and "dhub" not in name]
    # the hub finds this release's Traefik through its extraConfig (HELM_RELEASE_NAME / POD_NAMESPACE)
    hub_values = YAML(typ="safe", pure=True).load(base64.b64decode(found[("Secret", "hub")]["data"]["values.yaml"]))
    assert "url" not in hub_values["hub"]["services"]["dask-gateway"]
    assert "daskhub-dask-gateway-addresses" in hub_values["hub"]["extraConfig"]
    secret_keys = set(found[("Secret", "hub")]["data"])
    assert {HEALTH_CHECK_KEY, "hub.services.dask-gateway.apiToken"} <= secret_keys
    assert found[("ConfigMap", "hub-identity")]["data"]["cluster"] == "aws-demo"
    assert found[("ConfigMap", "hub-identity")]["data"]["hub"] == "dhub"


def test_support_renders_services_and_issuer_toggle(chart_cache: ChartCache, built_charts: Path) -> None:
    found = objects(render(chart_cache.helm, "support", built_charts / "support"))
    for key in [
        ("Deployment", "support-ingress-nginx-controller"),
        ("Service", "support-ingress-nginx-controller"),
        ("Deployment", "support-cert-manager"),
        ("Deployment", "support-prometheus-server"),
        ("Service", "support-prometheus-server"),
    ]:
        assert key in found, key
    assert not any(kind == "ClusterIssuer" for kind, _ in found)

    with_issuer = render(
        chart_cache.helm,
        "support",
        built_charts / "support",
        "--include-crds",
        "--set", "clusterIssuer.enabled=true",
        "--set", "clusterIssuer.email=ops@example.org",
        "--set", "prometheus.enabled=false",
    )  # fmt: skip
    found = objects(with_issuer)
    issuer = found[("ClusterIssuer", "letsencrypt")]
    assert issuer["spec"]["acme"]["email"] == "ops@example.org"
    assert ("CustomResourceDefinition", "clusterissuers.cert-manager.io") in found
    assert ("Deployment", "support-prometheus-server") not in found


def test_support_issuer_without_email_is_refused_by_helm(chart_cache: ChartCache, built_charts: Path) -> None:
    chart = str(built_charts / "support")
    argv = [chart_cache.helm, "template", "support", chart, "--set", "clusterIssuer.enabled=true"]
    result = subprocess.run(argv, capture_output=True, text=True)
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr
    assert "/clusterIssuer/email" in result.stderr


@pytest.mark.parametrize(
    ("chart", "setting", "where"),
    [
        ("basehub", "unknownKey=1", "basehub:"),
        ("daskhub", "unknownKey=1", "daskhub:"),
        ("daskhub", "basehub.unknownKey=1", "basehub:"),  # the subchart's schema applies to its subtree
        ("support", "unknownKey=1", "support:"),
    ],
)
def test_helm_rejects_unknown_top_level_keys(
    chart_cache: ChartCache, built_charts: Path, chart: str, setting: str, where: str
) -> None:
    argv = [chart_cache.helm, "template", "x", str(built_charts / chart), "--set", setting]
    result = subprocess.run(argv, capture_output=True, text=True)
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema(s) in the following chart(s)" in result.stderr
    assert where in result.stderr
    assert "additional properties 'unknownKey' not allowed" in result.stderr


def test_helm_lint_passes_with_dependencies_present(chart_cache: ChartCache, built_charts: Path) -> None:
    for name in ("basehub", "daskhub", "support"):
        argv = [chart_cache.helm, "lint", "--strict", str(built_charts / name)]
        result = subprocess.run(argv, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


# --- end to end: real helm against a Kubernetes API (the local stand-in, or DEPLOYER_E2E_KUBECONFIG) ---------


@pytest.mark.e2e
@pytest.mark.parametrize("chart", ["basehub", "daskhub"])
def test_health_check_token_survives_upgrades(chart_cache: ChartCache, built_charts: Path, request, chart: str) -> None:
    """Install then upgrade: the generated token is kept (the stand-in's `lookup`), readable from Secret `hub`."""
    cluster = request.getfixturevalue("kube_cluster_session")
    hub = cluster.unique_namespace(chart)
    identity = "basehub.identity" if chart == "daskhub" else "identity"

    def deploy(display_name: str) -> None:
        cluster.helm(
            "upgrade", "--install", hub, str(built_charts / chart), "--namespace", hub, "--create-namespace",
            "--set", f"{identity}.cluster=local", "--set", f"{identity}.displayName={display_name}",
        )  # fmt: skip

    def token() -> bytes:
        secret = cluster.get_object("secrets", "hub", hub)
        return base64.b64decode(secret["data"][HEALTH_CHECK_KEY])

    deploy("First")
    first = token()
    assert len(first) == 64
    deploy("Second")
    assert token() == first
    identity_map = cluster.get_object("configmaps", "hub-identity", hub)["data"]
    assert identity_map == {"cluster": "local", "hub": hub, "displayName": "Second", "chartVersion": "0.1.0"}
    history = cluster.helm("history", hub, "--namespace", hub, "-o", "json").stdout
    assert '"revision":2' in history.replace(" ", "")
    cluster.helm("uninstall", hub, "--namespace", hub)
