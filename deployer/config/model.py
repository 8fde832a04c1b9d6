"""Frozen models of the fleet's configuration. Constructors do no I/O.

All paths are POSIX strings relative to the config repository root (``config/clusters/c/x.yaml``), so
that the planning rules (``deployer.planning.rules``) can match them against changed paths from git and
messages can name them.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from deployer.errors import UsageError

SUPPORT_RELEASE = "support"
SUPPORT_CHART = "support"


@dataclass(frozen=True)
class GcpSpec:
    project: str
    location: str
    cluster: str
    key: str | None = None


@dataclass(frozen=True)
class AwsSpec:
    account_id: str
    region: str
    cluster: str
    role_arn: str | None = None
    key: str | None = None


@dataclass(frozen=True)
class AzureSpec:
    subscription_id: str
    resource_group: str
    cluster: str
    tenant_id: str | None = None
    key: str | None = None


@dataclass(frozen=True)
class KubeconfigSpec:
    file: str | None = None  # the sops-encrypted kubeconfig (what the cloud providers call ``key``)
    context: str | None = None


ProviderSpec = GcpSpec | AwsSpec | AzureSpec | KubeconfigSpec
SPEC_CLASSES: dict[str, type] = {"gcp": GcpSpec, "aws": AwsSpec, "azure": AzureSpec, "kubeconfig": KubeconfigSpec}


@dataclass(frozen=True)
class SupportConfig:
    values_files: tuple[str, ...]
    chart: str = SUPPORT_CHART
    release: str = SUPPORT_RELEASE


@dataclass(frozen=True)
class HubConfig:
    name: str
    domain: str
    helm_chart: str
    values_files: tuple[str, ...]
    canary: bool = False
    display_name: str | None = None

    @property
    def namespace(self) -> str:
        return self.name

    @property
    def chart_path(self) -> str:
        return f"helm-charts/{self.helm_chart}"


@dataclass(frozen=True)
class ClusterConfig:
    name: str
    provider: str
    spec: ProviderSpec | None
    dir: str
    support: SupportConfig | None = None
    hubs: tuple[HubConfig, ...] = ()

    @property
    def file(self) -> str:
        return f"{self.dir}/cluster.yaml"

    @property
    def key_field(self) -> str:
        """The provider block's field naming its sops-encrypted credentials file: ``file`` for kubeconfig, else
        ``key``."""
        return "file" if isinstance(self.spec, KubeconfigSpec) else "key"

    @property
    def key_file(self) -> str | None:
        """The provider's sops-encrypted credentials file (repo-relative), if any."""
        key = getattr(self.spec, self.key_field, None)
        return f"{self.dir}/{key}" if key else None

    def hub(self, name: str) -> HubConfig | None:
        return next((h for h in self.hubs if h.name == name), None)

    def require_hubs(self, names: Iterable[str]) -> list[HubConfig]:
        """The hubs called ``names``, in that order; any unknown name raises the one "no hub named" ``UsageError``
        (the cluster file, the unknown names, a "did you mean" for near misses, and the cluster's hubs)."""
        names = list(names)
        unknown = [n for n in names if self.hub(n) is None]
        if unknown:
            raise UsageError(no_hub_message(self, unknown))
        return [h for n in names for h in self.hubs if h.name == n]

    @property
    def canaries(self) -> tuple[HubConfig, ...]:
        return tuple(h for h in self.hubs if h.canary)

    @property
    def prod_hubs(self) -> tuple[HubConfig, ...]:
        return tuple(h for h in self.hubs if not h.canary)


def no_hub_message(cluster: ClusterConfig, unknown: Iterable[str]) -> str:
    """``<file>: no hub named 'x' in cluster 'c' (did you mean 'y'?); its hubs: a, b``."""
    known = [h.name for h in cluster.hubs]
    parts = []
    for name in unknown:
        close = difflib.get_close_matches(name, known, n=1)
        parts.append(f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name))
    return (
        f"{cluster.file}: no hub named {', '.join(parts)} in cluster '{cluster.name}'; "
        f"its hubs: {', '.join(known) or '(none)'}"
    )


@dataclass(frozen=True)
class Fleet:
    root: Path
    clusters: tuple[ClusterConfig, ...] = field(default=())

    def cluster(self, name: str) -> ClusterConfig | None:
        return next((c for c in self.clusters if c.name == name), None)
