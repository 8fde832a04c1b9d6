"""Reaching a cluster: one module per provider behind one interface.

A provider module (``deployer.auth.<provider>``) has one function::

    def access(cluster: ClusterConfig, *, root: Path, env: Mapping[str, str], workdir: Path,
               runner: Runner | None = None) -> AbstractContextManager[ClusterAccess]

It yields a ``ClusterAccess`` for the cluster and cleans up (temporary kubeconfigs, decrypted keys) on every
exit path. ``workdir`` is a private (0700) folder the caller owns; ``runner`` runs its subprocesses (sops, the
credentials helper), so that they are logged and cancelled with the caller's other commands. Nothing global
changes: the kubeconfig reaches helm and kubectl through ``ClusterAccess.env`` and explicit flags only.

``cluster_access(...)`` is the only dispatch point to the provider modules (``manual_access``, below, the only one
to their by-hand counterparts); both refuse an unknown provider with the same message. Provider modules are
imported lazily, so their SDKs load only when that provider is used (a missing SDK: a message naming the extra,
``pip install 'deployer[gcp]'``, exit 2).

Providers: ``kubeconfig`` (a sops-encrypted or the ambient kubeconfig), and ``gcp``, ``aws``, ``azure``, which share
``deployer.auth._base``: a private kubeconfig whose user is an exec credential plugin calling back into the
deployer (``deployer.auth.plugin``), so helm and kubectl renew their token whenever it expires.
``manual_access(cluster)`` dispatches the same way to ``deployer.auth.manual.<provider>``: the commands that reach
the cluster by hand (``deploy --dry-run``), which import no SDK.
``deployer.auth.shell`` runs a command (or a shell) with a cluster's kubeconfig (``use-cluster-credentials``).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from deployer.errors import UsageError

if TYPE_CHECKING:
    from deployer.auth.manual import ManualAccess
    from deployer.config.model import ClusterConfig
    from deployer.run import Runner


@dataclass(frozen=True)
class ClusterAccess:
    """How child processes reach one cluster."""

    kubeconfig: Path | None  # None: the ambient kubeconfig (KUBECONFIG of the environment, or ~/.kube/config)
    context: str | None = None  # None: the kubeconfig's current context
    env: Mapping[str, str] = field(default_factory=dict)  # extra variables for child processes only

    def child_env(self, base_env: Mapping[str, str]) -> dict[str, str]:
        """The environment for a helm/kubectl child process."""
        env = {**base_env, **self.env}
        if self.kubeconfig is not None:
            env["KUBECONFIG"] = str(self.kubeconfig)
        return env


class Provider(Protocol):
    def access(
        self,
        cluster: ClusterConfig,
        *,
        root: Path,
        env: Mapping[str, str],
        workdir: Path,
        runner: Runner | None = None,
    ) -> AbstractContextManager[ClusterAccess]: ...


# provider name -> (module, the pip extra that brings its SDK, or None)
PROVIDERS: dict[str, tuple[str, str | None]] = {
    "kubeconfig": ("deployer.auth.kubeconfig", None),
    "gcp": ("deployer.auth.gcp", "gcp"),
    "aws": ("deployer.auth.aws", "aws"),
    "azure": ("deployer.auth.azure", "azure"),
}
# provider name -> the module saying how a person reaches its clusters by hand (``deploy --dry-run``); no SDK import
MANUAL: dict[str, str] = {name: f"deployer.auth.manual.{name}" for name in PROVIDERS}


def _supported(name: str) -> str:
    """``name`` if it is a provider of this version (a key of ``PROVIDERS`` and ``MANUAL``), else a ``UsageError``."""
    if name not in PROVIDERS:
        raise UsageError(f"provider '{name}' is not supported by this version of the deployer")
    return name


def provider_for(name: str) -> Provider:
    module, extra = PROVIDERS[_supported(name)]
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if extra is None or (exc.name or "").startswith("deployer"):
            raise
        raise UsageError(
            f"provider '{name}' needs the Python SDK that comes with the extra: pip install 'deployer[{extra}]' "
            f"({exc.name} is missing)"
        ) from None


def cluster_access(
    cluster: ClusterConfig, *, root: Path, env: Mapping[str, str], workdir: Path, runner: Runner | None = None
) -> AbstractContextManager[ClusterAccess]:
    """A context manager yielding the ``ClusterAccess`` for ``cluster`` (subprocesses through ``runner``)."""
    return provider_for(cluster.provider).access(cluster, root=root, env=env, workdir=workdir, runner=runner)


def manual_access(cluster: ClusterConfig) -> ManualAccess:
    """The bash lines that reach ``cluster`` by hand and the flags helm then needs (``deployer.auth.manual``)."""
    return importlib.import_module(MANUAL[_supported(cluster.provider)]).manual_access(cluster)  # type: ignore[no-any-return]
