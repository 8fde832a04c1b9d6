"""Which hub to check and with which token: ``hub_target(cluster, hub, ...) -> HubTarget``.

- URL: ``--url``, else ``https://<domain>/`` of the hub in the cluster's config.
- Token: ``--token`` (or ``JUPYTERHUB_API_TOKEN``, resolved by the CLI), else the ``deployer-health-check``
  service token that basehub registers, read from the Secret ``hub`` of the hub's namespace (key
  ``hub.services.deployer-health-check.apiToken``) through the cluster provider's credentials, with the Kubernetes
  API client of ``deployer.kube``. With both given, no config and no cluster access are needed: any hub can be
  checked, and the cluster and hub names are optional (they only label the report; ``label`` is then the URL).
  Otherwise both names are required (``UsageError``, exit 2).
- Dask: ``dask`` is true when the hub's chart brings a Dask Gateway (daskhub); a hub checked directly (``--url``
  and ``--token``) is not looked up, so there it is false (the CLI's ``--dask`` turns the Dask steps on).

The Secret's content is never logged or put into an error. Errors say what to do: no Secret (or no key) -> the hub
is not deployed (exit 2); credentials refused -> exit 2; the cluster cannot be reached -> exit 1.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from deployer.errors import UsageError

if TYPE_CHECKING:
    from deployer.config.model import ClusterConfig, HubConfig
    from deployer.run import Runner

SECRET_NAME = "hub"
SECRET_KEY = "hub.services.deployer-health-check.apiToken"


@dataclass(frozen=True)
class HubTarget:
    cluster: str
    hub: str
    url: str
    token: str = field(repr=False)
    dask: bool = False  # the hub's chart brings a Dask Gateway (``deployer.health.dask.chart_has_dask``)

    @property
    def label(self) -> str:
        """``cluster/hub`` in messages; the URL for a hub checked directly without names."""
        return f"{self.cluster}/{self.hub}" if self.cluster and self.hub else f"the hub at {self.url}"


def hub_target(
    cluster_name: str | None,
    hub_name: str | None,
    *,
    root: Path | None,
    env: Mapping[str, str],
    url: str | None = None,
    token: str | None = None,
    runner: Runner | None = None,
) -> HubTarget:
    """Resolve the URL and token of ``cluster_name``/``hub_name``. ``root`` and the names may be None when both
    ``url`` and ``token`` are given."""
    if url and token:
        return HubTarget(cluster_name or "", hub_name or "", url, token)
    if not cluster_name or not hub_name:
        raise UsageError(
            "health-check needs CLUSTER and HUB (deployer health-check CLUSTER HUB), or --url URL and --token TOKEN "
            "(or JUPYTERHUB_API_TOKEN) to check any hub directly"
        )
    if root is None:
        raise UsageError("the config repository is needed to find the hub's URL or token")
    from deployer.config.load import load_cluster
    from deployer.health.dask import chart_has_dask

    cluster = load_cluster(root, cluster_name)
    [hub] = cluster.require_hubs([hub_name])
    return HubTarget(
        cluster.name,
        hub.name,
        url or f"https://{hub.domain}/",
        token or read_token(cluster, hub, root=root, env=env, runner=runner),
        dask=chart_has_dask(root / "helm-charts" / hub.helm_chart),
    )


def read_token(
    cluster: ClusterConfig, hub: HubConfig, *, root: Path, env: Mapping[str, str], runner: Runner | None = None
) -> str:
    """The health-check service token from the hub's Secret, read through the cluster's access."""
    from deployer.auth import cluster_access
    from deployer.kube import api_client, secret_data
    from deployer.private import private_dir
    from deployer.run import Runner

    where = f"Secret '{SECRET_NAME}' in namespace '{hub.namespace}' of cluster '{cluster.name}'"
    runner = runner or Runner()
    with (
        private_dir() as workdir,
        cluster_access(cluster, root=root, env=env, workdir=workdir, runner=runner) as access,
        api_client(access, env=env, workdir=workdir, runner=runner) as api,
    ):
        data = secret_data(api, hub.namespace, SECRET_NAME, doing=f"read the {where}")
    if data is None:
        raise UsageError(
            f"{where} does not exist: deploy the hub first (deployer deploy {cluster.name} {hub.name}), or pass --token"
        )
    if SECRET_KEY not in data:
        raise UsageError(
            f"{where} has no key '{SECRET_KEY}': the hub's chart must register the JupyterHub "
            "service deployer-health-check (basehub does), or pass --token"
        )
    try:
        token = base64.b64decode(data[SECRET_KEY], validate=True).decode().strip()
    except (binascii.Error, UnicodeDecodeError, TypeError):
        raise UsageError(f"{where}: key '{SECRET_KEY}' is not valid base64 text") from None
    if not token:
        raise UsageError(f"{where}: key '{SECRET_KEY}' is empty")
    return token
