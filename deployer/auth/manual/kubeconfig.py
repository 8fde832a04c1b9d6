"""Provider ``kubeconfig`` by hand: the ambient kubeconfig, or the sops-encrypted one decrypted into a private
temporary folder (see ``deployer.auth.manual``)."""

from __future__ import annotations

from deployer.auth.manual import KUBECONFIG, ManualAccess, comment, private_folder
from deployer.config.model import ClusterConfig, KubeconfigSpec
from deployer.helm_argv import KubeTarget
from deployer.shellwords import sops_to_file


def manual_access(cluster: ClusterConfig) -> ManualAccess:
    spec = cluster.spec
    assert isinstance(spec, KubeconfigSpec), cluster.name
    context = f"context {spec.context}" if spec.context else "its current context"
    if cluster.key_file is None:
        line = f"# cluster {cluster.name}: your KUBECONFIG, {context}"
        return ManualAccess((line,), KubeTarget(context=spec.context))
    lines = [
        *comment(
            f"cluster {cluster.name}: its sops-encrypted kubeconfig ({context}), decrypted into a private "
            "temporary folder that is removed when this script exits"
        ),
        *private_folder(),
        sops_to_file(cluster.key_file, KUBECONFIG),
    ]
    return ManualAccess(tuple(lines), KubeTarget(kubeconfig=KUBECONFIG, context=spec.context))
