"""The offline stand-in dependency charts and deployer.testing.offline_charts, with the real helm."""

from __future__ import annotations

import base64
import fnmatch
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from deployer.charts import dependencies_built, lock_digest, read_chart, read_lock
from deployer.testing.offline_charts import (
    STANDINS_DIR,
    ChartCache,
    OfflineChartsError,
    copy_charts,
    ensure_offline_dependencies,
    package_standins,
    standin_charts,
)

ROOT = Path(__file__).resolve().parents[2]
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
    """A copy of helm-charts/ with every chart's dependencies built offline from the stand-ins."""
    return chart_cache.copy_charts(CHARTS, tmp_path_factory.mktemp("built") / "helm-charts")


# --- the stand-ins themselves ---------------------------------------------------------------------------------


def test_every_pinned_dependency_has_a_labelled_standin() -> None:
    standins = standin_charts()
    pinned = {
        (dep.name, dep.version)
        for lock_path in CHARTS.glob("*/Chart.lock")
        for dep in read_lock(lock_path.parent).dependencies
        if not dep.is_local
    }
    assert pinned == {
        ("jupyterhub", "4.2.0"),
        ("dask-gateway", "2024.1.0"),
        ("ingress-nginx", "4.13.0"),
        ("cert-manager", "v1.16.1"),
        ("prometheus", "27.23.0"),
    }
    assert pinned <= set(standins)
    for folder in standins.values():
        chart_yaml = YAML(typ="safe", pure=True).load((folder / "Chart.yaml").read_text())
        assert "STAND-IN for offline tests, not the real chart" in chart_yaml["description"]
        assert "STAND-IN for offline tests, not the real chart" in (folder / "README.md").read_text()
        assert not (folder / "values.schema.json").exists()  # accepts the real chart's values


def test_standins_lint(chart_cache: ChartCache) -> None:
    for folder in standin_charts().values():
        result = subprocess.run([chart_cache.helm, "lint", str(folder)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_package_data_ships_every_standin_file() -> None:
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        tomllib = pytest.importorskip("tomli")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["deployer"]
    files = [p.relative_to(ROOT / "deployer").as_posix() for p in STANDINS_DIR.rglob("*") if p.is_file()]
    assert files

    def shipped(file: str) -> bool:  # setuptools globs: `*` does not cross `/`
        return any(fnmatch.fnmatchcase(file, pat) and file.count("/") == pat.count("/") for pat in patterns)

    assert [f for f in files if not shipped(f)] == []


def test_package_standins_is_idempotent(chart_cache: ChartCache) -> None:
    archives = sorted(chart_cache.folder.glob("*.tgz"))
    assert [a.name for a in archives] == sorted(f"{n}-{v}.tgz" for n, v in standin_charts())
    before = {a.name: a.stat().st_mtime_ns for a in archives}
    package_standins(chart_cache.folder, helm=chart_cache.helm)
    assert {a.name: a.stat().st_mtime_ns for a in chart_cache.folder.glob("*.tgz")} == before


def test_jupyterhub_standin_accepts_arbitrary_values_and_keeps_given_tokens(chart_cache: ChartCache) -> None:
    docs = render(
        chart_cache.helm,
        "hub",
        STANDINS_DIR / "jupyterhub",
        "--set", "hub.services.given.apiToken=abc",
        "--set", "hub.services.generated.admin=true",
        "--set", "singleuser.image.name=whatever",
        "--set", "someKeyTheRealChartHas.x=1",
    )  # fmt: skip
    data = objects(docs)[("Secret", "hub")]["data"]
    assert base64.b64decode(data["hub.services.given.apiToken"]) == b"abc"
    assert len(base64.b64decode(data["hub.services.generated.apiToken"])) == 64


# --- ensure_offline_dependencies ------------------------------------------------------------------------------


def test_copy_leaves_committed_charts_untouched(built_charts: Path) -> None:
    for name in ("basehub", "daskhub", "support"):
        for file in ("Chart.yaml", "Chart.lock", "values.yaml", "values.schema.json"):
            assert (built_charts / name / file).read_bytes() == (CHARTS / name / file).read_bytes()
        assert dependencies_built(built_charts / name)
        assert not list((built_charts / name).glob("tmpcharts*"))


def test_built_dependencies_are_the_standins(built_charts: Path) -> None:
    assert sorted(p.name for p in (built_charts / "basehub" / "charts").iterdir()) == ["jupyterhub-4.2.0.tgz"]
    assert sorted(p.name for p in (built_charts / "daskhub" / "charts").iterdir()) == [
        "basehub-0.1.0.tgz",
        "dask-gateway-2024.1.0.tgz",
    ]
    assert sorted(p.name for p in (built_charts / "support" / "charts").iterdir()) == [
        "cert-manager-v1.16.1.tgz",
        "ingress-nginx-4.13.0.tgz",
        "prometheus-27.23.0.tgz",
    ]


def test_ensure_skips_charts_already_built(chart_cache: ChartCache, built_charts: Path) -> None:
    assert chart_cache.ensure(built_charts / "daskhub") == []
    assert chart_cache.ensure(built_charts / "support") == []


def test_ensure_force_rebuilds(chart_cache: ChartCache, tmp_path: Path) -> None:
    charts = chart_cache.copy_charts(CHARTS, tmp_path / "helm-charts")
    rebuilt = chart_cache.ensure(charts / "basehub", force=True)
    assert rebuilt == [(charts / "basehub").resolve()]


def test_ensure_rebuilds_daskhub_when_basehub_changes(chart_cache: ChartCache, tmp_path: Path) -> None:
    charts = chart_cache.copy_charts(CHARTS, tmp_path / "helm-charts")
    values = charts / "basehub" / "values.yaml"
    values.write_text(values.read_text() + "\n# edited\n")
    assert not dependencies_built(charts / "daskhub")
    assert chart_cache.ensure(charts / "daskhub") == [(charts / "daskhub").resolve()]
    assert dependencies_built(charts / "daskhub")


def test_ensure_refuses_an_out_of_sync_lock(chart_cache: ChartCache, tmp_path: Path) -> None:
    charts = copy_charts(CHARTS, tmp_path / "helm-charts")
    chart_yaml = charts / "basehub" / "Chart.yaml"
    chart_yaml.write_text(chart_yaml.read_text().replace("version: 4.2.0", "version: 4.1.0"))
    with pytest.raises(OfflineChartsError, match="out of sync"):
        ensure_offline_dependencies(charts / "basehub", chart_cache.folder, helm=chart_cache.helm)
    assert not (charts / "basehub" / "charts").exists()


def test_ensure_names_a_pin_without_standin(chart_cache: ChartCache, tmp_path: Path) -> None:
    chart = tmp_path / "odd"
    chart.mkdir()
    (chart / "Chart.yaml").write_text(
        "apiVersion: v2\nname: odd\nversion: 0.1.0\n"
        "dependencies:\n  - name: jupyterhub\n    version: 9.9.9\n    repository: https://hub.jupyter.org/helm-chart/\n"
    )
    deps = read_chart(chart).dependencies
    (chart / "Chart.lock").write_text(
        "dependencies:\n- name: jupyterhub\n  repository: https://hub.jupyter.org/helm-chart/\n  version: 9.9.9\n"
        f"digest: {lock_digest(deps, deps)}\n"
    )
    with pytest.raises(OfflineChartsError, match=r"jupyterhub 9\.9\.9"):
        chart_cache.ensure(chart)


def test_ensure_in_place_writes_only_gitignored_charts_folder(chart_cache: ChartCache, tmp_path: Path) -> None:
    """In place (as the deploy step will call it), only <chart>/charts/ appears; committed files stay."""
    charts = copy_charts(CHARTS, tmp_path / "helm-charts")
    before = {p: p.read_bytes() for p in charts.rglob("*") if p.is_file()}
    ensure_offline_dependencies(charts / "daskhub", tmp_path / "cache", helm=chart_cache.helm)
    after = {p for p in charts.rglob("*") if p.is_file()}
    new = sorted(p.relative_to(charts).as_posix() for p in after - set(before))
    assert new == [
        "basehub/charts/jupyterhub-4.2.0.tgz",
        "daskhub/charts/basehub-0.1.0.tgz",
        "daskhub/charts/dask-gateway-2024.1.0.tgz",
    ]
    assert all(p.read_bytes() == content for p, content in before.items())
    gitignore = (ROOT / ".gitignore").read_text().split()
    assert "helm-charts/*/charts/" in gitignore


# --- rendering our charts offline -----------------------------------------------------------------------------


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
    assert found[("ConfigMap", "hub")]["data"]["services"] == "deployer-health-check"
    assert found[("ConfigMap", "hub")]["data"]["roles"] == "deployer-health-check"
    # the values (which may hold secrets from encrypted values files) go to the Secret, never the ConfigMap
    assert "values.yaml" in found[("Secret", "hub")]["data"]
    assert "values.yaml" not in found[("ConfigMap", "hub")]["data"]


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
        ("Deployment", "api-dask-gateway"),
        ("Deployment", "controller-dask-gateway"),
        ("Deployment", "traefik-dask-gateway"),
        ("Service", "traefik-dask-gateway"),
    ]:
        assert key in found, key
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


def test_copy_charts_excludes_built_dependencies(built_charts: Path, tmp_path: Path) -> None:
    again = copy_charts(built_charts, tmp_path / "again")
    assert not (again / "basehub" / "charts").exists()
    assert (again / "basehub" / "Chart.lock").is_file()
    shutil.rmtree(again)


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


@pytest.mark.e2e
def test_support_installs_with_cluster_issuer(chart_cache: ChartCache, built_charts: Path, request) -> None:
    """The cert-manager stand-in's CRD (crds/) lets the support chart's ClusterIssuer install in the same release."""
    cluster = request.getfixturevalue("kube_cluster_session")
    namespace = cluster.unique_namespace("support")
    cluster.helm(
        "upgrade", "--install", namespace, str(built_charts / "support"), "--namespace", namespace,
        "--create-namespace", "--set", "clusterIssuer.enabled=true", "--set", "clusterIssuer.name=" + namespace,
        "--set", "clusterIssuer.email=ops@example.org",
    )  # fmt: skip
    issuer = cluster.get_object("clusterissuers", namespace)
    assert issuer["spec"]["acme"]["email"] == "ops@example.org"
    assert cluster.get_object("deployments", f"{namespace}-ingress-nginx-controller", namespace) is not None
    cluster.helm("uninstall", namespace, "--namespace", namespace)
