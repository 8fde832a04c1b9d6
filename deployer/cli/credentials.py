"""``deployer use-cluster-credentials CLUSTER [-- COMMAND...]``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from deployer.cli import App


@click.command("use-cluster-credentials", context_settings={"ignore_unknown_options": True})
@click.argument("cluster")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.pass_obj
def use_cluster_credentials(app: App, cluster: str, command: tuple[str, ...]) -> None:
    """Run COMMAND (default: an interactive $SHELL) with KUBECONFIG set to CLUSTER's credentials.

    The kubeconfig is temporary and private: kubectl and helm get fresh tokens from it while COMMAND runs,
    and it is removed (with any decrypted key) when COMMAND ends or the deployer is interrupted.
    Exits with COMMAND's exit code. Example: deployer use-cluster-credentials demo-aws -- kubectl get pods -A
    """
    import signal

    from deployer.auth.shell import run_with_credentials
    from deployer.cli import _on_sigterm, threading_is_main
    from deployer.config.load import load_cluster

    if threading_is_main():  # a closed terminal must clean up too
        signal.signal(signal.SIGHUP, _on_sigterm)
    if not command:
        click.echo(
            f"Starting {app.env.get('SHELL') or '/bin/sh'} with the credentials of cluster {cluster}; "
            "exit it to remove them.",
            err=True,
        )
    code = run_with_credentials(load_cluster(app.root, cluster), command, root=app.root, env=app.env)
    raise click.exceptions.Exit(code)
