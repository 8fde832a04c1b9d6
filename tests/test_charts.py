"""The committed charts (helm-charts/*) and deployer.charts, checked against the real helm binary."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

from deployer.charts import (
    ChartDependency,
    build_order,
    dependencies_built,
    lock_digest,
    lock_in_sync,
    read_chart,
    read_lock,
)
from deployer.tools import find_tool

ROOT = Path(__file__).resolve().parents[1]
CHARTS = ROOT / "helm-charts"
CHART_NAMES = ["basehub", "daskhub", "support"]

PINS = {
    "basehub": [("jupyterhub", "4.2.0", "https://hub.jupyter.org/helm-chart/")],
    "daskhub": [("basehub", "0.1.0", "file://../basehub"), ("dask-gateway", "2024.1.0", "https://helm.dask.org/")],
    "support": [
        ("ingress-nginx", "4.13.0", "https://kubernetes.github.io/ingress-nginx"),
        ("cert-manager", "v1.16.1", "https://charts.jetstack.io"),
        ("prometheus", "27.23.0", "https://prometheus-community.github.io/helm-charts"),
    ],
}


@pytest.fixture(scope="module")
def helm() -> str:
    return find_tool("helm")


def run_helm(helm: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([helm, *args], capture_output=True, text=True, cwd=cwd, check=False)


def load_yaml(path: Path):
    return YAML(typ="safe", pure=True).load(path.read_text())


# --- the committed charts -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CHART_NAMES)
def test_chart_metadata_and_pins(name: str) -> None:
    info = read_chart(CHARTS / name)
    assert (info.name, info.version) == (name, "0.1.0")
    assert [(d.name, d.version, d.repository) for d in info.dependencies] == PINS[name]
    lock = read_lock(CHARTS / name)
    assert lock is not None
    assert [(d.name, d.version, d.repository) for d in lock.dependencies] == PINS[name]
    assert load_yaml(CHARTS / name / "Chart.yaml")["apiVersion"] == "v2"
    assert (CHARTS / name / "README.md").is_file()


@pytest.mark.parametrize("name", CHART_NAMES)
def test_committed_locks_are_in_sync(name: str) -> None:
    assert lock_in_sync(CHARTS / name)


@pytest.mark.parametrize("name", CHART_NAMES)
def test_helm_lint_without_dependencies(helm: str, name: str) -> None:
    result = run_helm(helm, "lint", str(CHARTS / name))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout
    assert "[ERROR]" not in result.stdout


@pytest.mark.parametrize("name", CHART_NAMES)
def test_values_yaml_satisfies_own_schema(name: str) -> None:
    schema = json.loads((CHARTS / name / "values.schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.Draft7Validator(schema).validate(load_yaml(CHARTS / name / "values.yaml"))


@pytest.mark.parametrize("name", CHART_NAMES)
def test_schema_rejects_unknown_top_level_key_and_allows_dependency_subtrees(name: str) -> None:
    validator = jsonschema.Draft7Validator(json.loads((CHARTS / name / "values.schema.json").read_text()))
    assert not validator.is_valid({"unknownKey": 1})
    allowed: dict[str, Any] = {"global": {"anything": True}}
    for dep_name, _, _ in PINS[name]:
        allowed[dep_name] = {"any": {"nested": ["thing"]}}
    assert validator.is_valid(allowed)


def test_basehub_schema_types_own_keys() -> None:
    validator = jsonschema.Draft7Validator(json.loads((CHARTS / "basehub" / "values.schema.json").read_text()))
    assert validator.is_valid({"identity": {"cluster": "demo-gcp", "displayName": "Staging hub"}})
    assert not validator.is_valid({"identity": {"cluster": 3}})
    assert not validator.is_valid({"identity": {"cluster": "Not_A_DNS_Label"}})
    assert not validator.is_valid({"identity": {"hub": "x"}})  # the hub's name is the release name
    assert not validator.is_valid({"networkPolicy": {"enabled": "yes"}})
    assert validator.is_valid({"networkPolicy": {"enabled": False, "allowFromNamespaces": ["support"]}})


def test_support_schema_requires_email_only_when_issuer_enabled() -> None:
    validator = jsonschema.Draft7Validator(json.loads((CHARTS / "support" / "values.schema.json").read_text()))
    assert validator.is_valid({"clusterIssuer": {"enabled": False, "email": ""}})
    assert not validator.is_valid({"clusterIssuer": {"enabled": True, "email": ""}})
    assert validator.is_valid({"clusterIssuer": {"enabled": True, "email": "ops@example.org"}})
    assert not validator.is_valid({"prometheus": {"enabled": "no"}})


def test_basehub_registers_health_check_service_and_role() -> None:
    values = load_yaml(CHARTS / "basehub" / "values.yaml")
    hub = values["jupyterhub"]["hub"]
    service = hub["services"]["deployer-health-check"]
    assert "apiToken" not in service  # the JupyterHub chart generates it into the Secret `hub`
    role = hub["loadRoles"]["deployer-health-check"]
    assert role["services"] == ["deployer-health-check"]
    assert set(role["scopes"]) == {"admin:users", "admin:servers", "read:hub", "access:servers"}


# --- deployer.charts ------------------------------------------------------------------------------------------


def test_lock_digest_matches_a_digest_helm_wrote() -> None:
    # Written by helm v4.1.4 `helm dependency update` for this single dependency.
    dep = {"name": "foo", "version": "1.2.3", "repository": "https://example.invalid/charts/"}
    assert lock_digest([dep], [dep]) == "sha256:937769833aad156b99e770992ee0a05dd03da1cba5712d46c9e8399f70d7e0ea"


def test_lock_digest_go_encoding_details() -> None:
    requested = [
        ChartDependency(
            name="a",
            version=">=1.0.0 <2",
            repository="https://x.invalid/",
            condition="a.enabled",
            tags=("t",),
            import_values=({"parent": "p", "child": "c"}, "data"),
            alias="b",
        )
    ]
    locked = [ChartDependency(name="a", version="1.5.0", repository="https://x.invalid/", alias="ignored")]
    expected_json = (
        '[[{"name":"a","version":"\\u003e=1.0.0 \\u003c2","repository":"https://x.invalid/","condition":"a.enabled",'
        '"tags":["t"],"import-values":[{"child":"c","parent":"p"},"data"],"alias":"b"}],'
        '[{"name":"a","version":"1.5.0","repository":"https://x.invalid/"}]]'
    )
    assert lock_digest(requested, locked) == "sha256:" + hashlib.sha256(expected_json.encode()).hexdigest()


def test_lock_in_sync_detects_an_edited_chart_yaml(tmp_path: Path) -> None:
    chart = tmp_path / "basehub"
    shutil.copytree(CHARTS / "basehub", chart, ignore=shutil.ignore_patterns("charts", "tmpcharts*"))
    assert lock_in_sync(chart)
    text = (chart / "Chart.yaml").read_text().replace("version: 4.2.0", "version: 4.1.0")
    (chart / "Chart.yaml").write_text(text)
    assert not lock_in_sync(chart)
    (chart / "Chart.lock").unlink()
    assert not lock_in_sync(chart)


def test_lock_in_sync_without_dependencies(tmp_path: Path) -> None:
    (tmp_path / "Chart.yaml").write_text("apiVersion: v2\nname: plain\nversion: 1.0.0\n")
    assert lock_in_sync(tmp_path)
    assert dependencies_built(tmp_path)


def test_build_order_puts_file_dependencies_first() -> None:
    assert build_order(CHARTS / "daskhub") == [(CHARTS / "basehub").resolve(), (CHARTS / "daskhub").resolve()]
    assert build_order(CHARTS / "support") == [(CHARTS / "support").resolve()]


# --- against helm's own behaviour -----------------------------------------------------------------------------

TRICKY_CHART = """\
apiVersion: v2
name: tricky
version: 0.0.1
dependencies:
  - name: jupyterhub
    version: ">=4.0.0 <5"
    repository: https://example.invalid/jupyterhub-charts/
    alias: first
    condition: first.enabled,global.hubs
    tags: [hubs, "a&b"]
    import-values:
      - child: hub
        parent: importedHub
      - data
  - name: dask-gateway
    version: "~2024.1"
    repository: https://example.invalid/dask/
    enabled: true
  - name: prometheus
    version: 27.23.0
    repository: https://example.invalid/prometheus/
"""


def test_lock_digest_equals_helms_for_a_tricky_chart(helm: str, chart_cache, tmp_path: Path) -> None:
    """helm writes Chart.lock itself (dependency update, against the chart mirror served locally); we agree."""
    if chart_cache.mirror is None:
        pytest.skip("needs a chart mirror (DEPLOYER_CHART_MIRROR): the chart's repositories are made up")
    chart = tmp_path / "tricky"
    chart.mkdir()
    (chart / "Chart.yaml").write_text(TRICKY_CHART)
    urls = [d.repository for d in read_chart(chart).dependencies]
    with chart_cache.serving_everything(urls) as helm_env:
        result = subprocess.run(
            [helm, "dependency", "update", str(chart), "--skip-refresh"],
            capture_output=True,
            text=True,
            env={**os.environ, **helm_env},
            check=False,
        )
    assert result.returncode == 0, result.stderr
    lock = read_lock(chart)
    assert lock is not None
    assert [(d.name, d.version) for d in lock.dependencies] == [
        ("jupyterhub", "4.2.0"),
        ("dask-gateway", "2024.1.0"),
        ("prometheus", "27.23.0"),
    ]
    assert lock.digest == lock_digest(read_chart(chart).dependencies, lock.dependencies)
    assert lock_in_sync(chart)


@pytest.mark.parametrize("name", CHART_NAMES)
def test_helm_accepts_committed_lock_and_rejects_a_tampered_one(
    helm: str, chart_cache, tmp_path: Path, name: str
) -> None:
    """`helm dependency build` passes the lock check with the committed Chart.lock and fails it once edited."""
    charts = tmp_path / "helm-charts"
    for chart in CHART_NAMES:
        shutil.copytree(CHARTS / chart, charts / chart, ignore=shutil.ignore_patterns("charts", "tmpcharts*"))
    env = dict(os.environ)

    def build(chart: str) -> subprocess.CompletedProcess[str]:
        argv = [helm, "dependency", "build", str(charts / chart), "--skip-refresh"]
        return subprocess.run(argv, env=env, capture_output=True, text=True, check=False)

    with chart_cache.serving(charts) as helm_env:
        env.update(helm_env)
        if name == "daskhub":  # its file:// dependency is packaged with whatever basehub/charts holds
            assert build("basehub").returncode == 0
        ok = build(name)
        assert ok.returncode == 0, ok.stderr
        assert "out of sync" not in ok.stderr
        assert dependencies_built(charts / name)
        lock_file = charts / name / "Chart.lock"
        lock_file.write_text(lock_file.read_text().replace("digest: sha256:", "digest: sha256:0"))
        assert not lock_in_sync(charts / name)
        bad = build(name)
    assert bad.returncode != 0
    assert "out of sync" in bad.stderr
