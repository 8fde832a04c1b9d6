"""Run a command, or an interactive shell, with one cluster's credentials (``deployer use-cluster-credentials``).

``run_with_credentials(cluster, argv, root=, env=, runner=)`` enters the cluster's access in a private work folder,
runs ``argv`` (default: ``$SHELL`` of ``env``, else ``/bin/sh``) with ``Runner.interactive`` and ``KUBECONFIG`` set
in the child's environment only, and returns the command's exit code. Everything temporary (decrypted key,
kubeconfig, token cache) is removed when the command ends, when it fails, and when the deployer is interrupted:
Ctrl-C reaches the command (the terminal sends it to both), and the deployer keeps waiting so that an interactive
shell survives it; SIGTERM (turned into an exception by the CLI) stops the command (TERM, then KILL after
``STOP_GRACE`` seconds), then cleans up.

When the access names a context that is not its kubeconfig's current one (provider ``kubeconfig`` with
``context:``), ``KUBECONFIG`` becomes ``<small file setting current-context>:<the kubeconfig>``: kubectl and helm
merge the list and take the first current-context, so the command uses that context without the file (or the
ambient kubeconfig) being changed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from deployer.auth import ClusterAccess, cluster_access
from deployer.errors import UsageError
from deployer.kube import kubeconfig_paths, merged_kubeconfig
from deployer.private import private_dir, write_private

if TYPE_CHECKING:
    from deployer.config.model import ClusterConfig
    from deployer.run import Runner

STOP_GRACE = 5.0  # seconds a command gets to exit after SIGTERM before it is killed


def kubeconfig_value(access: ClusterAccess, env: Mapping[str, str], workdir: Path) -> str | None:
    """What ``KUBECONFIG`` must be for a plain ``kubectl`` to use ``access`` (None: leave the env's value). The
    kubeconfig files are the ones ``deployer.kube`` uses: the access's own, or the ambient ones of ``env`` (never
    ``os.environ``)."""
    if access.kubeconfig is None and access.context is None:
        return None
    paths = kubeconfig_paths(access, env)
    files = [str(p) for p in paths]
    if access.context is not None and not _is_current(paths, access.context):
        selector = write_private(
            workdir / "current-context.kubeconfig",
            json.dumps({"apiVersion": "v1", "kind": "Config", "current-context": access.context}),
        )
        files.insert(0, str(selector))
    if access.kubeconfig is None and len(files) == len(paths):
        return None
    return os.pathsep.join(files)


def _is_current(paths: list[Path], context: str) -> bool:
    """Whether the kubeconfigs at ``paths``, merged as kubectl merges them, make ``context`` the current one. A
    missing or malformed kubeconfig counts as no: the selector is then added, and kubectl reports the problem."""
    try:
        return bool(merged_kubeconfig(paths)["current-context"] == context)
    except UsageError:
        return False


def run_with_credentials(
    cluster: ClusterConfig, argv: Sequence[str], *, root: Path, env: Mapping[str, str], runner: Runner | None = None
) -> int:
    from deployer.errors import CommandError
    from deployer.run import Runner

    runner = runner or Runner(grace=STOP_GRACE)
    with (
        private_dir() as workdir,
        cluster_access(cluster, root=root, env=env, workdir=workdir, runner=runner) as access,
    ):
        child_env = access.child_env(env)
        value = kubeconfig_value(access, env, workdir)
        if value is not None:
            child_env["KUBECONFIG"] = value
        child_env["DEPLOYER_CLUSTER"] = cluster.name
        command = list(argv) or [env.get("SHELL") or "/bin/sh"]
        try:
            return runner.interactive(command, env=child_env)
        except CommandError as exc:  # the command could not be started: the user named it
            raise UsageError(exc.stderr) from None
