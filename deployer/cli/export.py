"""``deployer export CLUSTER HUB OUTDIR``: the hub as a folder that plain helm deploys."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from deployer.cli import App


@click.command()
@click.argument("cluster")
@click.argument("hub")
@click.argument("outdir", type=click.Path())  # deployer.export.outdir checks it
@click.option("--decrypt", is_flag=True, help="Write secret values files decrypted (after a warning).")
@click.option("--force", is_flag=True, help="Replace OUTDIR if it exists and is not empty.")
@click.pass_obj
def export(app: App, cluster: str, hub: str, outdir: str, decrypt: bool, force: bool) -> None:
    """Write HUB of CLUSTER to OUTDIR: its chart with dependencies, values files, deploy.sh and a README."""
    from pathlib import Path

    from deployer.cli._warnings import echo_warnings
    from deployer.export.bundle import export_hub

    echo_warnings(app, cluster, [hub])
    result = export_hub(app.root, cluster, hub, Path(outdir), env=app.env, decrypt=decrypt, force=force)
    if decrypt:  # said once it is true: a refused OUTDIR gets its one line only
        click.echo(
            f"WARNING: {result.outdir} holds this hub's secrets in plaintext (files 0600). "
            "Hand them over privately and delete them once re-encrypted.",
            err=True,
        )
    click.echo(f"exported hub {hub} of cluster {cluster} to {result.outdir}")
    for path in result.files:
        click.echo(f"  {path}" + ("   (secret, decrypted: plaintext, 0600)" if path in result.decrypted else ""))
    click.echo(f"deploy it with: {result.outdir}/deploy.sh   (see {result.outdir}/README.md)")
