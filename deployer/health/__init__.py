"""The post-deploy health check of a JupyterHub: can a user really get a server and run code on it?

Public API::

    from deployer.health import check_hub, hub_target
    target = hub_target("c1", "staging", root=root, env=os.environ)          # URL + token (config, Secret)
    report = check_hub(target.url, target.token, cluster="c1", hub="staging", attempts=2, timeout=600,
                       dask=target.dask)                                       # Dask steps for a daskhub
    report.healthy, report.failed_step, report.to_dict()                       # -> JSON for the workflow

Layout: ``client.py`` (HTTP on the standard library) and ``websocket.py`` (the kernel channels); ``base.py``
(the ``Step`` protocol and the per-attempt ``CheckContext``); one module per concern for the steps:
``hub_api.py`` (hub-api), ``users.py`` (user, remove-user), ``servers.py`` (spawn, stop), ``proxy.py``
(proxy), ``kernel.py`` (kernel), ``dask.py`` (dask-cluster, dask-compute, dask-shutdown: daskhubs only);
``check.py`` runs them; ``report.py`` holds the results; ``target.py``
finds the URL and the token. Nothing here prints or exits; no module imports click.
"""

from __future__ import annotations

from deployer.health.base import DEFAULT_USER, CheckContext, Step, StepFailed, TokenRefused
from deployer.health.check import STEPS, check_hub
from deployer.health.report import AttemptResult, HealthReport, StepResult
from deployer.health.target import HubTarget, hub_target

__all__ = [
    "DEFAULT_USER",
    "STEPS",
    "AttemptResult",
    "CheckContext",
    "HealthReport",
    "HubTarget",
    "Step",
    "StepFailed",
    "StepResult",
    "TokenRefused",
    "check_hub",
    "hub_target",
]
