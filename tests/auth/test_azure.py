"""Provider azure against the local Azure fake (Entra authority + Resource Manager)."""

from __future__ import annotations

import pytest

from authkit import AKS_NAME, RESOURCE_GROUP, SUBSCRIPTION, enter, kubectl
from deployer.auth import cluster_access
from fakes import AKS_SCOPE


def seen_principal(access, env, token_policy, azure) -> tuple[str, str]:
    before = len(token_policy.presented)
    got = kubectl(access, env, "get", "namespaces")
    assert got.returncode == 0, got.stderr
    return azure.issued[token_policy.presented[before:][-1]]


def test_key_file_service_principal_gets_an_aks_token(repo, base_env, token_policy, azure, workdir):
    with cluster_access(repo.cluster("aks"), root=repo.root, env=base_env, workdir=workdir) as access:
        assert seen_principal(access, base_env, token_policy, azure) == ("sp-key", AKS_SCOPE)


def test_default_azure_credential(repo, azure_env, token_policy, azure, workdir):
    with cluster_access(repo.cluster("aks-default"), root=repo.root, env=azure_env, workdir=workdir) as access:
        assert seen_principal(access, azure_env, token_policy, azure) == ("sp-env", AKS_SCOPE)


def test_no_credentials(repo, base_env, workdir):
    error = enter(repo.cluster("aks-default"), repo, base_env, workdir)
    assert (error.kind, error.exit_code) == ("no-credentials", 2)
    assert "no Azure credentials found" in error.message and "azure.key" in error.message


def test_rejected_secret(repo, azure_env, workdir):
    error = enter(repo.cluster("aks-default"), repo, {**azure_env, "AZURE_CLIENT_SECRET": "wrong"}, workdir)
    assert error.kind in ("rejected", "no-credentials") and error.exit_code == 2
    assert "AADSTS7000215" in error.message or "Invalid client secret" in error.message


def test_access_denied_names_the_identity(repo, base_env, workdir):
    error = enter(repo.cluster("aks-denied"), repo, base_env, workdir)
    assert (error.kind, error.exit_code) == ("access-denied", 2)
    assert "service principal sp-denied" in error.message and "AuthorizationFailed" not in error.message
    assert "does not have authorization" in error.message


@pytest.mark.parametrize("change", [{"cluster": "nope"}, {"resource_group": "other-rg"}])
def test_cluster_not_found_names_subscription_and_group(repo, base_env, workdir, change):
    error = enter(repo.cluster("aks", **change), repo, base_env, workdir)
    assert (error.kind, error.exit_code) == ("not-found", 2)
    rg = change.get("resource_group", RESOURCE_GROUP)
    assert (
        f"AKS cluster '{change.get('cluster', AKS_NAME)}' not found in subscription {SUBSCRIPTION}, resource group {rg}"
        in error.message
    )


def test_endpoint_unreachable(repo, base_env, workdir):
    env = {**base_env, "DEPLOYER_AZURE_ENDPOINT": "https://127.0.0.1:9"}
    error = enter(repo.cluster("aks"), repo, env, workdir)
    assert (error.kind, error.exit_code) == ("unreachable", 1)
    assert "cannot reach Azure (https://127.0.0.1:9" in error.message
