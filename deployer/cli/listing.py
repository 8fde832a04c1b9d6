"""``deployer list [--json]``: clusters and hubs with provider, chart, canary flag and domain."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from deployer.cli import App


@click.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_obj
def list_clusters(app: App, as_json: bool) -> None:
    """List the fleet: clusters, their providers, and their hubs."""
    import json

    from deployer.config.load import load_fleet
    from deployer.inventory import inventory, inventory_table

    rows = inventory(load_fleet(app.root))
    click.echo(json.dumps(rows, indent=2) if as_json else inventory_table(rows))
