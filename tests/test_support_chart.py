"""The support chart on a FRESH cluster, with plain helm (3 and 4) and the example ``local`` cluster's values.

What a user with only helm does (no deployer): ONE ``helm upgrade --install --wait`` with the ClusterIssuer enabled,
on a cluster that has never seen cert-manager's CRDs, must end ``deployed`` with the ClusterIssuer created (it is a
post-install/post-upgrade hook, see helm-charts/support/README.md); an upgrade with a changed issuer email must
reach the object; ``helm uninstall`` must work, leave the ClusterIssuer only together with the CRDs that
``cert-manager.crds.keep`` keeps, and a later install must adopt both again.

The real pinned dependency charts are built into a copy by the ``chart_cache`` fixture (from the chart mirror when
the tests have one). Nothing is written into the repository.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from helm_majors import helm_binary  # noqa: F401 - a fixture
from helpers import PROJECT

SUPPORT = PROJECT / "helm-charts" / "support"
LOCAL_VALUES = PROJECT / "config" / "clusters" / "local" / "support.values.yaml"
RELEASE = NAMESPACE = "support"
ISSUER_CRD = "clusterissuers.cert-manager.io"


def _support_chart(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """A copy of helm-charts/support with its real dependency archives in charts/ (the ``chart_cache`` fixture)."""
    dest = tmp_path / "helm-charts" / "support"
    shutil.copytree(SUPPORT, dest, ignore=shutil.ignore_patterns("charts", "tmpcharts*", "__pycache__"))
    request.getfixturevalue("chart_cache").ensure(dest)
    return dest


def kinds(manifest: str) -> list[str]:
    return [doc["kind"] for doc in yaml.safe_load_all(manifest) if doc]


EXAMPLE_VALUES = sorted((PROJECT / "config" / "clusters").glob("*/support.values.yaml"))


def test_every_example_cluster_renders_the_issuer_as_a_late_hook(tmp_path, request, helm_binary):
    """`helm template` with each example cluster's support values: it renders, and the ClusterIssuer is a
    post-install/post-upgrade hook weighted after every cert-manager post-install hook (its startupapicheck)."""
    helm_bin = str(helm_binary)
    chart = _support_chart(tmp_path, request)
    assert {p.parent.name for p in EXAMPLE_VALUES} >= {"local", "demo-aws", "demo-gcp"}
    for values in EXAMPLE_VALUES:
        done = subprocess.run(
            [helm_bin, "template", RELEASE, str(chart), "--namespace", NAMESPACE, "--values", str(values)],
            capture_output=True,
            text=True,
            timeout=120,
            env={
                **os.environ,
                "HELM_CACHE_HOME": str(tmp_path / "cache"),
                "HELM_CONFIG_HOME": str(tmp_path / "config"),
            },
        )
        assert done.returncode == 0, f"{values}: {done.stderr}"
        docs = [doc for doc in yaml.safe_load_all(done.stdout) if doc]
        hooks = [
            (doc, doc["metadata"].get("annotations") or {})
            for doc in docs
            if "helm.sh/hook" in (doc["metadata"].get("annotations") or {})
        ]
        [notes] = [notes for doc, notes in hooks if doc["kind"] == "ClusterIssuer"]
        assert set(notes["helm.sh/hook"].split(",")) == {"post-install", "post-upgrade"}, values
        assert notes["helm.sh/hook-delete-policy"] == "before-hook-creation", values
        cert_manager = [
            int(n.get("helm.sh/hook-weight", "0"))
            for doc, n in hooks
            if "post-install" in n["helm.sh/hook"].split(",")
            and doc["metadata"]["name"].startswith(f"{RELEASE}-cert-manager")
        ]
        assert cert_manager and int(notes["helm.sh/hook-weight"]) > max(cert_manager), values
        assert [doc["kind"] for doc in docs].count("ClusterIssuer") == 1, values


@pytest.mark.e2e
def test_support_chart_one_install_with_cluster_issuer(kube_cluster, tmp_path, request, helm_binary):
    if not kube_cluster.is_stand_in:
        pytest.skip("needs a FRESH cluster (one that has never seen cert-manager's CRDs): the local stand-in")
    chart = _support_chart(tmp_path, request)
    local_values = yaml.safe_load(LOCAL_VALUES.read_text())
    assert local_values["clusterIssuer"]["enabled"] is True  # the example uses the production features
    issuer = local_values["clusterIssuer"].get("name", "letsencrypt")
    values = tmp_path / "support.values.yaml"
    shutil.copyfile(LOCAL_VALUES, values)

    env = helm_binary.env(tmp_path)  # this helm, with its own folders in tmp_path

    def helm(*args: str, check: bool = True, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        return kube_cluster.helm(*args, env=env, check=check, timeout=timeout)

    def deploy(*extra_values: Path) -> None:
        helm(
            "upgrade",
            "--install",
            RELEASE,
            str(chart),
            "--namespace",
            NAMESPACE,
            "--create-namespace",
            "--values",
            str(values),
            *[a for v in extra_values for a in ("--values", str(v))],
            "--wait",
            "--timeout",
            "3m",
        )

    def status() -> dict:
        return json.loads(helm("status", RELEASE, "--namespace", NAMESPACE, "--output", "json").stdout)

    def issuers() -> dict[str, dict]:
        listed = kube_cluster.kubectl("get", "clusterissuers", "--output", "json").stdout
        return {item["metadata"]["name"]: item for item in json.loads(listed)["items"]}

    assert kube_cluster.get_object("customresourcedefinitions", ISSUER_CRD) is None  # a fresh cluster

    # 1. ONE install on the fresh cluster
    deploy()
    first = status()
    assert first["info"]["status"] == "deployed" and first["version"] == 1
    assert issuers()[issuer]["spec"]["acme"]["email"] == local_values["clusterIssuer"]["email"]
    # a hook, so not among the release's resources (which helm maps before creating any of them)
    assert "ClusterIssuer" not in kinds(helm("get", "manifest", RELEASE, "--namespace", NAMESPACE).stdout)
    assert "ClusterIssuer" in kinds(helm("get", "hooks", RELEASE, "--namespace", NAMESPACE).stdout)

    # 2. an upgrade with a changed issuer reaches the object (before-hook-creation replaces it)
    changed = tmp_path / "changed.values.yaml"
    changed.write_text("clusterIssuer:\n  email: platform@local.example.org\n")
    deploy(changed)
    second = status()
    assert second["info"]["status"] == "deployed" and second["version"] == 2
    assert issuers()[issuer]["spec"]["acme"]["email"] == "platform@local.example.org"

    # 3. uninstall: the release goes; cert-manager keeps its CRDs (crds.keep, default true) and with them the
    #    hook-made ClusterIssuer, exactly as README.md says
    helm("uninstall", RELEASE, "--namespace", NAMESPACE)
    gone = helm("status", RELEASE, "--namespace", NAMESPACE, check=False)
    assert gone.returncode != 0 and "not found" in gone.stderr
    assert kube_cluster.get_object("customresourcedefinitions", ISSUER_CRD) is not None
    assert issuer in issuers()

    # 4. ...and a later install adopts the kept CRDs and replaces the left-over issuer
    deploy()
    again = status()
    assert again["info"]["status"] == "deployed" and again["version"] == 1
    assert issuers()[issuer]["spec"]["acme"]["email"] == local_values["clusterIssuer"]["email"]
