"""Fixtures for the deploy tests: throw-away config repositories wired to a Kubernetes API (the local stand-in, or
the real cluster of DEPLOYER_E2E_KUBECONFIG), with the project's real charts (dependencies built once per session
from the offline stand-ins) and real sops secrets.

``deploy_repo(kube)`` copies the example fleet's ``local`` cluster; ``custom_repo(kube, hubs=...)`` writes a cluster
of any shape. Hub names get a unique suffix, so tests sharing one cluster never collide. ``DeployRepo.deployer(...)``
runs the real ``deployer`` console script in a child process with an explicit environment (its own TMPDIR, so
tests can check that no decrypted file is left behind).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from deployer.testing.chart_cache import ChartCache
from deployer.testing.fixtures_kube import KubeCluster
from deployer.tools import find_tool
from helm_majors import HelmBinary, helm_binary  # noqa: F401 - a fixture
from helpers import DEMO_KEY, HUB_COMMON_VALUES, PROJECT, demo_recipient, sops_encrypt, with_default_sigint

DEPLOYER = str(Path(sys.executable).with_name("deployer"))


@pytest.fixture(scope="session")
def built_charts(chart_cache, tmp_path_factory) -> Path:
    """helm-charts/ with every chart's real dependencies built (from the chart mirror, if set), once per session."""
    return chart_cache.copy_charts(PROJECT / "helm-charts", tmp_path_factory.mktemp("deploy-charts") / "helm-charts")


@dataclass
class DeployRepo:
    root: Path
    cluster: str
    kube: KubeCluster
    tmpdir: Path  # TMPDIR of the deployer processes
    charts: ChartCache
    names: dict[str, str] = field(default_factory=dict)  # hub name in the example -> name in this copy
    helm: HelmBinary | None = None  # given to the deployer as DEPLOYER_HELM; None: the helm on PATH

    def env(self, **extra: str) -> dict[str, str]:
        tools = str(PROJECT / ".tools" / "bin")
        chosen = {"DEPLOYER_HELM": str(self.helm)} if self.helm else {}
        return {
            **self.charts.env({}),  # DEPLOYER_CHART_MIRROR, when the tests have one
            **chosen,
            "PATH": f"{tools}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOME": os.environ.get("HOME", "/"),
            "SOPS_AGE_KEY_FILE": str(DEMO_KEY),
            "KUBECONFIG": str(self.kube.kubeconfig),
            "KUBECACHEDIR": str(self.kube.workdir / "kube-cache"),
            "TMPDIR": str(self.tmpdir),
            **extra,
        }

    def deployer(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        timeout: float = 120,
        stdin: int | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """The real deployer on this repository (``stdin``: a file descriptor, e.g. ``subprocess.DEVNULL``)."""
        return subprocess.run(
            [DEPLOYER, "--repo", str(self.root), *args],
            env=env or self.env(),
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=stdin,
        )

    def popen(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        # SIGINT at its default, whatever the test run's is: the interruption tests send it
        argv = with_default_sigint([DEPLOYER, "--repo", str(self.root), *args])
        return subprocess.Popen(
            argv, env=env or self.env(), cwd=self.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def hub(self, name: str) -> str:
        return self.names.get(name, name)

    def history(self, release: str, namespace: str | None = None) -> list[dict]:
        done = self.kube.helm("history", release, "-n", namespace or release, "-o", "json", check=False)
        return json.loads(done.stdout) if done.returncode == 0 else []

    def manifest(self, release: str, revision: int | None = None) -> str:
        args = ["get", "manifest", release, "-n", release, *(["--revision", str(revision)] if revision else [])]
        return self.kube.helm(*args).stdout

    def values(self, release: str, revision: int | None = None) -> dict:
        args = [
            "get",
            "values",
            release,
            "-n",
            release,
            "-o",
            "json",
            *(["--revision", str(revision)] if revision else []),
        ]
        return json.loads(self.kube.helm(*args).stdout)

    def cluster_dir(self) -> Path:
        return self.root / "config" / "clusters" / self.cluster

    def leave_pending(self, hub: str, values: tuple[str, ...] = ("common.values.yaml",)) -> None:
        """An interrupted run: a helm upgrade of ``hub`` with ``values`` (files of the cluster folder) SIGKILLed (as
        when a CI runner dies) once it recorded its revision, leaving the release ``pending-upgrade``."""
        self.kube.latency = 0.15  # slow enough to be caught mid-upgrade
        helm = subprocess.Popen(
            [
                find_tool("helm"),
                *("--kubeconfig", str(self.kube.kubeconfig), "--kube-context", self.kube.context),
                *("upgrade", hub, "helm-charts/basehub", "-n", hub),
                *(arg for name in values for arg in ("--values", f"config/clusters/{self.cluster}/{name}")),
            ],
            cwd=self.root,
            env=self.kube.tool_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while not self.kube.list_objects("secrets", hub, label_selector="owner=helm,status=pending-upgrade"):
            assert helm.poll() is None and time.monotonic() < deadline, "helm finished before it could be interrupted"
            time.sleep(0.05)
        helm.send_signal(signal.SIGKILL)
        helm.wait()
        self.kube.latency = 0
        assert self.history(hub)[-1]["status"] == "pending-upgrade"

    def leftovers(self) -> list[Path]:
        """Files and folders the deployer left in its TMPDIR."""
        return sorted(self.tmpdir.rglob("*"))


def _base(tmp_path: Path, built_charts: Path) -> tuple[Path, Path]:
    root = tmp_path / "repo"
    (root / "config" / "clusters").mkdir(parents=True)
    shutil.copytree(PROJECT / "schemas", root / "schemas")
    shutil.copytree(built_charts, root / "helm-charts")  # copy2 keeps mtimes: charts/ stays up to date
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    return root, tmpdir


@pytest.fixture
def deploy_repo(tmp_path, built_charts, chart_cache):
    """``make(kube, suffix=True, helm=None)``: a copy of the example ``local`` cluster (hubs renamed with a unique
    suffix), deployed with ``helm`` (a ``helm_binary``) or the helm on PATH."""

    def make(kube: KubeCluster, *, suffix: bool = True, helm: HelmBinary | None = None) -> DeployRepo:
        root, tmpdir = _base(tmp_path, built_charts)
        src = PROJECT / "config" / "clusters" / "local"
        dest = root / "config" / "clusters" / "local"
        shutil.copytree(src, dest)
        text = (dest / "cluster.yaml").read_text()
        names = {}
        if suffix:
            tag = uuid.uuid4().hex[:6]
            for name in ("staging", "prod"):
                names[name] = f"{name}-{tag}"
                text = text.replace(f"  - name: {name}\n", f"  - name: {names[name]}\n")
        text = text.replace("context: deployer-local", f"context: {kube.context}")
        (dest / "cluster.yaml").write_text(text)
        return DeployRepo(
            root=root, cluster="local", kube=kube, tmpdir=tmpdir, charts=chart_cache, names=names, helm=helm
        )

    return make


@pytest.fixture
def custom_repo(tmp_path, built_charts, chart_cache):
    """``make(kube, hubs=[(name, canary[, chart]), ...], support=False, secrets={name: value})``: a cluster ``t``
    whose hubs (names suffixed) use basehub (or daskhub) with a common values file (basehub only), one of their own,
    and optionally a sops-encrypted one holding ``secrets[name]`` as the DummyAuthenticator password."""

    def make(
        kube: KubeCluster, *, hubs: list[tuple], support: bool = False, secrets: dict[str, str] | None = None
    ) -> DeployRepo:
        root, tmpdir = _base(tmp_path, built_charts)
        cdir = root / "config" / "clusters" / "t"
        cdir.mkdir()
        tag = uuid.uuid4().hex[:6]
        names = {entry[0]: f"{entry[0]}-{tag}" for entry in hubs}
        lines = ["name: t", "provider: kubeconfig", "kubeconfig:", f"  context: {kube.context}"]
        if support:
            lines += ["support:", "  helm_chart_values_files: [support.values.yaml]"]
            (cdir / "support.values.yaml").write_text(
                "ingress-nginx:\n  controller:\n    service:\n      type: ClusterIP\nclusterIssuer:\n  enabled: false\n"
            )
        lines.append("hubs:")
        (cdir / "common.values.yaml").write_text(HUB_COMMON_VALUES.format(cluster="t"))
        for name, canary, *rest in hubs:
            chart = rest[0] if rest else "basehub"
            own = cdir / f"{name}.values.yaml"
            if chart == "daskhub":  # daskhub takes basehub's values under `basehub:`
                files = [own.name]
                own.write_text(f"basehub:\n  identity:\n    cluster: t\n    displayName: Hub {name}\n")
            else:
                files = ["common.values.yaml", own.name]
                own.write_text(f"identity:\n  displayName: Hub {name}\n")
            if secrets and name in secrets:
                secret = cdir / f"enc-{name}.secret.values.yaml"
                secret.write_text(
                    f"jupyterhub:\n  hub:\n    config:\n      DummyAuthenticator:\n        password: {secrets[name]}\n"
                )
                sops_encrypt(secret, demo_recipient())
                files.append(secret.name)
            lines += [
                f"  - name: {names[name]}",
                f"    domain: {names[name]}.t.example.org",
                f"    helm_chart: {chart}",
                f"    canary: {'true' if canary else 'false'}",
                "    helm_chart_values_files:",
                *[f"      - {f}" for f in files],
            ]
        (cdir / "cluster.yaml").write_text("\n".join(lines) + "\n")
        return DeployRepo(root=root, cluster="t", kube=kube, tmpdir=tmpdir, charts=chart_cache, names=names)

    return make
