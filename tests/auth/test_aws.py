"""Provider aws against moto's server: key file vs default chain, role assumption, the locally presigned token,
and the errors users meet."""

from __future__ import annotations

import base64
import urllib.parse

import pytest

from authkit import ACCOUNT, EKS_NAME, REGION, enter, kubectl
from deployer.auth import cluster_access


def decode(token: str) -> dict[str, str]:
    """The query of the presigned STS URL inside an EKS token (and its host, under 'host')."""
    assert token.startswith("k8s-aws-v1.")
    body = token[len("k8s-aws-v1.") :]
    url = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
    parts = urllib.parse.urlsplit(url)
    return {**dict(urllib.parse.parse_qsl(parts.query)), "host": parts.netloc}


def assumed_role_of(access_key_id: str) -> str | None:
    from moto.sts.models import sts_backends

    for backend in sts_backends[ACCOUNT].values():
        for role in backend.assumed_roles:
            if role.access_key_id == access_key_id:
                return role.arn
    return None


def token_after(access, env, token_policy) -> dict[str, str]:
    before = len(token_policy.presented)
    got = kubectl(access, env, "get", "namespaces")
    assert got.returncode == 0, got.stderr
    return decode(token_policy.presented[before:][-1])


def test_role_is_assumed_and_the_token_is_the_roles(repo, base_env, moto, token_policy, workdir):
    with cluster_access(repo.cluster("eks"), root=repo.root, env=base_env, workdir=workdir) as access:
        query = token_after(access, base_env, token_policy)
    key_id = query["X-Amz-Credential"].split("/")[0]
    assert key_id != moto.keys["ci"][0] and key_id.startswith("ASIA")
    assert assumed_role_of(key_id) == f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/deployer-eks"
    # what EKS checks: GetCallerIdentity, signed for the regional STS host, with the cluster header signed in
    assert query["Action"] == "GetCallerIdentity" and query["host"] == f"sts.{REGION}.amazonaws.com"
    assert query["X-Amz-SignedHeaders"] == "host;x-k8s-aws-id" and query["X-Amz-Expires"] == "60"
    assert "X-Amz-Security-Token" in query and f"/{REGION}/sts/aws4_request" in query["X-Amz-Credential"]


def test_key_file_without_role_signs_with_the_static_key(repo, base_env, moto, token_policy, workdir):
    with cluster_access(repo.cluster("eks", role_arn=None), root=repo.root, env=base_env, workdir=workdir) as access:
        query = token_after(access, base_env, token_policy)
    assert query["X-Amz-Credential"].split("/")[0] == moto.keys["ci"][0]
    assert "X-Amz-Security-Token" not in query


def test_default_chain_without_key(repo, aws_env, moto, token_policy, workdir):
    with cluster_access(repo.cluster("eks-default"), root=repo.root, env=aws_env, workdir=workdir) as access:
        query = token_after(access, aws_env, token_policy)
    assert query["X-Amz-Credential"].split("/")[0] == aws_env["AWS_ACCESS_KEY_ID"]


def test_default_chain_with_role(repo, aws_env, token_policy, workdir):
    cluster = repo.cluster("eks-default", role_arn=f"arn:aws:iam::{ACCOUNT}:role/deployer")
    with cluster_access(cluster, root=repo.root, env=aws_env, workdir=workdir) as access:
        query = token_after(access, aws_env, token_policy)
    role = assumed_role_of(query["X-Amz-Credential"].split("/")[0])
    assert role is not None and role.endswith("assumed-role/deployer/deployer-eks-default")


def test_no_credentials(repo, base_env, workdir):
    error = enter(repo.cluster("eks-default"), repo, base_env, workdir)
    assert (error.kind, error.exit_code) == ("no-credentials", 2)
    assert "no AWS credentials found" in error.message and "aws.key" in error.message


def test_access_denied_names_the_identity(repo, base_env, moto, workdir, monkeypatch):
    from moto import settings as moto_settings

    monkeypatch.setattr(moto_settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)  # moto enforces IAM from now on
    error = enter(repo.cluster("eks-nobody"), repo, base_env, workdir)
    assert (error.kind, error.exit_code) == ("access-denied", 2)
    assert "access denied" in error.message and "assume role arn:aws:iam::123456789012:role/deployer" in error.message
    assert moto.keys["nobody"][0] in error.message  # which identity was used


def test_cluster_not_found_names_account_and_region(repo, base_env, workdir):
    error = enter(repo.cluster("eks", cluster="no-such-cluster"), repo, base_env, workdir)
    assert (error.kind, error.exit_code) == ("not-found", 2)
    assert f"EKS cluster 'no-such-cluster' not found in account {ACCOUNT}, region {REGION}" in error.message
    assert "assumed-role/deployer" in error.message


def test_account_mismatch(repo, base_env, workdir):
    error = enter(repo.cluster("eks", account_id="999999999999"), repo, base_env, workdir)
    assert error.kind == "not-found" and "aws.account_id says 999999999999" in error.message


def test_endpoint_unreachable(repo, base_env, workdir):
    env = {**base_env, "DEPLOYER_AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
    error = enter(repo.cluster("eks"), repo, env, workdir)
    assert (error.kind, error.exit_code) == ("unreachable", 1)
    assert (
        "cannot reach the AWS API" in error.message and "DEPLOYER_AWS_ENDPOINT_URL=http://127.0.0.1:9" in error.message
    )


def test_eks_name_is_the_signed_cluster_header(repo, base_env, token_policy, workdir):
    """The token names the EKS cluster (aws.cluster), not the deployer's cluster folder."""
    from deployer.auth import aws
    from deployer.auth._base import State

    with cluster_access(repo.cluster("eks"), root=repo.root, env=base_env, workdir=workdir) as access:
        assert access.kubeconfig is not None
        token = aws.token(State.load(access.kubeconfig.parent))
    assert token.value.startswith("k8s-aws-v1.") and EKS_NAME == "demo-eks"
    assert token.expires_at - __import__("time").time() == pytest.approx(14 * 60, abs=5)
