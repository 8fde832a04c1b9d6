"""Does a ``kubeconfig`` cluster's ``kubeconfig.context`` name a context of its kubeconfig?

A typo there passes the schema and only shows when helm runs (``context "x" does not exist``). The kubeconfig is
the cluster's sops-encrypted ``kubeconfig.file``, else the ambient one of the environment mapping handed in
(``KUBECONFIG``, else ``~/.kube/config``: ``deployer.kube.kubeconfig_paths``). Every caller gets the same message:
cluster.yaml and the line of ``context:``, the kubeconfig read, a "did you mean" for a near miss, the contexts
it has, and what to do.

- ``context_problem(cluster, root=, contexts=, where=)``: the ``Problem`` for a context missing from ``contexts``
  (pure but for the line lookup);
- ``validate_context(root, cluster, env=, decrypt=, runner=)``: for ``validate``; no kubeconfig at hand (CI
  without one), a kubeconfig file that cannot be decrypted, or one that is not valid: nothing is said (the check
  is a bonus; validate stays offline-friendly). A context missing from the cluster's own encrypted
  ``kubeconfig.file`` is a problem (the configuration contradicts itself); one missing from the ambient kubeconfig
  is a warning (that machine may simply not reach the cluster; ``--strict`` fails on it, and the provider refuses
  it before any deploy);
- ``require_context(cluster, access, root=, env=, where=)``: for the ``kubeconfig`` provider, before any helm or
  API call: a missing context raises ``UsageError`` (exit 2) with that message;
- ``missing_context_error(cluster, access, root=, env=)``: the same ``UsageError`` when helm still said the
  context does not exist (the kubeconfig changed meanwhile), or None when it cannot be confirmed.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from deployer import yamlio
from deployer.config.model import ClusterConfig, KubeconfigSpec
from deployer.errors import Problem, SecretsError, UsageError

if TYPE_CHECKING:
    from deployer.auth import ClusterAccess
    from deployer.run import Runner


def context_problem(cluster: ClusterConfig, *, root: Path, contexts: Sequence[str], where: str) -> Problem | None:
    """The problem of ``kubeconfig.context`` naming none of ``contexts`` (those of the kubeconfig ``where``
    describes), or None when it names one (or is not set: the kubeconfig's current context is used)."""
    spec = cluster.spec
    if not isinstance(spec, KubeconfigSpec) or spec.context is None or spec.context in contexts:
        return None
    close = difflib.get_close_matches(spec.context, contexts, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    known = ", ".join(contexts) or "(none)"
    return Problem(
        cluster.file,
        yamlio.line_of(root / cluster.file, ["kubeconfig", "context"]),
        f"kubeconfig.context '{spec.context}' is not a context of the kubeconfig {where}{hint}; its contexts: "
        f"{known}: correct the name here, or add the context to that kubeconfig (kubectl config get-contexts)",
    )


def _ambient_problem(
    cluster: ClusterConfig, access: ClusterAccess, *, root: Path, env: Mapping[str, str]
) -> Problem | None:
    """``context_problem`` against the kubeconfig of ``access`` (its own file, else the ambient one); None when
    there is no kubeconfig at hand. A kubeconfig that is not valid raises ``UsageError``."""
    from deployer.kube import context_names, kubeconfig_paths

    try:
        paths = kubeconfig_paths(access, env)
    except UsageError:  # neither KUBECONFIG nor HOME: no kubeconfig at hand
        return None
    contexts = context_names(paths)
    if contexts is None:
        return None
    where = os.pathsep.join(str(p) for p in paths)
    return context_problem(cluster, root=root, contexts=contexts, where=where)


def require_context(
    cluster: ClusterConfig, access: ClusterAccess, *, root: Path, env: Mapping[str, str], where: str | None = None
) -> None:
    """Raise ``UsageError`` when the kubeconfig of ``access`` has no context ``kubeconfig.context``. ``where``
    names the kubeconfig in the message (a decrypted copy is named after its encrypted file)."""
    if access.context is None:
        return
    from deployer.kube import context_names

    if access.kubeconfig is not None and where is not None:
        contexts = context_names([access.kubeconfig])
        problem = None if contexts is None else context_problem(cluster, root=root, contexts=contexts, where=where)
    else:
        problem = _ambient_problem(cluster, access, root=root, env=env)
    if problem is not None:
        raise UsageError(problem.render())


def missing_context_error(
    cluster: ClusterConfig, access: ClusterAccess, *, root: Path, env: Mapping[str, str]
) -> UsageError | None:
    """The ``require_context`` error for a helm run that said the context does not exist; None when the
    kubeconfig (read again) does have it, or cannot be read."""
    where = (
        f"{cluster.dir}/{cluster.spec.file}" if isinstance(cluster.spec, KubeconfigSpec) and cluster.spec.file else None
    )
    try:
        require_context(cluster, access, root=root, env=env, where=where)
    except UsageError as exc:
        return exc
    return None


def validate_context(
    root: Path, cluster: ClusterConfig, *, env: Mapping[str, str], decrypt: bool = True, runner: Runner | None = None
) -> list[Problem]:
    """``validate``'s check of ``kubeconfig.context`` (see the module docstring): [] or the one problem."""
    spec = cluster.spec
    if not isinstance(spec, KubeconfigSpec) or spec.context is None:
        return []
    from deployer.auth import ClusterAccess

    try:
        if spec.file is None:  # the machine's kubeconfig, not the configuration, may be what is wrong: a warning
            problem = _ambient_problem(
                cluster, ClusterAccess(kubeconfig=None, context=spec.context), root=root, env=env
            )
            problem = None if problem is None else dataclasses.replace(problem, warning=True)
        elif not decrypt:
            return []
        else:
            from deployer.kube import context_names
            from deployer.secrets import decrypted

            rel = f"{cluster.dir}/{spec.file}"
            with decrypted(root / rel, display=rel, env=env, root=root, runner=runner) as path:
                contexts = context_names([path])
            problem = None if contexts is None else context_problem(cluster, root=root, contexts=contexts, where=rel)
    except (UsageError, SecretsError):  # no key, or not a valid kubeconfig: not this check's to report
        return []
    return [] if problem is None else [problem]
