"""Provider ``kubeconfig``: any cluster reachable with a kubeconfig.

With ``kubeconfig.file`` the sops-encrypted kubeconfig is decrypted into the caller's private workdir (0600)
and removed on exit; without it the ambient kubeconfig is used (``KUBECONFIG`` of the environment handed
in, or ``~/.kube/config``). ``kubeconfig.context`` selects the context (default: the current one); a context
the kubeconfig does not have is refused here, before helm or the API is called (``deployer.config.contexts``:
``UsageError`` naming cluster.yaml's line, the contexts available and a "did you mean"). No kubeconfig at all is
left to the callers to report.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path

from deployer.auth import ClusterAccess
from deployer.config.contexts import require_context
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
        ambient = ClusterAccess(kubeconfig=None, context=spec.context)
        require_context(cluster, ambient, root=root, env=env)
        yield ambient
        return
    rel = f"{cluster.dir}/{spec.file}"
    with decrypted(root / rel, display=rel, env=env, root=root, workdir=workdir, runner=runner) as path:
        own = ClusterAccess(kubeconfig=path, context=spec.context)
        require_context(cluster, own, root=root, env=env, where=rel)
        yield own
