"""Which hub to check and with which token: ``hub_target(cluster, hub, ...) -> HubTarget``.

- URL: ``--url``, else ``https://<domain>/`` of the hub in the cluster's config.
- Token: ``--token`` (or ``JUPYTERHUB_API_TOKEN``, resolved by the CLI), else the ``deployer-health-check``
  service token that basehub registers, read from the Secret ``hub`` of the hub's namespace (key
  ``hub.services.deployer-health-check.apiToken``) with kubectl through the cluster provider's credentials.
  With both given, no config and no cluster access are needed: any hub can be checked.

kubectl runs with an explicit ``env=`` (never the process environment changed), ``--kubeconfig``/``--context``
from the ``ClusterAccess``; its output (the Secret) is never logged or put into an error.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

from deployer.errors import CommandError, UsageError

if TYPE_CHECKING:
    from deployer.config.model import ClusterConfig, HubConfig

SECRET_NAME = "hub"
SECRET_KEY = "hub.services.deployer-health-check.apiToken"
KUBECTL_TIMEOUT = 60.0


@dataclass(frozen=True)
class HubTarget:
    cluster: str
    hub: str
    url: str
    token: str = field(repr=False)


def hub_target(cluster_name: str, hub_name: str, *, root: Path | None, env: Mapping[str, str],
               url: str | None = None, token: str | None = None) -> HubTarget:
    """Resolve the URL and token of ``cluster_name``/``hub_name``. ``root`` may be None when both are given."""
    if url and token:
        return HubTarget(cluster_name, hub_name, url, token)
    if root is None:
        raise UsageError("the config repository is needed to find the hub's URL or token")
    from deployer.config.load import load_cluster

    cluster = load_cluster(root, cluster_name)
    hub = cluster.hub(hub_name)
    if hub is None:
        known = ", ".join(h.name for h in cluster.hubs) or "none"
        raise UsageError(f"cluster '{cluster_name}' has no hub '{hub_name}' (its hubs: {known})")
    return HubTarget(cluster.name, hub.name, url or f"https://{hub.domain}/",
                     token or read_token(cluster, hub, root=root, env=env))


def kubectl_get_secret_args(kubectl: str, kubeconfig: Path | None, context: str | None, namespace: str) -> list[str]:
    argv = [kubectl]
    if kubeconfig is not None:
        argv += ["--kubeconfig", str(kubeconfig)]
    if context:
        argv += ["--context", context]
    return argv + ["--namespace", namespace, "get", "secret", SECRET_NAME, "--output", "json"]


def read_token(cluster: "ClusterConfig", hub: "HubConfig", *, root: Path, env: Mapping[str, str]) -> str:
    """The health-check service token from the hub's Secret, read with kubectl through the cluster's access."""
    from deployer.auth import cluster_access
    from deployer.run import Runner
    from deployer.secrets import private_dir
    from deployer.tools import find_tool

    kubectl = find_tool("kubectl", root, env)
    where = f"Secret '{SECRET_NAME}' in namespace '{hub.namespace}' of cluster '{cluster.name}'"
    with private_dir() as workdir, cluster_access(cluster, root=root, env=env, workdir=workdir) as access:
        argv = kubectl_get_secret_args(kubectl, access.kubeconfig, access.context, hub.namespace)
        proc = Runner().run(argv, env=access.child_env(env), timeout=KUBECTL_TIMEOUT, check=False)
    if proc.returncode != 0:
        if "NotFound" in proc.stderr:
            raise UsageError(f"{where} does not exist: is the hub deployed? (or pass --token)")
        raise CommandError(argv, proc.returncode, proc.stderr)
    try:
        data = (json.loads(proc.stdout).get("data") or {})
    except (ValueError, AttributeError):
        raise UsageError(f"{where}: kubectl gave no JSON object") from None
    if SECRET_KEY not in data:
        raise UsageError(f"{where} has no key '{SECRET_KEY}': the hub's chart must register the JupyterHub "
                         "service deployer-health-check (basehub does), or pass --token")
    try:
        token = base64.b64decode(data[SECRET_KEY], validate=True).decode().strip()
    except (binascii.Error, UnicodeDecodeError, TypeError):
        raise UsageError(f"{where}: key '{SECRET_KEY}' is not valid base64 text") from None
    if not token:
        raise UsageError(f"{where}: key '{SECRET_KEY}' is empty")
    return token
