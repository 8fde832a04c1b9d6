"""``deployer remove CLUSTER HUB``: remove a hub that is gone from the configuration, after showing what goes.

``remove_hub(root, cluster, hub, env=..., confirm=...) -> RemovalResult``:

1. ``check_target`` (pure): HUB must be a valid hub name (the schema's rule, ``planning.legs.name_problem``), not a
   system namespace, and no longer in the cluster's ``cluster.yaml`` (a hub still configured would come back at
   the next deploy: ``StillConfigured``, exit 2, saying to delete its entry first). Nothing has touched the
   cluster yet;
2. enter the cluster's access (as deploy does) and take its deploy lock (``deploy.lock``: another deploy or
   removal holding it -> ``DeployLocked``, exit 2), held until the end, also while the person is asked;
3. ``survey``: what would go, read through ``deployer.kube``: the helm release HUB in namespace HUB (name,
   revision, status, chart), the namespace, every persistent volume claim in it (users' home directories: name,
   requested size, bound volume) and any other helm release in it. Which names a removal may target: the hub
   convention (release = namespace = hub name) the fleet deploys with; a namespace left without a release (an
   earlier removal cut short) is found by name. Nothing found -> the result says so (exit 0);
4. a namespace that holds other helm releases is refused (``UsageError``) unless ``keep_namespace``: deleting it
   would take releases this removal does not name;
5. ``confirm(removal)`` decides (the CLI asks the person to type the hub's name, or ``--yes``); False ->
   ``NotConfirmed`` (exit 1), nothing removed;
6. ``helm uninstall`` (argv from ``helm_argv``, run by the ``Runner``), then, unless ``keep_namespace``, the
   namespace is deleted and waited for until it is gone, at most ``timeout`` seconds (``NamespaceNotGone``,
   exit 1, naming what to look at; running the command again waits again).

Progress lines go to ``on_message``; nothing here prints.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from deployer import helm_argv
from deployer.errors import DeployerError, UsageError
from deployer.fleet.live import Claim, HelmRelease, claims, helm_releases, is_system_namespace

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

    from deployer.config.model import ClusterConfig
    from deployer.run import Runner

DEFAULT_TIMEOUT = 300.0  # seconds to wait for the namespace to be gone
POLL = 0.5  # seconds between looks at a terminating namespace


class StillConfigured(UsageError):
    """The hub is still in ``cluster.yaml``: removing it would be undone by the next deploy."""


class NotConfirmed(DeployerError):
    """The person did not confirm: nothing was removed (exit 1)."""


class NamespaceNotGone(DeployerError):
    """The namespace was still being deleted when the wait ended (exit 1)."""


@dataclass(frozen=True)
class Removal:
    """What removing ``hub`` takes from ``cluster``."""

    cluster: str
    hub: str
    release: HelmRelease | None
    namespace_phase: str | None  # None: no such namespace
    claims: tuple[Claim, ...] = ()
    others: tuple[HelmRelease, ...] = ()  # other helm releases in the namespace
    keep_namespace: bool = False

    @property
    def found(self) -> bool:
        return self.release is not None or self.namespace_phase is not None

    def lines(self) -> list[str]:
        """What will go, for a person to read before confirming."""
        if not self.found:
            return [f"cluster {self.cluster}: no helm release and no namespace named {self.hub}: nothing to remove"]
        out = [f"Removing hub {self.hub} from cluster {self.cluster} takes:"]
        if self.release is not None:
            out.append(f"  {self.release.describe()}")
        else:
            out.append(f"  (no helm release {self.hub} in namespace {self.hub})")
        if self.namespace_phase is None:
            return out
        if self.keep_namespace:
            out.append(f"  (namespace {self.hub} is kept, with what helm did not install in it)")
        else:
            phase = "" if self.namespace_phase == "Active" else f" ({self.namespace_phase})"
            out.append(f"  namespace {self.hub}{phase} and everything in it, including:")
        out += [f"    {r.describe()}" for r in self.others]
        if self.claims:
            verb = "stay" if self.keep_namespace else "are deleted with the namespace"
            out.append(f"  {len(self.claims)} persistent volume claim(s) (users' home directories) that {verb}:")
            out += [f"    {c.describe()}" for c in self.claims]
        else:
            out.append("  no persistent volume claims")
        return out


@dataclass(frozen=True)
class RemovalResult:
    removal: Removal
    uninstalled: bool = False
    namespace_deleted: bool = False
    seconds: float = 0.0


def check_target(cluster: ClusterConfig, hub: str, *, line: int | None = None) -> None:
    """Refuse a name no removal may target (pure); see the module docstring. ``line``: where the hub's entry is
    in cluster.yaml, for the message."""
    from deployer.planning.legs import name_problem

    problem = name_problem(hub, "hub")
    if problem:
        raise UsageError(f"deployer remove: HUB {problem}")
    if is_system_namespace(hub):
        raise UsageError(f"deployer remove: {hub} is a system namespace, never a hub's: it cannot be removed")
    if cluster.hub(hub) is not None:
        where = f"{cluster.file}:{line}" if line else cluster.file
        raise StillConfigured(
            f"{where}: hub '{hub}' is still in cluster '{cluster.name}': delete its entry from {cluster.file} "
            "first (and merge that change), then remove it"
        )


def survey(api: ApiClient, cluster: str, hub: str, *, keep_namespace: bool = False) -> Removal:
    """What removing ``hub`` would take, as the cluster holds it now."""
    from deployer.kube import read_namespace

    doing = f"read what hub '{hub}' of cluster '{cluster}' holds"
    namespace = read_namespace(api, hub, doing=doing)
    if namespace is None:
        return Removal(cluster, hub, None, None, keep_namespace=keep_namespace)
    phase = str((namespace.get("status") or {}).get("phase") or "Active")
    releases = helm_releases(api, hub, doing=doing)
    release = next((r for r in releases if r.name == hub), None)
    return Removal(
        cluster,
        hub,
        release,
        phase,
        tuple(claims(api, hub, doing=doing)),
        tuple(r for r in releases if r.name != hub),
        keep_namespace,
    )


def remove_hub(
    root: Path,
    cluster_name: str,
    hub: str,
    *,
    env: Mapping[str, str],
    confirm: Callable[[Removal], bool],
    keep_namespace: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    lock_wait: float = 0.0,
    on_message: Callable[[str], None] = lambda line: None,
    runner: Runner | None = None,
) -> RemovalResult:
    """Remove ``hub`` of ``cluster_name``; see the module docstring."""
    from deployer.auth import cluster_access
    from deployer.config.load import load_cluster
    from deployer.deploy.engine import HelmCli, kube_target
    from deployer.deploy.lock import deploy_lock
    from deployer.kube import api_client
    from deployer.private import private_dir
    from deployer.run import Runner
    from deployer.yamlio import line_of

    started = time.monotonic()
    cluster = load_cluster(root, cluster_name)
    index = next((i for i, h in enumerate(cluster.hubs) if h.name == hub), None)
    check_target(cluster, hub, line=None if index is None else line_of(root / cluster.file, ["hubs", index, "name"]))
    runner = runner or Runner()
    helm_cli = HelmCli(root, runner, env)
    with (
        private_dir() as workdir,
        cluster_access(cluster, root=root, env=env, workdir=workdir, runner=runner) as access,
        deploy_lock(access, cluster.name, env=env, workdir=workdir, runner=runner, wait=lock_wait, notify=on_message),
        api_client(access, env=env, workdir=workdir, runner=runner) as api,
    ):
        removal = survey(api, cluster.name, hub, keep_namespace=keep_namespace)
        if not removal.found:
            return RemovalResult(removal, seconds=time.monotonic() - started)
        if removal.others and not keep_namespace:
            names = ", ".join(r.name for r in removal.others)
            raise UsageError(
                f"namespace {hub} of cluster '{cluster.name}' also holds helm release(s) {names}, which deleting it "
                "would take: remove them first, or pass --keep-namespace to uninstall only the hub's release"
            )
        if not confirm(removal):
            raise NotConfirmed(f"not confirmed: nothing of hub {hub} was removed")
        uninstalled = False
        if removal.release is not None:
            argv = helm_argv.uninstall_args(hub, namespace=hub, target=kube_target(access))
            done = helm_cli.run(argv, env=access.child_env(env), check=False)
            if done.returncode != 0 and not any(s in done.stderr for s in helm_argv.NOT_FOUND):
                raise runner.error(done)
            uninstalled = done.returncode == 0
            on_message(
                f"uninstalled helm release {hub} (namespace {hub})"
                if uninstalled
                else f"helm release {hub} was already gone (namespace {hub})"
            )
        deleted = False
        if not keep_namespace:
            delete_and_wait(api, cluster.name, hub, timeout=timeout, on_message=on_message)
            deleted = True
    return RemovalResult(removal, uninstalled, deleted, time.monotonic() - started)


def delete_and_wait(
    api: ApiClient,
    cluster: str,
    namespace: str,
    *,
    timeout: float,
    on_message: Callable[[str], None] = lambda line: None,
) -> None:
    """Delete ``namespace`` (unless it is terminating already) and wait until the API no longer has it."""
    from deployer.kube import delete_namespace, read_namespace

    doing = f"delete namespace {namespace} of cluster '{cluster}'"
    current = read_namespace(api, namespace, doing=doing)
    if current is None:
        return
    if (current.get("status") or {}).get("phase") != "Terminating":
        delete_namespace(api, namespace, doing=doing)
    on_message(f"deleting namespace {namespace} (waiting up to {timeout:g} s until it is gone)")
    deadline = time.monotonic() + timeout
    while True:
        current = read_namespace(api, namespace, doing=doing)
        if current is None:
            on_message(f"namespace {namespace} is gone")
            return
        if time.monotonic() >= deadline:
            conditions = [
                str(c.get("message"))
                for c in (current.get("status") or {}).get("conditions") or []
                if isinstance(c, dict) and c.get("status") == "True" and c.get("message")
            ]
            why = f" ({'; '.join(conditions)})" if conditions else ""
            raise NamespaceNotGone(
                f"namespace {namespace} of cluster '{cluster}' is still terminating after {timeout:g} s{why}: the "
                "cluster is still deleting what it holds (volumes, objects with finalizers); look with `deployer "
                f"use-cluster-credentials {cluster} -- kubectl get all,pvc -n {namespace}`, then run "
                f"`deployer remove {cluster} {namespace}` again to wait for it"
            )
        time.sleep(min(POLL, max(0.0, deadline - time.monotonic())))
