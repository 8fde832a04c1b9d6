"""Provider ``gcp`` by hand: ``gcloud container clusters get-credentials`` into a private kubeconfig; with a key,
``gcloud auth activate-service-account`` in a private gcloud configuration folder (see ``deployer.auth.manual``).
The kubeconfig's user is ``gke-gcloud-auth-plugin``, which helm runs for tokens."""

from __future__ import annotations

from deployer.auth.manual import FOLDER, KUBECONFIG, ManualAccess, comment, private_folder
from deployer.config.model import ClusterConfig, GcpSpec
from deployer.helm_argv import KubeTarget
from deployer.shellwords import Raw, shell_join, sops_decrypt


def manual_access(cluster: ClusterConfig) -> ManualAccess:
    spec = cluster.spec
    assert isinstance(spec, GcpSpec), cluster.name
    get_credentials = shell_join(
        [
            "gcloud",
            "container",
            "clusters",
            "get-credentials",
            spec.cluster,
            "--project",
            spec.project,
            "--location",
            spec.location,
        ]
    )
    key = cluster.key_file
    if key is None:
        lines = [
            *comment(
                f"cluster {cluster.name}: GKE, through gcloud and gke-gcloud-auth-plugin with your active "
                "gcloud account (the deployer itself uses application default credentials); the kubeconfig "
                "goes to a private temporary folder removed when this script exits"
            ),
            *private_folder(),
            f"export KUBECONFIG={KUBECONFIG}",
            get_credentials,
        ]
    else:
        lines = [
            *comment(
                f"cluster {cluster.name}: GKE, through gcloud and gke-gcloud-auth-plugin as the service "
                f"account in {key}. gcloud stores an activated key in its configuration folder: here a "
                "private temporary one, removed with the kubeconfig beside it when this script exits; your "
                "own gcloud configuration and kubeconfig are not used or changed"
            ),
            *private_folder(),
            f'export CLOUDSDK_CONFIG="${FOLDER}" KUBECONFIG={KUBECONFIG}',
            shell_join(["gcloud", "auth", "activate-service-account", Raw("--key-file=" + sops_decrypt(key))]),
            get_credentials,
        ]
    return ManualAccess(tuple(lines), KubeTarget(kubeconfig=KUBECONFIG))
