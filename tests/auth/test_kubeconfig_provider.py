"""Provider kubeconfig: a sops-encrypted kubeconfig or the ambient one, with or without `context:`."""

from __future__ import annotations

import os

from authkit import kubectl
from deployer.auth import cluster_access


def test_encrypted_file_with_context(repo, base_env, workdir):
    with cluster_access(repo.cluster("kc-file"), root=repo.root, env=base_env, workdir=workdir) as access:
        assert access.kubeconfig is not None
        assert access.context == "deployer-local" and access.kubeconfig.parent == workdir
        assert oct(access.kubeconfig.stat().st_mode & 0o777) == "0o600"
        got = kubectl(access, base_env, "get", "ns", "default", "-o", "name")
        assert got.returncode == 0, got.stderr
    assert os.listdir(workdir) == []


def test_encrypted_file_without_context_uses_its_current_context(repo, base_env, workdir):
    """The file's current context ('elsewhere') holds a token the cluster refuses: proof it is the one used."""
    with cluster_access(repo.cluster("kc-file", context=None), root=repo.root, env=base_env, workdir=workdir) as access:
        assert access.context is None
        got = kubectl(access, base_env, "get", "ns", "default", "-o", "name")
        assert got.returncode != 0 and "provide credentials" in got.stderr
    assert os.listdir(workdir) == []


def test_ambient_kubeconfig_with_context(repo, base_env, workdir):
    env = {**base_env, "KUBECONFIG": str(repo.kubeconfig)}
    with cluster_access(repo.cluster("kc-ambient"), root=repo.root, env=env, workdir=workdir) as access:
        assert access.kubeconfig is None and access.context == "deployer-local"
        assert access.child_env(env)["KUBECONFIG"] == str(repo.kubeconfig)
        got = kubectl(access, env, "get", "ns", "default", "-o", "name")
        assert got.returncode == 0, got.stderr


def test_ambient_kubeconfig_without_context(repo, base_env, workdir):
    env = {**base_env, "KUBECONFIG": str(repo.kubeconfig)}
    with cluster_access(repo.cluster("kc-ambient", context=None), root=repo.root, env=env, workdir=workdir) as access:
        assert (access.kubeconfig, access.context) == (None, None)
        got = kubectl(access, env, "get", "ns", "default", "-o", "name")
        assert got.returncode == 0, got.stderr
