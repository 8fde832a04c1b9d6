"""``deployer orphans``: the helm releases and namespaces in a cluster that its configuration no longer knows.

``find_orphans(cluster, releases, namespaces) -> ClusterOrphans`` is the decision, pure:

- an orphaned release is one whose (name, namespace) is neither a hub of the cluster's ``cluster.yaml`` (release
  and namespace: the hub's name) nor its support release; releases in system namespaces (``kube-*``,
  ``default``: see ``live.SYSTEM_NAMESPACES``) are never listed;
- an orphaned namespace is one the deployer's helm runs made for a release it no longer knows: a namespace that
  holds helm release records (``owner=helm``) of orphaned releases only, is not a hub's or support's namespace
  and is not a system namespace. A namespace left behind after its release was uninstalled holds no record and
  is not listed (``deployer remove CLUSTER HUB`` still removes it by name).

``list_orphans(root, clusters, env=...)`` reads each cluster through its access (read-only, no deploy lock).
Listing orphans is not a failure: ``deployer orphans`` exits 0 whatever it finds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deployer.fleet.live import HelmRelease, helm_releases, is_system_namespace, namespace_names

if TYPE_CHECKING:
    from deployer.config.model import ClusterConfig
    from deployer.run import Runner


@dataclass(frozen=True)
class ClusterOrphans:
    cluster: str
    releases: tuple[HelmRelease, ...]
    namespaces: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "releases": [r.to_json() for r in self.releases],
            "namespaces": list(self.namespaces),
        }

    def lines(self) -> list[str]:
        """For a person: what is orphaned and the command that removes it."""
        if not self.releases and not self.namespaces:
            return [f"cluster {self.cluster}: no orphaned releases or namespaces"]
        out = [
            f"cluster {self.cluster}: {len(self.releases)} orphaned release(s), {len(self.namespaces)} orphaned "
            "namespace(s) (not in its cluster.yaml):"
        ]
        out += [f"  {r.describe()}" for r in self.releases]
        out += [f"  namespace {n}" for n in self.namespaces]
        names = sorted({r.name for r in self.releases if r.name == r.namespace} | set(self.namespaces))
        out += [f"  remove with: deployer remove {self.cluster} {name}" for name in names]
        return out


def known_releases(cluster: ClusterConfig) -> frozenset[tuple[str, str]]:
    """The (release, namespace) pairs ``cluster.yaml`` deploys."""
    pairs = {(h.name, h.namespace) for h in cluster.hubs}
    if cluster.support is not None:
        pairs.add((cluster.support.release, cluster.support.release))
    return frozenset(pairs)


def find_orphans(cluster: ClusterConfig, releases: Iterable[HelmRelease], namespaces: Iterable[str]) -> ClusterOrphans:
    known = known_releases(cluster)
    known_namespaces = {namespace for _, namespace in known}
    live = [r for r in releases if not is_system_namespace(r.namespace)]
    orphaned = tuple(
        sorted((r for r in live if (r.name, r.namespace) not in known), key=lambda r: (r.namespace, r.name))
    )
    holding_known = {r.namespace for r in live if (r.name, r.namespace) in known}
    existing = set(namespaces)
    orphaned_namespaces = sorted(
        {r.namespace for r in orphaned} & existing - holding_known - known_namespaces,
    )
    return ClusterOrphans(cluster.name, orphaned, tuple(orphaned_namespaces))


def list_orphans(
    root: Path, clusters: Sequence[str] | None, *, env: Mapping[str, str], runner: Runner | None = None
) -> list[ClusterOrphans]:
    """The orphans of each of ``clusters`` (None: every cluster of the fleet), in that order."""
    from deployer.config.load import load_fleet

    fleet = load_fleet(root, clusters)
    return [_cluster_orphans(root, cluster, env=env, runner=runner) for cluster in fleet.clusters]


def _cluster_orphans(
    root: Path, cluster: ClusterConfig, *, env: Mapping[str, str], runner: Runner | None
) -> ClusterOrphans:
    from deployer.auth import cluster_access
    from deployer.kube import api_client
    from deployer.private import private_dir
    from deployer.run import Runner

    runner = runner or Runner()
    doing = f"list the helm releases and namespaces of cluster '{cluster.name}'"
    with (
        private_dir() as workdir,
        cluster_access(cluster, root=root, env=env, workdir=workdir, runner=runner) as access,
        api_client(access, env=env, workdir=workdir, runner=runner) as api,
    ):
        known = known_releases(cluster)
        releases = helm_releases(api, None, doing=doing, chart_wanted=lambda name, ns: (name, ns) not in known)
        namespaces = namespace_names(api, doing=doing)
    return find_orphans(cluster, releases, namespaces)
