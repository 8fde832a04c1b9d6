"""Provider ``aws``: EKS clusters, with boto3 (``pip install 'deployer[aws]'``).

Credentials: the sops-encrypted ``aws.key`` file (YAML or JSON with ``aws_access_key_id``,
``aws_secret_access_key`` and optionally ``aws_session_token``), or without it boto3's default chain (environment
variables, ``AWS_PROFILE`` and the shared files, SSO, web identity in CI, container and instance roles). With
``aws.role_arn`` those credentials assume the role with STS first (session name ``deployer-<cluster>``).

``eks:DescribeCluster`` gives the endpoint and CA. The bearer token is made locally, as the EKS authenticator
expects: STS GetCallerIdentity presigned (SigV4, 60 s) for the regional STS host with the header
``x-k8s-aws-id: <cluster>`` signed in, then ``k8s-aws-v1.`` + base64url without padding. EKS accepts it for 15
minutes; the plugin renews it after 14.

Endpoint override (tests, VPC endpoints): ``DEPLOYER_AWS_ENDPOINT_URL`` in the env handed in is used for STS and
EKS API calls; boto3's own ``AWS_ENDPOINT_URL[_EKS|_STS]`` work too. The presigned token always names the real
regional STS host, which is what EKS checks.
"""

from __future__ import annotations

import base64
import contextlib
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
from botocore.config import Config

from deployer.auth import ClusterAccess
from deployer.auth._base import Endpoint, State, Token, ca_data, exec_access
from deployer.config.model import AwsSpec, ClusterConfig
from deployer.errors import AuthError
from deployer.run import Runner

ENDPOINT_VAR = "DEPLOYER_AWS_ENDPOINT_URL"
TOKEN_PREFIX = "k8s-aws-v1."
TOKEN_LIFETIME = 14 * 60  # EKS accepts a token for 15 minutes after it was signed
PRESIGN_SECONDS = 60
DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedException"}
REJECTED = {
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "UnrecognizedClientException",
    "InvalidAccessKeyId",
    "AuthFailure",
}
_CONFIG = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=10, read_timeout=30)


def settings(spec: AwsSpec, env: Mapping[str, str]) -> dict[str, Any]:
    return {
        "account_id": spec.account_id,
        "region": spec.region,
        "cluster": spec.cluster,
        "role_arn": spec.role_arn,
        "endpoint_url": env.get(ENDPOINT_VAR) or None,
    }


def access(
    cluster: ClusterConfig, *, root: Path, env: Mapping[str, str], workdir: Path, runner: Runner | None = None
) -> contextlib.AbstractContextManager[ClusterAccess]:
    spec = cluster.spec
    assert isinstance(spec, AwsSpec), cluster.name
    return exec_access(cluster, settings=settings(spec, env), root=root, env=env, workdir=workdir, runner=runner)


# -- in the plugin process ----------------------------------------------------------------------------------------


def describe(state: State) -> tuple[Endpoint, Token]:
    s = state.settings
    session, identity = _session(state)
    with _errors(state, identity, f"read EKS cluster '{s['cluster']}'", session):
        cluster = _client(session, "eks", s).describe_cluster(name=s["cluster"])["cluster"]
    account = (cluster.get("arn") or "").split(":")[4:5]
    if account and account[0] != s["account_id"]:
        raise state.error(
            f"EKS cluster '{s['cluster']}' was found in account {account[0]}, but aws.account_id says "
            f"{s['account_id']}: fix aws.account_id, or use credentials of account {s['account_id']}",
            "not-found",
        )
    endpoint, ca = cluster.get("endpoint"), (cluster.get("certificateAuthority") or {}).get("data")
    if not endpoint or not ca:
        raise state.error(
            f"EKS cluster '{s['cluster']}' has no API endpoint yet (status {cluster.get('status')}); "
            "wait until it is ACTIVE",
            "not-found",
        )
    return Endpoint(server=endpoint, ca_data=ca_data(ca)), _presign(session, s)


def token(state: State) -> Token:
    session, _ = _session(state)
    return _presign(session, state.settings)


def _client(session: boto3.Session, service: str, s: Mapping[str, Any]) -> Any:  # a botocore client
    return session.client(service, region_name=s["region"], endpoint_url=s.get("endpoint_url"), config=_CONFIG)


def _sts_host(region: str) -> str:
    return f"https://sts.{region}.amazonaws.com" + (".cn" if region.startswith("cn-") else "")


def _presign(session: boto3.Session, s: Mapping[str, Any]) -> Token:
    """The EKS bearer token, made locally (no STS call)."""
    sts = session.client("sts", region_name=s["region"], endpoint_url=_sts_host(s["region"]), config=_CONFIG)
    cluster = s["cluster"]

    def sign_cluster_header(request: Any, **_: Any) -> None:
        request.headers["x-k8s-aws-id"] = cluster

    sts.meta.events.register("before-sign.sts.GetCallerIdentity", sign_cluster_header)
    signed_at = time.time()
    try:
        url = sts.generate_presigned_url("get_caller_identity", Params={}, ExpiresIn=PRESIGN_SECONDS, HttpMethod="GET")
    except botocore.exceptions.NoCredentialsError:
        raise AuthError("aws", cluster, _NO_CREDENTIALS, "no-credentials") from None
    encoded = base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
    return Token(TOKEN_PREFIX + encoded, signed_at + TOKEN_LIFETIME)


_NO_CREDENTIALS = (
    "no AWS credentials found: add a sops-encrypted key file (aws.key, with aws_access_key_id and "
    "aws_secret_access_key) to the cluster, or provide credentials through boto3's default chain "
    "(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, SSO, web identity in CI)"
)


def _session(state: State) -> tuple[boto3.Session, str]:
    """A session with the cluster's credentials (the role assumed, if any) and a description of who that is."""
    s = state.settings
    key = state.key_data()
    if state.key is not None:
        missing = [k for k in ("aws_access_key_id", "aws_secret_access_key") if not key.get(k)]
        if missing:
            raise state.error(
                f"the key file ({state.key_name}) lacks {' and '.join(missing)}; it must hold "
                "aws_access_key_id and aws_secret_access_key (and optionally aws_session_token)",
                "no-credentials",
            )
        session = boto3.Session(
            aws_access_key_id=str(key["aws_access_key_id"]),
            aws_secret_access_key=str(key["aws_secret_access_key"]),
            aws_session_token=key.get("aws_session_token"),
            region_name=s["region"],
        )
        identity = f"access key {key['aws_access_key_id']} from the cluster's key file"
    else:
        session = boto3.Session(region_name=s["region"])
        identity = "the default credential chain"
    if session.get_credentials() is None:
        raise state.error(_NO_CREDENTIALS, "no-credentials")
    if not s.get("role_arn"):
        return session, identity
    with _errors(state, identity, f"assume role {s['role_arn']}", session):
        assumed = _client(session, "sts", s).assume_role(
            RoleArn=s["role_arn"], RoleSessionName=f"deployer-{state.cluster}"[:64]
        )
    creds = assumed["Credentials"]
    role_session = boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=s["region"],
    )
    return role_session, f"{assumed['AssumedRoleUser']['Arn']} (role assumed by {identity})"


def _caller(session: boto3.Session, s: Mapping[str, Any]) -> str | None:
    try:
        arn: str = _client(session, "sts", s).get_caller_identity()["Arn"]
        return arn
    except Exception:  # only to name the identity in a message; never fatal
        return None


@contextlib.contextmanager
def _errors(state: State, identity: str, doing: str, session: boto3.Session) -> Iterator[None]:
    s = state.settings
    where = f"account {s['account_id']}, region {s['region']}"
    try:
        yield
    except botocore.exceptions.NoCredentialsError:
        raise state.error(_NO_CREDENTIALS, "no-credentials") from None
    except (
        botocore.exceptions.EndpointConnectionError,
        botocore.exceptions.ConnectTimeoutError,
        botocore.exceptions.ReadTimeoutError,
    ) as exc:
        raise state.error(
            f"cannot reach the AWS API ({exc}); check the network or proxy"
            + (f", and {ENDPOINT_VAR}={s['endpoint_url']}" if s.get("endpoint_url") else ""),
            "unreachable",
        ) from None
    except botocore.exceptions.ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = str(error.get("Code", "")), str(error.get("Message", "")).strip()
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in DENIED or (status == 403 and code not in REJECTED):
            arn = _caller(session, s)
            who = f"{arn} ({identity})" if arn else identity
            raise state.error(
                f"access denied: {who} may not {doing} ({where}): {message or code}; grant that "
                "identity the permission, or use other credentials",
                "access-denied",
            ) from None
        if code in REJECTED:
            raise state.error(
                f"AWS rejected the credentials ({identity}): {code}: {message}; check or rotate the keys", "rejected"
            ) from None
        if code == "ResourceNotFoundException":
            raise state.error(
                f"EKS cluster '{s['cluster']}' not found in {where} (asked as {identity}); check "
                "aws.cluster, aws.region and aws.account_id",
                "not-found",
            ) from None
        raise state.error(f"AWS refused to {doing} ({where}): {code}: {message}") from None
