"""``deployer orphans [CLUSTER...] [--json]``: helm releases and namespaces the config no longer knows.

Read-only (no deploy lock). Exit 0 whatever it finds: listing is not failure."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from deployer.cli import App


@click.command(short_help="List releases and namespaces in the clusters that cluster.yaml no longer knows.")
@click.argument("clusters", nargs=-1)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='Print JSON: {"clusters": [{"cluster", "releases": [{"name", "namespace", "revision", "status", '
    '"chart"}], "namespaces": [NAME, ...]}]}.',
)
@click.pass_obj
def orphans(app: App, clusters: tuple[str, ...], as_json: bool) -> None:
    """List, per cluster (default: every cluster), the helm releases that are neither a hub nor the support
    release of its cluster.yaml, and the namespaces holding only such releases; `deployer remove CLUSTER HUB`
    removes one. Read-only."""
    import json

    from deployer.fleet.orphans import list_orphans

    found = list_orphans(app.root, clusters or None, env=app.env)
    if as_json:
        click.echo(json.dumps({"clusters": [c.to_json() for c in found]}, indent=2))
    else:
        click.echo("\n".join(line for c in found for line in c.lines()))
