"""The contract every provider keeps (style guide §12): its ClusterAccess lets the real kubectl and helm reach the
cluster (here the local stand-in, which checks bearer tokens), with that provider's credentials, and nothing it
made is left behind."""

from __future__ import annotations

import os
import stat

import pytest

from authkit import STATIC_TOKEN, helm, kubectl
from deployer.auth import PROVIDERS, cluster_access

# provider -> (cluster of the test repository, the env fixture it needs, prefix of the token the stand-in must see)
CASES = {
    "kubeconfig": ("kc-file", "base_env", STATIC_TOKEN),
    "aws": ("eks", "base_env", "k8s-aws-v1."),
    "gcp": ("gke", "base_env", "gke-fake-"),
    "azure": ("aks", "base_env", "aks-fake-"),
}


def test_every_provider_has_a_case():
    assert set(CASES) == set(PROVIDERS)


def test_an_unsupported_provider_is_refused_alike_by_the_sdk_and_the_manual_registry():
    import dataclasses

    from deployer.auth import manual_access, provider_for
    from deployer.config.load import load_cluster
    from deployer.errors import UsageError
    from helpers import PROJECT

    cluster = dataclasses.replace(load_cluster(PROJECT, "local"), provider="digitalocean")
    message = "provider 'digitalocean' is not supported by this version of the deployer"
    for call in (lambda: provider_for(cluster.provider), lambda: manual_access(cluster)):
        with pytest.raises(UsageError) as caught:
            call()
        assert str(caught.value) == message


@pytest.mark.parametrize("provider", sorted(CASES))
def test_provider_kubeconfig_lets_kubectl_and_helm_reach_the_cluster(
    provider, request, repo, standin, token_policy, workdir
):
    name, env_fixture, prefix = CASES[provider]
    env = request.getfixturevalue(env_fixture)
    seen_before = len(token_policy.presented)
    with cluster_access(repo.cluster(name), root=repo.root, env=env, workdir=workdir) as access:
        assert access.kubeconfig is not None and access.kubeconfig.is_relative_to(workdir)
        assert stat.S_IMODE(access.kubeconfig.stat().st_mode) == 0o600
        got = kubectl(access, env, "get", "namespaces", "-o", "name")
        assert got.returncode == 0, got.stderr
        assert "namespace/kube-system" in got.stdout.split()
        got = helm(access, env, "list", "-A", "-o", "json")
        assert got.returncode == 0, got.stderr
        new = token_policy.presented[seen_before:]
        assert new and all(token.startswith(prefix) for token in new), [t[:20] for t in new]
        assert set(new) <= set(standin.tokens_seen)
    assert os.listdir(workdir) == []
