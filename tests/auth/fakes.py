"""Small local HTTPS fakes of the cloud APIs the providers call, for the real SDKs to talk to (tests only).

- ``GoogleFake``: Google's OAuth token endpoint (the JWT-bearer grant of service account keys; the JWT's signature
  and scopes are checked) and the Kubernetes Engine REST API's ``GET /v1/projects/P/locations/L/clusters/C``.
- ``AzureFake``: a Microsoft Entra authority (OpenID configuration and the client-credentials token endpoint) and
  Azure Resource Manager's ``POST .../managedClusters/C/listClusterUserCredential``.

Both serve TLS on 127.0.0.1 with a CA made at start (``ca_pem``), record what they issued and saw, and answer errors
in the shapes the real services use, so the SDKs raise their real exception types. Clusters they describe point at
the local Kubernetes API stand-in. AWS needs no fake: moto's server does that part.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from deployer.testing.kubeapi.tls import make_tls_material

AKS_SCOPE = "6dae42f8-4368-4678-94ff-3960e28e3630/.default"
GKE_SCOPES = {"https://www.googleapis.com/auth/cloud-platform", "https://www.googleapis.com/auth/userinfo.email"}

Reply = tuple[int, Any]


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class HTTPSFake:
    """A JSON-over-HTTPS server on 127.0.0.1 whose ``handle(method, path, headers, body) -> (status, payload)``."""

    def __init__(self, name: str) -> None:
        self.tls = make_tls_material(name)
        self.requests: list[tuple[str, str]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fake.requests.append((self.command, self.path))
                status, payload = fake.handle(self.command, self.path, self.headers, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _any

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.socket = self.tls.server_context().wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def ca_pem(self) -> bytes:
        return self.tls.ca_pem

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> HTTPSFake:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> Reply:  # pragma: no cover - overridden
        raise NotImplementedError


def bearer(headers: Any) -> str | None:
    value = headers.get("Authorization") or ""
    return value[7:].strip() if value[:7].lower() == "bearer " else None


def aks_kubeconfig(server_url: str, ca_pem: bytes) -> bytes:
    """What AKS's listClusterUserCredential hands out (format "exec": a kubelogin user the deployer never uses)."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "demo-aks",
        "clusters": [
            {
                "name": "demo-aks",
                "cluster": {"server": server_url, "certificate-authority-data": base64.b64encode(ca_pem).decode()},
            }
        ],
        "contexts": [{"name": "demo-aks", "context": {"cluster": "demo-aks", "user": "clusterUser_demo-rg_demo-aks"}}],
        "users": [
            {
                "name": "clusterUser_demo-rg_demo-aks",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "kubelogin",
                        "args": ["get-token", "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630"],
                    }
                },
            }
        ],
    }
    return json.dumps(config).encode()


# -- Google ---------------------------------------------------------------------------------------------------------


@dataclass
class GkeCluster:
    endpoint: str  # host:port, as GKE gives it
    ca_pem: bytes


@dataclass
class GoogleFake(HTTPSFake):
    """OAuth token endpoint + Kubernetes Engine API. Register service accounts (email -> public key PEM)."""

    accounts: dict[str, bytes] = field(default_factory=dict)
    clusters: dict[str, GkeCluster] = field(default_factory=dict)  # "projects/P/locations/L/clusters/C" -> cluster
    denied: set[str] = field(default_factory=set)  # emails that get 403 from the GKE API
    expires_in: int = 3600
    issued: dict[str, str] = field(default_factory=dict)  # token -> email
    scopes_seen: list[set[str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        HTTPSFake.__init__(self, "fake-google")
        self.lock = threading.Lock()

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> Reply:
        url = urllib.parse.urlsplit(path)
        if method == "POST" and url.path == "/token":
            return self._token(dict(urllib.parse.parse_qsl(body.decode())))
        if method == "GET" and url.path.startswith("/v1/projects/"):
            return self._get_cluster(url.path[len("/v1/") :], bearer(headers))
        return 404, {"error": {"code": 404, "message": f"no route {path}", "status": "NOT_FOUND"}}

    def _token(self, form: dict[str, str]) -> Reply:
        import google.auth.jwt

        assertion = form.get("assertion", "")
        try:
            claims = google.auth.jwt.decode(assertion, verify=False)
            public = self.accounts[claims["iss"]]
            claims = google.auth.jwt.decode(
                assertion, certs=public.decode(), audience=[self.token_uri, "https://oauth2.googleapis.com/token"]
            )
        except Exception as exc:  # what Google says about a key it does not know
            return 400, {"error": "invalid_grant", "error_description": f"Invalid JWT Signature. ({exc})"}
        scopes = set(claims.get("scope", "").split())
        with self.lock:
            self.scopes_seen.append(scopes)
            token = f"gke-fake-{secrets.token_hex(8)}"
            self.issued[token] = claims["iss"]
        return 200, {"access_token": token, "expires_in": self.expires_in, "token_type": "Bearer"}

    def _self_signed(self, token: str) -> str | None:
        """The email of a service account whose self-signed JWT ``token`` is (the Google client libraries send
        those instead of OAuth tokens for service account keys), if its signature checks out."""
        import google.auth.jwt

        try:
            claims = google.auth.jwt.decode(token, verify=False)
            public = self.accounts[claims["iss"]]
            google.auth.jwt.decode(token, certs=public.decode(), audience=claims.get("aud"))
        except Exception:
            return None
        self.scopes_seen.append(set(claims.get("scope", "").split()))
        return claims["iss"]

    def _get_cluster(self, name: str, token: str | None) -> Reply:
        email = self.issued.get(token or "") or (self._self_signed(token) if token and token.count(".") == 2 else None)
        if email is None:
            return 401, {
                "error": {
                    "code": 401,
                    "message": "Request had invalid authentication credentials.",
                    "status": "UNAUTHENTICATED",
                }
            }
        if email in self.denied:
            return 403, {
                "error": {
                    "code": 403,
                    "status": "PERMISSION_DENIED",
                    "message": f'Required "container.clusters.get" permission(s) for "{name}".',
                }
            }
        cluster = self.clusters.get(name)
        if cluster is None:
            return 404, {"error": {"code": 404, "status": "NOT_FOUND", "message": f"Not found: {name}."}}
        return 200, {
            "name": name.rsplit("/", 1)[-1],
            "endpoint": cluster.endpoint,
            "status": "RUNNING",
            "masterAuth": {"clusterCaCertificate": base64.b64encode(cluster.ca_pem).decode()},
        }


# -- Azure ----------------------------------------------------------------------------------------------------------


@dataclass
class AzureFake(HTTPSFake):
    """Entra authority + ARM. Register service principals (client_id -> secret) and clusters."""

    principals: dict[str, str] = field(default_factory=dict)
    clusters: dict[tuple[str, str, str], bytes] = field(default_factory=dict)  # (sub, rg, name) -> kubeconfig
    denied: set[str] = field(default_factory=set)  # client ids that get 403 from ARM
    expires_in: int = 3600
    issued: dict[str, tuple[str, str]] = field(default_factory=dict)  # token -> (client_id, scope)
    on_token: Callable[[str, str], None] | None = None

    def __post_init__(self) -> None:
        HTTPSFake.__init__(self, "fake-azure")
        self.lock = threading.Lock()

    def aks_tokens(self) -> set[str]:
        return {t for t, (_, scope) in self.issued.items() if scope == AKS_SCOPE}

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> Reply:
        url = urllib.parse.urlsplit(path)
        parts = url.path.strip("/").split("/")
        if method == "GET" and url.path.endswith("/v2.0/.well-known/openid-configuration"):
            tenant = parts[0]
            base = f"{self.url}/{tenant}"
            return 200, {
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "issuer": f"{self.url}/{tenant}/v2.0",
                "tenant_region_scope": "EU",
            }
        if method == "POST" and url.path.endswith("/oauth2/v2.0/token"):
            return self._token(dict(urllib.parse.parse_qsl(body.decode())))
        if method == "POST" and url.path.endswith("/listClusterUserCredential"):
            return self._credentials(parts, bearer(headers))
        return 404, {"error": {"code": "NotFound", "message": f"no route {path}"}}

    def _token(self, form: dict[str, str]) -> Reply:
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if self.principals.get(client_id) != secret or not secret:
            return 401, {
                "error": "invalid_client",
                "error_codes": [7000215],
                "error_description": "AADSTS7000215: Invalid client secret provided.",
            }
        scope = form.get("scope", "").replace(" offline_access", "").replace(" openid", "").replace(" profile", "")
        scope = scope.strip()
        with self.lock:
            token = ("aks-fake-" if scope == AKS_SCOPE else "arm-fake-") + secrets.token_hex(8)
            self.issued[token] = (client_id, scope)
        return 200, {
            "access_token": token,
            "expires_in": self.expires_in,
            "ext_expires_in": self.expires_in,
            "token_type": "Bearer",
        }

    def _credentials(self, parts: list[str], token: str | None) -> Reply:
        who = self.issued.get(token or "")
        if who is None or who[1] != "https://management.azure.com/.default":
            return 401, {"error": {"code": "InvalidAuthenticationToken", "message": "The access token is invalid."}}
        # subscriptions/S/resourceGroups/RG/providers/Microsoft.ContainerService/managedClusters/C/listCluster...
        sub, rg, name = parts[1], parts[3], parts[7]
        if who[0] in self.denied:
            return 403, {
                "error": {
                    "code": "AuthorizationFailed",
                    "message": (
                        f"The client '{who[0]}' with object id '{who[0]}' does not have authorization to perform "
                        "action 'Microsoft.ContainerService/managedClusters/listClusterUserCredential/action' over "
                        "scope "
                        f"'/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerService/managedClusters/"
                        f"{name}' or the scope is invalid."
                    ),
                }
            }
        if not any(s == sub and r == rg for s, r, _ in self.clusters):
            return 404, {
                "error": {"code": "ResourceGroupNotFound", "message": f"Resource group '{rg}' could not be found."}
            }
        kubeconfig = self.clusters.get((sub, rg, name))
        if kubeconfig is None:
            return 404, {
                "error": {
                    "code": "ResourceNotFound",
                    "message": f"The Resource "
                    f"'Microsoft.ContainerService/managedClusters/{name}' under resource group '{rg}' "
                    "was not found.",
                }
            }
        return 200, {"kubeconfigs": [{"name": "clusterUser", "value": base64.b64encode(kubeconfig).decode()}]}


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()
