"""Provider ``aws`` by hand: ``aws eks update-kubeconfig`` into a private kubeconfig (see ``deployer.auth.manual``);
with a key, its access keys are read into the shell's environment only. The kubeconfig's user runs
``aws eks get-token`` (with ``--role-arn`` when the cluster has one), which helm runs for tokens."""

from __future__ import annotations

from deployer.auth.manual import KUBECONFIG, ManualAccess, comment, private_folder
from deployer.config.model import AwsSpec, ClusterConfig
from deployer.helm_argv import KubeTarget
from deployer.shellwords import shell_join, sops_extract


def manual_access(cluster: ClusterConfig) -> ManualAccess:
    spec = cluster.spec
    assert isinstance(spec, AwsSpec), cluster.name
    argv = ["aws", "eks", "update-kubeconfig", "--name", spec.cluster, "--region", spec.region]
    if spec.role_arn:
        argv += ["--role-arn", spec.role_arn]
    update = shell_join([*argv, "--kubeconfig", KUBECONFIG])
    key = cluster.key_file
    if key is None:
        lines = [
            *comment(
                f"cluster {cluster.name}: EKS, through the AWS CLI with your AWS credentials (profile, SSO "
                "or environment); the kubeconfig goes to a private temporary folder removed when this "
                "script exits"
            ),
            *private_folder(),
            update,
        ]
        return ManualAccess(tuple(lines), KubeTarget(kubeconfig=KUBECONFIG))
    lines = [
        *comment(
            f"cluster {cluster.name}: EKS, through the AWS CLI with the access keys in {key}, read into this "
            "shell's environment only (an AWS_PROFILE would win over them, so it is unset); the kubeconfig goes "
            "to a private temporary folder removed when this script exits"
        ),
        *private_folder(),
        f"AWS_ACCESS_KEY_ID={sops_extract(key, 'aws_access_key_id')}",
        f"AWS_SECRET_ACCESS_KEY={sops_extract(key, 'aws_secret_access_key')}",
        # optional in the key file: without it, no session token (not one from your environment)
        f"AWS_SESSION_TOKEN={sops_extract(key, 'aws_session_token', quiet=True)} || unset AWS_SESSION_TOKEN",
        "export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN; unset AWS_PROFILE",
        update,
    ]
    return ManualAccess(tuple(lines), KubeTarget(kubeconfig=KUBECONFIG))
