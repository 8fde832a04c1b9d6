"""Kubeconfig files pointing real kubectl/helm at the stand-in.

Contract: ``kubeconfig_dict(url, ca_pem, context=..., token=...)`` builds a self-contained kubeconfig (CA embedded as
``certificate-authority-data``; a static bearer token when given, else a placeholder user without credentials);
``write_kubeconfig(path, ...)`` writes it as YAML with mode 0600 and returns the path. The cluster and user entries
are named after the context, so several stand-ins can be merged into one file without clashes.
"""

from __future__ import annotations

import base64
import io
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
) -> dict[str, Any]:
    user: dict[str, Any] = {"token": token} if token is not None else {}
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
    from ruamel.yaml import YAML

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.dump(config, buffer)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(buffer.getvalue())
    return path
