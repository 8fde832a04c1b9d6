"""``deployer template CLUSTER HUB``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from deployer.cli import App


@click.command()
@click.argument("cluster")
@click.argument("hub")
@click.option("--show-secrets", is_flag=True, help="Print Secret data as rendered (default: redacted).")
@click.pass_obj
def template(app: App, cluster: str, hub: str, show_secrets: bool) -> None:
    """Print the manifests helm would apply for HUB of CLUSTER ('support' for the support chart).

    Same chart, release, namespace and values files (secrets decrypted) as `deployer deploy`; no cluster is
    contacted. Secret data is redacted unless --show-secrets.
    """
    from deployer.cli._warnings import echo_warnings
    from deployer.deploy.preview import template as render

    echo_warnings(app, cluster, [hub])
    click.echo(render(app.root, cluster, hub, env=app.env, show_secrets=show_secrets), nl=False)
