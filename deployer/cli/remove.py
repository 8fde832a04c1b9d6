"""``deployer remove CLUSTER HUB [--yes] [--keep-namespace]``: remove a hub already deleted from cluster.yaml.

Shows what goes (stdout), then asks the person to type the hub's name (stderr, from a terminal) unless ``--yes``;
stdin that is not a terminal without ``--yes`` is refused (exit 2), as is a hub still in cluster.yaml. Progress to
stderr. Exit 0 when removed or nothing was found, 1 when not confirmed or the removal failed, 2 for bad input."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from deployer.cli._deploying import WAIT_FOR_LOCK

if TYPE_CHECKING:
    from deployer.cli import App
    from deployer.fleet.remove import Removal


@click.command(short_help="Uninstall a hub removed from cluster.yaml and delete its namespace, after asking.")
@click.argument("cluster")
@click.argument("hub")
@click.option("--yes", is_flag=True, help="Do not ask: remove what is shown (needed when stdin is not a terminal).")
@click.option(
    "--keep-namespace",
    is_flag=True,
    help="Only uninstall the helm release: keep the namespace and what helm did not install in it (users' "
    "home directories).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=300,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for the namespace to be gone.",
)
@WAIT_FOR_LOCK
@click.pass_obj
def remove(
    app: App, cluster: str, hub: str, yes: bool, keep_namespace: bool, timeout: float, wait_for_lock: float
) -> None:
    """Remove HUB from CLUSTER: its helm release, then its namespace with everything in it, including the
    persistent volume claims (users' home directories) listed first. HUB must already be deleted from the
    cluster's cluster.yaml. Holds the cluster's deploy lock while it works."""
    from deployer.fleet.remove import remove_hub

    def confirm(removal: Removal) -> bool:
        click.echo("\n".join(removal.lines()))
        if yes:
            return True
        if sys.stdin is None or not sys.stdin.isatty():
            from deployer.errors import UsageError

            raise UsageError(
                f"deployer remove: stdin is not a terminal, so nobody can confirm: pass --yes to remove {hub} "
                "without asking"
            )
        answer = click.prompt(f"Type the hub's name ({hub}) to remove it", default="", show_default=False, err=True)
        return bool(answer.strip() == hub)

    result = remove_hub(
        app.root,
        cluster,
        hub,
        env=app.env,
        confirm=confirm,
        keep_namespace=keep_namespace,
        timeout=timeout,
        lock_wait=wait_for_lock,
        on_message=lambda line: click.echo(line, err=True),
    )
    if not result.removal.found:
        click.echo("\n".join(result.removal.lines()))
    else:
        click.echo(f"removed hub {hub} from cluster {cluster} in {result.seconds:.1f} s", err=True)
