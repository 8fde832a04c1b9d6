"""What a deploy of one cluster does, in order: the releases ordered from the loaded config, pure (no I/O).

``order_releases(cluster, hubs=(), support=None) -> ReleaseOrder``:

- ``hubs=None``: the cluster's support release (when configured, unless ``support=False``) and all its hubs;
- a list of ``hubs``: only those (support only with ``support=True``; ``()`` with ``support=True`` is support
  alone); an unknown name raises ``ClusterConfig.require_hubs``'s ``UsageError``;
- ``ReleaseOrder.support``, ``.canaries``, ``.prod`` (``.jobs``: all, in that order): support first, then the
  canary hubs one by one in the order of ``cluster.yaml``, then the prod hubs (which the deploy runs in
  parallel). If support or a canary fails, every later job is skipped.

Not to be confused with ``deployer.planning`` (CI: which legs a change deploys across the fleet).

A ``Job`` is one helm release: name, kind (``support``/``hub``), chart folder, namespace and values files, all
repository-relative POSIX paths; a hub's job also carries its ``HubFacts`` (``deployer.hubfacts``), from which the
deploy generates the values file it passes first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from deployer.config.model import ClusterConfig
from deployer.errors import UsageError
from deployer.hubfacts import HubFacts
from deployer.secret_files import is_secret_file

SUPPORT = "support"
HUB = "hub"


@dataclass(frozen=True)
class Job:
    release: str
    kind: str  # "support" | "hub"
    chart_path: str  # helm-charts/<chart>, a folder (HubConfig.helm_chart is the chart's name)
    namespace: str
    values_files: tuple[str, ...]
    canary: bool = False
    facts: HubFacts | None = None  # a hub's cluster.yaml entry, for its generated values file (None: support)

    @property
    def secret_files(self) -> tuple[str, ...]:
        return tuple(f for f in self.values_files if is_secret_file(f))


@dataclass(frozen=True)
class ReleaseOrder:
    cluster: ClusterConfig
    support: Job | None
    canaries: tuple[Job, ...]
    prod: tuple[Job, ...]

    @property
    def jobs(self) -> tuple[Job, ...]:
        return (*((self.support,) if self.support else ()), *self.canaries, *self.prod)

    @property
    def hub_names(self) -> tuple[str, ...]:
        return tuple(j.release for j in (*self.canaries, *self.prod))

    def charts(self) -> list[str]:
        """Chart folders in the order their jobs run, each once."""
        seen: list[str] = []
        for job in self.jobs:
            if job.chart_path not in seen:
                seen.append(job.chart_path)
        return seen


def support_job(cluster: ClusterConfig) -> Job | None:
    if cluster.support is None:
        return None
    s = cluster.support
    return Job(
        release=s.release,
        kind=SUPPORT,
        chart_path=f"helm-charts/{s.chart}",
        namespace=s.release,
        values_files=tuple(s.values_files),
    )


def order_releases(
    cluster: ClusterConfig, hubs: Sequence[str] | None = None, *, support: bool | None = None
) -> ReleaseOrder:
    """``hubs=None``: every hub (and support, unless ``support=False``); a sequence: only those hubs (support
    only with ``support=True``), so ``hubs=(), support=True`` plans the support release alone."""
    names = None if hubs is None else tuple(hubs)
    cluster.require_hubs(names or ())
    if support and cluster.support is None:
        raise UsageError(f"{cluster.file}: cluster '{cluster.name}' has no support chart configured")
    want_support = (names is None) if support is None else support
    selected = [h for h in cluster.hubs if names is None or h.name in names]
    jobs = [
        Job(
            release=h.name,
            kind=HUB,
            chart_path=h.chart_path,
            namespace=h.namespace,
            values_files=tuple(h.values_files),
            canary=h.canary,
            facts=HubFacts.of(cluster, h),
        )
        for h in selected
    ]
    return ReleaseOrder(
        cluster=cluster,
        support=support_job(cluster) if want_support else None,
        canaries=tuple(j for j in jobs if j.canary),
        prod=tuple(j for j in jobs if not j.canary),
    )
