"""``deployer values CLUSTER HUB`` / ``deployer values CLUSTER --support``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from deployer.cli import App


@click.command(name="values")
@click.argument("cluster")
@click.argument("hub", required=False)
@click.option("--support", is_flag=True, help="The cluster's support release instead of a hub.")
@click.option("--show-secrets", is_flag=True, help="Decrypt encrypted files (needs the sops key) instead of masking.")
@click.option("--origin", is_flag=True, help="End each value's line with the file (and line) that set it.")
@click.pass_obj
def values(app: App, cluster: str, hub: str | None, support: bool, show_secrets: bool, origin: bool) -> None:
    """Print the values helm gets for HUB of CLUSTER (or, with --support, its support release), merged in helm's
    order: the generated deployer-facts.values.yaml, then the listed files.

    Like `helm get values` (no chart defaults). Values from encrypted (enc-*) files are masked, and no key is
    needed, unless --show-secrets. Nothing is written to disk and no cluster is contacted.
    """
    from deployer.errors import UsageError
    from deployer.merged_values import show

    if (hub is None) == (not support):
        raise UsageError("give either a HUB or --support (e.g. 'deployer values CLUSTER HUB')")
    text = show(app.root, cluster, hub or "support", env=app.env, show_secrets=show_secrets, origin=origin)
    click.echo(text, nl=False)
