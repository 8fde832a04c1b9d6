"""Frozen models of the fleet's configuration. Constructors do no I/O.

All paths are POSIX strings relative to the config repository root (``config/clusters/c/x.yaml``), so
that the plan module can match them against changed paths from git and messages can name them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

PROVIDERS = ("gcp", "aws", "azure", "kubeconfig")
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
    file: str | None = None
    context: str | None = None

    @property
    def key(self) -> str | None:
        return self.file


ProviderSpec = Union[GcpSpec, AwsSpec, AzureSpec, KubeconfigSpec]
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
    def key_file(self) -> str | None:
        """The provider's sops-encrypted credentials file (repo-relative), if any."""
        key = getattr(self.spec, "key", None)
        return f"{self.dir}/{key}" if key else None

    def hub(self, name: str) -> HubConfig | None:
        return next((h for h in self.hubs if h.name == name), None)

    @property
    def canaries(self) -> tuple[HubConfig, ...]:
        return tuple(h for h in self.hubs if h.canary)

    @property
    def prod_hubs(self) -> tuple[HubConfig, ...]:
        return tuple(h for h in self.hubs if not h.canary)


@dataclass(frozen=True)
class Fleet:
    root: Path
    clusters: tuple[ClusterConfig, ...] = field(default=())

    def cluster(self, name: str) -> ClusterConfig | None:
        return next((c for c in self.clusters if c.name == name), None)
