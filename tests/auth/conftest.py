"""Fixtures for the auth tests: one Kubernetes API stand-in, moto's server, the Google and Azure fakes, and a config
repository whose clusters reach the stand-in through each provider. Shared per session (they are stateless enough);
tests that change a switch put it back.

Every environment handed to the deployer is built here from scratch (``base_env``), so the developer's own cloud
credentials never leak in, and the SDKs' metadata-server probes are pointed at a closed local port (no traffic to
169.254.169.254).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from authkit import (
    ACCOUNT,
    ADC_SA,
    AKS_NAME,
    CLOSED,
    DENIED_SA,
    EKS_NAME,
    GCP_LOCATION,
    GCP_PROJECT,
    GKE_NAME,
    KEY_SA,
    REGION,
    RESOURCE_GROUP,
    STATIC_TOKEN,
    SUBSCRIPTION,
    TENANT,
    TOKEN_PREFIXES,
)
from deployer.config.model import ClusterConfig
from deployer.testing.kubeapi import KubeAPIServer
from deployer.tools import find_tool
from fakes import AzureFake, GkeCluster, GoogleFake, aks_kubeconfig
from helpers import DEMO_KEY, PROJECT, demo_recipient, sops_encrypt


@dataclass
class TokenPolicy:
    """The stand-in's token check: tokens of the known providers' shapes, each accepted for ``max_age`` seconds
    after it was first presented (None: forever)."""

    max_age: float | None = None
    first_seen: dict[str, float] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)
    presented: list[str] = field(default_factory=list)  # every token of every request, in order (not deduplicated)

    def __call__(self, token: str) -> bool:
        self.presented.append(token)
        seen = self.first_seen.setdefault(token, time.monotonic())
        ok = token.startswith(TOKEN_PREFIXES) and (self.max_age is None or time.monotonic() - seen < self.max_age)
        if not ok:
            self.rejected.append(token)
        return ok


@pytest.fixture(scope="session")
def token_policy() -> TokenPolicy:
    return TokenPolicy()


@pytest.fixture(scope="session")
def standin(token_policy: TokenPolicy) -> Iterator[KubeAPIServer]:
    with KubeAPIServer(token=token_policy) as server:
        yield server


@pytest.fixture
def short_lived_tokens(token_policy: TokenPolicy) -> Iterator[TokenPolicy]:
    token_policy.max_age = 3.0
    try:
        yield token_policy
    finally:
        token_policy.max_age = None


# -- AWS: moto's server ---------------------------------------------------------------------------------------------


@dataclass
class Moto:
    url: str
    role_arn: str
    keys: dict[str, tuple[str, str]]  # user -> (access key id, secret)


@pytest.fixture(scope="session")
def moto(standin: KubeAPIServer) -> Iterator[Moto]:
    import boto3
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.eks.models import eks_backends
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        admin = dict(
            endpoint_url=url,
            region_name=REGION,
            aws_access_key_id="AKIAADMIN00000000000",
            aws_secret_access_key="admin",
        )
        iam = boto3.client("iam", **admin)
        keys = {}
        for user in ("ci", "nobody", "from-env"):
            iam.create_user(UserName=user)
            key = iam.create_access_key(UserName=user)["AccessKey"]
            keys[user] = (key["AccessKeyId"], key["SecretAccessKey"])
        allow = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ["sts:AssumeRole", "eks:*"], "Resource": "*"}],
        }
        for user in ("ci", "from-env"):
            iam.put_user_policy(UserName=user, PolicyName="deployer", PolicyDocument=json.dumps(allow))
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Principal": {"AWS": [f"arn:aws:iam::{ACCOUNT}:user/ci", f"arn:aws:iam::{ACCOUNT}:user/from-env"]},
                }
            ],
        }
        role_arn = iam.create_role(RoleName="deployer", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        boto3.client("eks", **admin).create_cluster(name=EKS_NAME, roleArn=role_arn, resourcesVpcConfig={})
        cluster = eks_backends[DEFAULT_ACCOUNT_ID][REGION].clusters[EKS_NAME]
        cluster.endpoint = standin.url  # moto's endpoint and CA are made up: point them at the stand-in
        cluster.certificate_authority = {"data": base64.b64encode(standin.ca_pem).decode()}
        yield Moto(url=url, role_arn=role_arn, keys=keys)
    finally:
        server.stop()


# -- Google and Azure fakes -----------------------------------------------------------------------------------------


def _service_account(email: str) -> tuple[dict, bytes]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    info = {
        "type": "service_account",
        "project_id": GCP_PROJECT,
        "private_key_id": "test-only",
        "private_key": private,
        "client_email": email,
        "client_id": "1",
        "token_uri": "",
    }
    return info, public


@dataclass
class Google:
    fake: GoogleFake
    keys: dict[str, dict]  # email -> service account key file content


@pytest.fixture(scope="session")
def google(standin: KubeAPIServer) -> Iterator[Google]:
    fake = GoogleFake().start()
    try:
        keys = {}
        for email in (KEY_SA, ADC_SA, DENIED_SA):
            info, public = _service_account(email)
            info["token_uri"] = fake.token_uri
            keys[email] = info
            fake.accounts[email] = public
        fake.denied.add(DENIED_SA)
        fake.clusters[f"projects/{GCP_PROJECT}/locations/{GCP_LOCATION}/clusters/{GKE_NAME}"] = GkeCluster(
            endpoint=standin.url.removeprefix("https://"), ca_pem=standin.ca_pem
        )
        yield Google(fake=fake, keys=keys)
    finally:
        fake.stop()


@pytest.fixture(scope="session")
def azure(standin: KubeAPIServer) -> Iterator[AzureFake]:
    fake = AzureFake().start()
    try:
        fake.principals.update({"sp-key": "key-secret", "sp-env": "env-secret", "sp-denied": "denied-secret"})
        fake.denied.add("sp-denied")
        fake.clusters[(SUBSCRIPTION, RESOURCE_GROUP, AKS_NAME)] = aks_kubeconfig(standin.url, standin.ca_pem)
        yield fake
    finally:
        fake.stop()


# -- the config repository and the environment ----------------------------------------------------------------------


@dataclass
class Repo:
    root: Path
    clusters: dict[str, ClusterConfig]
    kubeconfig: Path  # a plain kubeconfig for the stand-in (context deployer-local, static token)

    def cluster(self, name: str, **spec_changes) -> ClusterConfig:
        """A cluster of this repository, its provider settings optionally changed (in memory)."""
        import dataclasses

        base = self.clusters[name]
        if not spec_changes:
            return base
        assert base.spec is not None, name
        return dataclasses.replace(base, spec=dataclasses.replace(base.spec, **spec_changes))


CLUSTER_YAML: dict[str, dict[str, Any]] = {
    "eks": {
        "provider": "aws",
        "aws": {
            "account_id": ACCOUNT,
            "region": REGION,
            "cluster": EKS_NAME,
            "role_arn": f"arn:aws:iam::{ACCOUNT}:role/deployer",
            "key": "enc-deployer-credentials.secret.yaml",
        },
    },
    "eks-default": {"provider": "aws", "aws": {"account_id": ACCOUNT, "region": REGION, "cluster": EKS_NAME}},
    "eks-nobody": {
        "provider": "aws",
        "aws": {
            "account_id": ACCOUNT,
            "region": REGION,
            "cluster": EKS_NAME,
            "role_arn": f"arn:aws:iam::{ACCOUNT}:role/deployer",
            "key": "enc-deployer-credentials.secret.yaml",
        },
    },
    "gke": {
        "provider": "gcp",
        "gcp": {
            "project": GCP_PROJECT,
            "location": GCP_LOCATION,
            "cluster": GKE_NAME,
            "key": "enc-deployer-credentials.secret.json",
        },
    },
    "gke-adc": {"provider": "gcp", "gcp": {"project": GCP_PROJECT, "location": GCP_LOCATION, "cluster": GKE_NAME}},
    "gke-denied": {
        "provider": "gcp",
        "gcp": {
            "project": GCP_PROJECT,
            "location": GCP_LOCATION,
            "cluster": GKE_NAME,
            "key": "enc-deployer-credentials.secret.json",
        },
    },
    "aks": {
        "provider": "azure",
        "azure": {
            "subscription_id": SUBSCRIPTION,
            "resource_group": RESOURCE_GROUP,
            "cluster": AKS_NAME,
            "tenant_id": TENANT,
            "key": "enc-deployer-credentials.secret.yaml",
        },
    },
    "aks-default": {
        "provider": "azure",
        "azure": {
            "subscription_id": SUBSCRIPTION,
            "resource_group": RESOURCE_GROUP,
            "cluster": AKS_NAME,
            "tenant_id": TENANT,
        },
    },
    "aks-denied": {
        "provider": "azure",
        "azure": {
            "subscription_id": SUBSCRIPTION,
            "resource_group": RESOURCE_GROUP,
            "cluster": AKS_NAME,
            "tenant_id": TENANT,
            "key": "enc-deployer-credentials.secret.yaml",
        },
    },
    "kc-file": {
        "provider": "kubeconfig",
        "kubeconfig": {"file": "enc-kubeconfig.secret.yaml", "context": "deployer-local"},
    },
    "kc-ambient": {"provider": "kubeconfig", "kubeconfig": {"context": "deployer-local"}},
}


@pytest.fixture(scope="session")
def repo(
    tmp_path_factory: pytest.TempPathFactory, standin: KubeAPIServer, moto: Moto, google: Google, azure: AzureFake
) -> Repo:
    import yaml

    from deployer.config.load import load_cluster

    root = tmp_path_factory.mktemp("auth-repo")
    shutil.copytree(PROJECT / "schemas", root / "schemas")
    kubeconfig = standin.write_kubeconfig(root / "standin.kubeconfig", token=STATIC_TOKEN)
    # a kubeconfig whose current context is NOT the stand-in's: the provider's `context:` must select it
    two_contexts = yaml.safe_load(kubeconfig.read_text())
    two_contexts["contexts"].append({"name": "elsewhere", "context": {"cluster": "deployer-local", "user": "nobody"}})
    two_contexts["users"].append({"name": "nobody", "user": {"token": "not-accepted"}})
    two_contexts["current-context"] = "elsewhere"
    secrets = {
        "eks": {"aws_access_key_id": moto.keys["ci"][0], "aws_secret_access_key": moto.keys["ci"][1]},
        "eks-nobody": {"aws_access_key_id": moto.keys["nobody"][0], "aws_secret_access_key": moto.keys["nobody"][1]},
        "gke": google.keys[KEY_SA],
        "gke-denied": google.keys[DENIED_SA],
        "aks": {"client_id": "sp-key", "client_secret": "key-secret"},
        "aks-denied": {"client_id": "sp-denied", "client_secret": "denied-secret", "tenant_id": TENANT},
        "kc-file": two_contexts,
    }
    clusters = {}
    for name, body in CLUSTER_YAML.items():
        folder = root / "config" / "clusters" / name
        folder.mkdir(parents=True)
        (folder / "cluster.yaml").write_text(yaml.safe_dump({"name": name, **body}, sort_keys=False))
        spec = body[body["provider"]]
        secret_name = spec.get("key") or spec.get("file")
        if secret_name:
            path = folder / secret_name
            path.write_text(json.dumps(secrets[name]) if path.suffix == ".json" else yaml.safe_dump(secrets[name]))
            sops_encrypt(path, demo_recipient())
        clusters[name] = load_cluster(root, name)
    return Repo(root=root, clusters=clusters, kubeconfig=kubeconfig)


@pytest.fixture(scope="session")
def ca_bundle(tmp_path_factory: pytest.TempPathFactory, google: Google, azure: AzureFake) -> Path:
    path = tmp_path_factory.mktemp("ca") / "fakes-ca.pem"
    path.write_bytes(google.fake.ca_pem + azure.ca_pem)
    return path


@pytest.fixture
def base_env(
    tmp_path: Path, moto: Moto, google: Google, azure: AzureFake, ca_bundle: Path, repo: Repo
) -> dict[str, str]:
    """A clean environment: the fakes' endpoints, no ambient cloud credentials, a private TMPDIR and HOME."""
    tools = Path(find_tool("kubectl", PROJECT)).parent
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    tmp.mkdir()
    return {
        "PATH": os.pathsep.join([str(tools), str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "HOME": str(home),
        "TMPDIR": str(tmp),
        "SOPS_AGE_KEY_FILE": str(DEMO_KEY),
        "KUBECACHEDIR": str(tmp_path / "kube-cache"),
        "REQUESTS_CA_BUNDLE": str(ca_bundle),
        # AWS: moto; no shared files, no instance metadata
        "DEPLOYER_AWS_ENDPOINT_URL": moto.url,
        "AWS_CONFIG_FILE": str(home / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        # Google: the fake; the metadata server probe goes to a closed local port
        "DEPLOYER_GKE_ENDPOINT": google.fake.url,
        "GCE_METADATA_HOST": CLOSED,
        "GCE_METADATA_IP": CLOSED,
        "CLOUDSDK_CONFIG": str(home / "gcloud"),
        # Azure: the fake authority and ARM; DefaultAzureCredential limited to its environment credential
        "DEPLOYER_AZURE_ENDPOINT": azure.url,
        "AZURE_AUTHORITY_HOST": azure.url,
        "AZURE_TOKEN_CREDENTIALS": "EnvironmentCredential",
    }


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir(mode=0o700)
    return path


@pytest.fixture
def adc_env(base_env: dict[str, str], google: Google, tmp_path: Path) -> dict[str, str]:
    """``base_env`` plus application default credentials (a service account key file)."""
    path = tmp_path / "adc.json"
    path.write_text(json.dumps(google.keys[ADC_SA]))
    return {**base_env, "GOOGLE_APPLICATION_CREDENTIALS": str(path)}


@pytest.fixture
def azure_env(base_env: dict[str, str]) -> dict[str, str]:
    """``base_env`` plus a service principal in the variables DefaultAzureCredential reads."""
    return {**base_env, "AZURE_CLIENT_ID": "sp-env", "AZURE_CLIENT_SECRET": "env-secret", "AZURE_TENANT_ID": TENANT}


@pytest.fixture
def aws_env(base_env: dict[str, str], moto: Moto) -> dict[str, str]:
    """``base_env`` plus static keys of user from-env in the variables boto3's default chain reads."""
    key_id, secret = moto.keys["from-env"]
    return {**base_env, "AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret}
