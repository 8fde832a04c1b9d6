"""Constants and helpers of the auth tests, importable by name (``from authkit import ...``): several test folders
have a ``conftest`` module, so importing from ``conftest`` would depend on collection order."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from deployer.auth import cluster_access
from deployer.errors import AuthError
from deployer.tools import find_tool
from helpers import PROJECT

ACCOUNT = "123456789012"
REGION = "us-west-2"
EKS_NAME = "demo-eks"
GCP_PROJECT, GCP_LOCATION, GKE_NAME = "demo-project", "us-central1", "demo-gke"
SUBSCRIPTION, RESOURCE_GROUP, AKS_NAME = "00000000-0000-4000-8000-000000000001", "demo-rg", "demo-aks"
TENANT = "00000000-0000-4000-8000-000000000002"
KEY_SA = f"deployer@{GCP_PROJECT}.iam.gserviceaccount.com"
ADC_SA = f"ci-adc@{GCP_PROJECT}.iam.gserviceaccount.com"
DENIED_SA = f"no-access@{GCP_PROJECT}.iam.gserviceaccount.com"
STATIC_TOKEN = "kubeconfig-static-token-0123456789"
TOKEN_PREFIXES = ("k8s-aws-v1.", "gke-fake-", "aks-fake-", STATIC_TOKEN)
CLOSED = "127.0.0.1:9"  # nothing listens on the discard port here


def leftovers(env: dict[str, str]) -> list[str]:
    """Whatever the deployer left in the TMPDIR of ``env`` (should be nothing)."""
    tmp = Path(env["TMPDIR"])
    return sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*"))


def _tool(name: str, context_flag: str, access, env: dict[str, str], args: tuple[str, ...], timeout: float):
    argv = [find_tool(name, PROJECT)]
    if access.kubeconfig is not None:
        argv += ["--kubeconfig", str(access.kubeconfig)]
    if access.context is not None:
        argv += [context_flag, access.context]
    return subprocess.run([*argv, *args], env=access.child_env(env), capture_output=True, text=True, timeout=timeout)


def kubectl(access, env: dict[str, str], *args: str, timeout: float = 60):
    """The real kubectl through a ``ClusterAccess``."""
    return _tool("kubectl", "--context", access, env, args, timeout)


def helm(access, env: dict[str, str], *args: str, timeout: float = 120):
    """The real helm through a ``ClusterAccess``."""
    return _tool("helm", "--kube-context", access, env, args, timeout)


def enter(cluster, repo, env, workdir) -> AuthError:
    """Enter ``cluster_access`` expecting an ``AuthError``; nothing (decrypted key, state) may be left behind."""
    with pytest.raises(AuthError) as caught, cluster_access(cluster, root=repo.root, env=env, workdir=workdir):
        pass
    assert os.listdir(workdir) == []
    return caught.value
