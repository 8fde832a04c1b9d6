"""Kubeconfig files pointing real kubectl/helm at the stand-in.

Contract: ``kubeconfig_dict(url, ca_pem, context=..., token=...)`` builds a self-contained kubeconfig (CA embedded as
``certificate-authority-data``; a static bearer token when given, else the client certificate when given, since
kubectl prompts for a username and password when a user entry holds no credentials at all);
``write_kubeconfig(path, ...)`` writes it as YAML with mode 0600 and returns the path. The cluster and user entries
are named after the context, so several stand-ins can be merged into one file without clashes.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any


def kubeconfig_dict(
    url: str,
    ca_pem: bytes,
    *,
    context: str = "deployer-local",
    token: str | None = None,
    namespace: str | None = None,
    client_cert_pem: bytes | None = None,
    client_key_pem: bytes | None = None,
) -> dict[str, Any]:
    user: dict[str, Any] = {}
    if token is not None:
        user["token"] = token
    elif client_cert_pem and client_key_pem:
        user["client-certificate-data"] = base64.b64encode(client_cert_pem).decode("ascii")
        user["client-key-data"] = base64.b64encode(client_key_pem).decode("ascii")
    context_body: dict[str, Any] = {"cluster": context, "user": context}
    if namespace:
        context_body["namespace"] = namespace
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": context,
                "cluster": {
                    "server": url,
                    "certificate-authority-data": base64.b64encode(ca_pem).decode("ascii"),
                },
            }
        ],
        "users": [{"name": context, "user": user}],
        "contexts": [{"name": context, "context": context_body}],
        "current-context": context,
        "preferences": {},
    }


def write_kubeconfig(path: str | os.PathLike[str], config: dict[str, Any]) -> Path:
    from deployer import yamlio
    from deployer.private import write_private

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_private(path, yamlio.dumps(config))
