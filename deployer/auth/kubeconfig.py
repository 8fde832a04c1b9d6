"""Provider ``kubeconfig``: any cluster reachable with a kubeconfig.

With ``kubeconfig.file`` the sops-encrypted kubeconfig is decrypted into the caller's private workdir (0600)
and removed on exit; without it the ambient kubeconfig is used (``KUBECONFIG`` of the environment handed
in, or ``~/.kube/config``). ``kubeconfig.context`` selects the context (default: the current one).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path

from deployer.auth import ClusterAccess
from deployer.config.model import ClusterConfig, KubeconfigSpec
from deployer.run import Runner
from deployer.secrets import decrypted


@contextlib.contextmanager
def access(
    cluster: ClusterConfig, *, root: Path, env: Mapping[str, str], workdir: Path, runner: Runner | None = None
) -> Iterator[ClusterAccess]:
    spec = cluster.spec
    assert isinstance(spec, KubeconfigSpec), cluster.name
    if spec.file is None:
        yield ClusterAccess(kubeconfig=None, context=spec.context)
        return
    rel = f"{cluster.dir}/{spec.file}"
    with decrypted(root / rel, display=rel, env=env, root=root, workdir=workdir, runner=runner) as path:
        yield ClusterAccess(kubeconfig=path, context=spec.context)
