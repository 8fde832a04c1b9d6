"""Provider ``gcp``: GKE clusters, with google-auth and google-cloud-container (``pip install 'deployer[gcp]'``).

Credentials: the sops-encrypted ``gcp.key`` file (a service account key, or any credentials file google-auth
reads, e.g. an external-account file for workload identity federation), or without it application default
credentials (``GOOGLE_APPLICATION_CREDENTIALS``, ``gcloud auth application-default login``, the metadata server).
Scopes: cloud-platform and userinfo.email (GKE maps the token to the identity's email).

``ClusterManagerClient.get_cluster`` (REST transport) gives the endpoint and CA; the bearer token is the
credentials' OAuth access token, renewed by the plugin a minute before it expires.

Endpoint override (tests, private service connect): ``DEPLOYER_GKE_ENDPOINT`` in the env handed in, the base URL
of the Kubernetes Engine API (default ``https://container.googleapis.com``). TLS to it is verified against the
system CAs, or ``REQUESTS_CA_BUNDLE`` when set.
"""

from __future__ import annotations

import calendar
import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import google.auth
import google.auth.exceptions
import requests
from google.api_core import exceptions as api_exceptions
from google.auth.transport.requests import Request
from google.cloud import container_v1

from deployer.auth import ClusterAccess
from deployer.auth._base import Endpoint, State, Token, ca_data, exec_access
from deployer.config.model import ClusterConfig, GcpSpec
from deployer.run import Runner

ENDPOINT_VAR = "DEPLOYER_GKE_ENDPOINT"
SCOPES = ("https://www.googleapis.com/auth/cloud-platform", "https://www.googleapis.com/auth/userinfo.email")
_NO_CREDENTIALS = (
    "no Google credentials found: add a sops-encrypted service account key (gcp.key) to the "
    "cluster, or provide application default credentials (GOOGLE_APPLICATION_CREDENTIALS, "
    "'gcloud auth application-default login', or workload identity federation in CI)"
)


def settings(spec: GcpSpec, env: Mapping[str, str]) -> dict[str, Any]:
    return {
        "project": spec.project,
        "location": spec.location,
        "cluster": spec.cluster,
        "endpoint": env.get(ENDPOINT_VAR) or None,
    }


def access(
    cluster: ClusterConfig, *, root: Path, env: Mapping[str, str], workdir: Path, runner: Runner | None = None
) -> contextlib.AbstractContextManager[ClusterAccess]:
    spec = cluster.spec
    assert isinstance(spec, GcpSpec), cluster.name
    return exec_access(cluster, settings=settings(spec, env), root=root, env=env, workdir=workdir, runner=runner)


# -- in the plugin process ----------------------------------------------------------------------------------------


def describe(state: State) -> tuple[Endpoint, Token]:
    s = state.settings
    credentials, identity = _credentials(state)
    options = {"api_endpoint": s["endpoint"]} if s.get("endpoint") else None
    client = container_v1.ClusterManagerClient(credentials=credentials, transport="rest", client_options=options)
    name = f"projects/{s['project']}/locations/{s['location']}/clusters/{s['cluster']}"
    with _errors(state, identity, f"read GKE cluster '{s['cluster']}'"):
        cluster = client.get_cluster(name=name, timeout=60)
    if not cluster.endpoint or not cluster.master_auth.cluster_ca_certificate:
        raise state.error(
            f"GKE cluster '{s['cluster']}' has no API endpoint yet (status {cluster.status.name}); "
            "wait until it is RUNNING",
            "not-found",
        )
    endpoint = Endpoint(
        server=f"https://{cluster.endpoint}", ca_data=ca_data(cluster.master_auth.cluster_ca_certificate)
    )
    if not credentials.valid:  # the client may have signed its own JWT; kubectl needs an OAuth access token
        with _errors(state, identity, "get an access token"):
            credentials.refresh(Request())
    return endpoint, _token(credentials)


def token(state: State) -> Token:
    credentials, identity = _credentials(state)
    with _errors(state, identity, "get an access token"):
        credentials.refresh(Request())
    return _token(credentials)


def _token(credentials: Any) -> Token:
    expiry = credentials.expiry  # naive UTC datetime
    return Token(credentials.token, float(calendar.timegm(expiry.timetuple())) if expiry else 0.0)


def _credentials(state: State) -> tuple[Any, str]:
    try:
        if state.key_path is not None:
            state.key_data()  # a clear message if the file is gone or not JSON
            credentials, _ = google.auth.load_credentials_from_file(  # type: ignore[no-untyped-call]
                str(state.key_path), scopes=list(SCOPES)
            )
            source = "the cluster's key file"
        else:
            credentials, _ = google.auth.default(scopes=list(SCOPES))
            source = "application default credentials"
    except google.auth.exceptions.DefaultCredentialsError as exc:
        if state.key_path is not None:
            raise state.error(
                f"the key file ({state.key_name}) is not usable Google credentials: {_reason(exc)}", "no-credentials"
            ) from None
        raise state.error(_NO_CREDENTIALS, "no-credentials") from None
    email = getattr(credentials, "service_account_email", None)
    return credentials, f"{email} ({source})" if email and email != "default" else source


@contextlib.contextmanager
def _errors(state: State, identity: str, doing: str) -> Iterator[None]:
    s = state.settings
    where = f"project {s['project']}, location {s['location']}"
    api = s.get("endpoint") or "https://container.googleapis.com"
    try:
        yield
    except google.auth.exceptions.RefreshError as exc:
        raise state.error(
            f"Google rejected the credentials of {identity}: {_first(exc)}; check or replace the key", "rejected"
        ) from None
    except google.auth.exceptions.TransportError as exc:
        raise state.error(
            f"cannot reach Google's token endpoint ({_first(exc)}); check the network or proxy", "unreachable"
        ) from None
    except api_exceptions.NotFound:
        raise state.error(
            f"GKE cluster '{s['cluster']}' not found in {where} (asked as {identity}); check "
            "gcp.project, gcp.location and gcp.cluster",
            "not-found",
        ) from None
    except (api_exceptions.PermissionDenied, api_exceptions.Forbidden) as exc:
        raise state.error(
            f"access denied: {identity} may not {doing} ({where}): {exc.message}; grant it "
            "roles/container.clusterViewer (or a role with container.clusters.get), or use other "
            "credentials",
            "access-denied",
        ) from None
    except (api_exceptions.Unauthenticated, api_exceptions.Unauthorized) as exc:
        raise state.error(f"Google rejected the credentials of {identity}: {exc.message}", "rejected") from None
    except (
        requests.exceptions.ConnectionError,
        requests.exceptions.Timeout,
        api_exceptions.ServiceUnavailable,
        api_exceptions.RetryError,
    ) as exc:
        raise state.error(
            f"cannot reach the GKE API at {api} ({_first(exc)}); check the network or proxy"
            + (f", and {ENDPOINT_VAR}" if s.get("endpoint") else ""),
            "unreachable",
        ) from None
    except api_exceptions.GoogleAPICallError as exc:
        raise state.error(f"the GKE API refused to {doing} ({where}): {exc.message}") from None


def _reason(exc: BaseException) -> str:
    """The innermost reason of a google-auth error (its args may nest the cause), without temporary paths."""
    cause = next((a for a in getattr(exc, "args", ()) if isinstance(a, BaseException)), None) or exc.__cause__
    text = _first(cause) if cause is not None else _first(exc)
    return text.split(" See https://")[0]


def _first(exc: BaseException) -> str:
    text = str(exc.args[0] if exc.args else exc)
    return text.splitlines()[0][:300] if text else type(exc).__name__
