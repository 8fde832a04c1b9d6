"""Provider ``azure`` by hand: ``az aks get-credentials`` into a private kubeconfig, converted by ``kubelogin`` to
take its tokens from the Azure CLI (which helm then runs through kubelogin); with a key, ``az login
--service-principal`` in a private Azure CLI configuration folder (see ``deployer.auth.manual``)."""

from __future__ import annotations

from deployer.auth.manual import FOLDER, KUBECONFIG, ManualAccess, comment, private_folder
from deployer.config.model import AzureSpec, ClusterConfig
from deployer.helm_argv import KubeTarget
from deployer.shellwords import Raw, shell_join, sops_extract


def manual_access(cluster: ClusterConfig) -> ManualAccess:
    spec = cluster.spec
    assert isinstance(spec, AzureSpec), cluster.name
    get_credentials = [
        shell_join(
            [
                "az",
                "aks",
                "get-credentials",
                "--resource-group",
                spec.resource_group,
                "--name",
                spec.cluster,
                "--subscription",
                spec.subscription_id,
                "--file",
                KUBECONFIG,
            ]
        ),
        shell_join(["kubelogin", "convert-kubeconfig", "--login", "azurecli", "--kubeconfig", KUBECONFIG]),
    ]
    key = cluster.key_file
    if key is None:
        lines = [
            *comment(
                f"cluster {cluster.name}: AKS, through the Azure CLI and kubelogin with your az login; the "
                "kubeconfig goes to a private temporary folder removed when this script exits"
            ),
            *private_folder(),
            *get_credentials,
        ]
        return ManualAccess(tuple(lines), KubeTarget(kubeconfig=KUBECONFIG))
    tenant = spec.tenant_id or sops_extract(key, "tenant_id")
    lines = [
        *comment(
            f"cluster {cluster.name}: AKS, through the Azure CLI and kubelogin as the service principal in {key}. "
            "az stores the principal's secret and its tokens in its configuration folder: here a private "
            "temporary one, removed with the kubeconfig beside it when this script exits; your own az login and "
            "kubeconfig are not used or changed. The secret is on az login's command line while it runs "
            "(visible to this machine's process list)"
        ),
        *private_folder(),
        f'export AZURE_CONFIG_DIR="${FOLDER}"',
        f"client_id={sops_extract(key, 'client_id')}",
        f"client_secret={sops_extract(key, 'client_secret')}",
        f"tenant_id={tenant if isinstance(tenant, Raw) else shell_join([tenant])}",
        shell_join(
            [
                "az",
                "login",
                "--service-principal",
                "--username",
                Raw('"$client_id"'),
                Raw('--password="$client_secret"'),
                "--tenant",
                Raw('"$tenant_id"'),
                "--output",
                "none",
            ]
        ),
        *get_credentials,
    ]
    return ManualAccess(tuple(lines), KubeTarget(kubeconfig=KUBECONFIG))
