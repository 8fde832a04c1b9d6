"""Provider ``azure``: AKS clusters, with azure-identity and azure-mgmt-containerservice
(``pip install 'deployer[azure]'``). No ``az`` CLI, no kubelogin.

Credentials: the sops-encrypted ``azure.key`` file, a service principal (YAML or JSON: ``client_id``,
``client_secret``, and ``tenant_id`` unless ``azure.tenant_id`` is set), or without it ``DefaultAzureCredential``
(environment variables, workload identity federation in CI, managed identity, a developer's ``az login``).

``managed_clusters.list_cluster_user_credentials`` (the "Azure Kubernetes Service Cluster User" role's action)
gives the API server and its CA; the kubeconfig's user is replaced by the plugin, whose bearer token is a
Microsoft Entra token for the AKS server application (scope ``6dae42f8-4368-4678-94ff-3960e28e3630/.default``),
as kubelogin would get it. This suits AKS clusters with Entra ID integration (the default for new clusters).

Endpoint overrides (tests, sovereign clouds), in the env handed in: ``DEPLOYER_AZURE_ENDPOINT``, the Azure Resource
Manager base URL (default ``https://management.azure.com``); ``AZURE_AUTHORITY_HOST``, the Entra authority (e.g.
``login.microsoftonline.us``; with it set, instance discovery is skipped). TLS is verified against the system CAs,
or ``REQUESTS_CA_BUNDLE`` when set.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.identity import ClientSecretCredential, CredentialUnavailableError, DefaultAzureCredential
from azure.mgmt.containerservice import ContainerServiceClient

from deployer import yamlio
from deployer.auth import ClusterAccess
from deployer.auth._base import Endpoint, State, Token, ca_data, exec_access
from deployer.config.model import AzureSpec, ClusterConfig
from deployer.run import Runner

ENDPOINT_VAR = "DEPLOYER_AZURE_ENDPOINT"
AUTHORITY_VAR = "AZURE_AUTHORITY_HOST"
AKS_SCOPE = "6dae42f8-4368-4678-94ff-3960e28e3630/.default"  # the AKS server application, in every cloud
_RETRIES: dict[str, Any] = {"retry_total": 2, "retry_backoff_factor": 0.5}  # azure-core retry policy options
_NO_CREDENTIALS = (
    "no Azure credentials found: add a sops-encrypted service principal file (azure.key, with "
    "client_id, client_secret and tenant_id) to the cluster, or provide credentials that "
    "DefaultAzureCredential finds (AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET, workload "
    "identity federation in CI, a managed identity, or 'az login')"
)


def settings(spec: AzureSpec, env: Mapping[str, str]) -> dict[str, Any]:
    return {
        "subscription_id": spec.subscription_id,
        "resource_group": spec.resource_group,
        "cluster": spec.cluster,
        "tenant_id": spec.tenant_id,
        "endpoint": env.get(ENDPOINT_VAR) or None,
        "authority": env.get(AUTHORITY_VAR) or None,
    }


def access(
    cluster: ClusterConfig, *, root: Path, env: Mapping[str, str], workdir: Path, runner: Runner | None = None
) -> contextlib.AbstractContextManager[ClusterAccess]:
    spec = cluster.spec
    assert isinstance(spec, AzureSpec), cluster.name
    return exec_access(cluster, settings=settings(spec, env), root=root, env=env, workdir=workdir, runner=runner)


# -- in the plugin process ----------------------------------------------------------------------------------------


def describe(state: State) -> tuple[Endpoint, Token]:
    s = state.settings
    credential, identity = _credential(state)
    options: dict[str, Any] = {"base_url": s["endpoint"]} if s.get("endpoint") else {}
    client = ContainerServiceClient(credential, s["subscription_id"], **options, **_RETRIES)
    with _errors(state, identity, f"list the user credentials of AKS cluster '{s['cluster']}'"):
        result = client.managed_clusters.list_cluster_user_credentials(s["resource_group"], s["cluster"])
    endpoint = _endpoint(state, result)
    with _errors(state, identity, "get a token for the AKS server application"):
        first = credential.get_token(AKS_SCOPE)
    return endpoint, Token(first.token, float(first.expires_on))


def token(state: State) -> Token:
    credential, identity = _credential(state)
    with _errors(state, identity, "get a token for the AKS server application"):
        access_token = credential.get_token(AKS_SCOPE)
    return Token(access_token.token, float(access_token.expires_on))


def _endpoint(state: State, result: Any) -> Endpoint:
    """The server and CA of the first kubeconfig AKS handed out (its user entry is not used)."""
    try:
        raw = result.kubeconfigs[0].value
        if isinstance(raw, str):  # some api versions give base64 text
            raw = base64.b64decode(raw)
        config = yamlio.loads(bytes(raw))
        cluster = config["clusters"][0]["cluster"]
        return Endpoint(server=cluster["server"], ca_data=ca_data(cluster["certificate-authority-data"]))
    except (AttributeError, IndexError, KeyError, TypeError, ValueError, yamlio.YamlError):
        raise state.error(f"AKS returned no usable kubeconfig for cluster '{state.settings['cluster']}'") from None


def _credential(state: State) -> tuple[Any, str]:
    s = state.settings
    extra: dict[str, Any] = dict(_RETRIES)
    if s.get("authority"):
        extra.update(authority=s["authority"], disable_instance_discovery=True)
    if state.key is None:
        return DefaultAzureCredential(exclude_interactive_browser_credential=True, **extra), "DefaultAzureCredential"
    key = state.key_data()
    tenant = key.get("tenant_id") or s.get("tenant_id")
    missing = [
        k
        for k, v in (
            ("client_id", key.get("client_id")),
            ("client_secret", key.get("client_secret")),
            ("tenant_id", tenant),
        )
        if not v
    ]
    if missing:
        raise state.error(
            f"the key file ({state.key_name}) lacks {', '.join(missing)}; a service principal file holds "
            "client_id, client_secret and tenant_id (or set azure.tenant_id)",
            "no-credentials",
        )
    credential = ClientSecretCredential(str(tenant), str(key["client_id"]), str(key["client_secret"]), **extra)
    return credential, f"service principal {key['client_id']} (tenant {tenant}, from the cluster's key file)"


def _chain_attempts(exc: ClientAuthenticationError) -> list[str]:
    """What each credential of DefaultAzureCredential said ("Name: message"), when ``exc`` comes from the chain."""
    text = str(exc.message or "")
    if "Attempted credentials:" not in text:
        return []
    tail = text.split("Attempted credentials:", 1)[1]
    attempts = [line.strip() for line in tail.split("\n\t") if line.strip()]
    short = [" ".join(line.split()).split(" Visit https://")[0].split(" To mitigate")[0] for line in attempts]
    return [line[:300] for line in short if ":" in line]


def _arm_message(exc: HttpResponseError) -> str:
    error = getattr(exc, "error", None)
    message = getattr(error, "message", None) or str(exc.message or exc)
    return message.splitlines()[0][:400] if message else type(exc).__name__


@contextlib.contextmanager
def _errors(state: State, identity: str, doing: str) -> Iterator[None]:
    s = state.settings
    where = f"subscription {s['subscription_id']}, resource group {s['resource_group']}"
    try:
        yield
    except CredentialUnavailableError:
        raise state.error(_NO_CREDENTIALS, "no-credentials") from None
    except ResourceNotFoundError:
        raise state.error(
            f"AKS cluster '{s['cluster']}' not found in {where} (asked as {identity}); check "
            "azure.subscription_id, azure.resource_group and azure.cluster",
            "not-found",
        ) from None
    except ClientAuthenticationError as exc:
        attempts = _chain_attempts(exc)
        if attempts and all("unavailable" in line.lower() for line in attempts):
            raise state.error(f"{_NO_CREDENTIALS} [{'; '.join(attempts)}]", "no-credentials") from None
        if attempts:
            failed = "; ".join(line for line in attempts if "unavailable" not in line.lower())
            raise state.error(
                f"Microsoft Entra ID rejected {identity}: {failed[:600]}; check the client id, secret and tenant",
                "rejected",
            ) from None
        if exc.status_code == 403:
            raise state.error(
                f"access denied: {identity} may not {doing} ({where}): {_arm_message(exc)}; grant it "
                "the 'Azure Kubernetes Service Cluster User Role' on the cluster, or use other "
                "credentials",
                "access-denied",
            ) from None
        raise state.error(
            f"Microsoft Entra ID rejected {identity}: {_arm_message(exc)}; check the client id, secret and tenant",
            "rejected",
        ) from None
    except HttpResponseError as exc:
        if exc.status_code == 403:
            raise state.error(
                f"access denied: {identity} may not {doing} ({where}): {_arm_message(exc)}; grant it "
                "the 'Azure Kubernetes Service Cluster User Role' on the cluster, or use other "
                "credentials",
                "access-denied",
            ) from None
        raise state.error(f"Azure refused to {doing} ({where}): HTTP {exc.status_code}: {_arm_message(exc)}") from None
    except (ServiceRequestError, ServiceResponseError) as exc:
        api = s.get("endpoint") or "https://management.azure.com"
        raise state.error(
            f"cannot reach Azure ({api} or the Entra authority): {str(exc).splitlines()[0][:300]}; "
            "check the network or proxy"
            + (f", and {ENDPOINT_VAR}/{AUTHORITY_VAR}" if s.get("endpoint") or s.get("authority") else ""),
            "unreachable",
        ) from None
