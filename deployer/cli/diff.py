"""``deployer diff CLUSTER [HUB...]``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from deployer.cli import App


@click.command()
@click.argument("cluster")
@click.argument("hubs", nargs=-1)
@click.option(
    "--support/--no-support",
    default=None,
    help="Include the support release (default: yes without HUBS, no with HUBS).",
)
@click.pass_obj
def diff(app: App, cluster: str, hubs: tuple[str, ...], support: bool | None) -> None:
    """Show what `deployer deploy CLUSTER [HUB...]` would change in the live releases, as a unified diff of
    manifests. Secret data is decoded and diffed inside; values from encrypted files, keys that look secret and
    binary data are masked.

    Exit 0 when nothing would change, 1 when something would, 2 on error.
    """
    from deployer.cli._warnings import echo_warnings
    from deployer.deploy.preview import ChangesFound, diff as compute

    echo_warnings(app, cluster, hubs)
    diffs = compute(app.root, cluster, hubs or None, env=app.env, support=support)
    for d in diffs:
        if d.changed:
            click.echo(d.diff, nl=not d.diff.endswith("\n"))
        state = "changes" if d.changed else "no changes"
        click.echo(f"{d.release}: {state}{'' if d.installed else ' (not installed yet)'}", err=True)
    changed = [d.release for d in diffs if d.changed]
    if changed:
        raise ChangesFound(f"cluster {cluster}: a deploy would change {', '.join(changed)}")
