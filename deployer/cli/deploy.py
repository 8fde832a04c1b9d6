"""``deployer deploy CLUSTER [HUB...]``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from deployer.cli._deploying import common_options, run_deploy

if TYPE_CHECKING:
    from deployer.cli import App


@click.command()
@click.argument("cluster")
@click.argument("hubs", nargs=-1)
@click.option(
    "--support/--no-support",
    default=None,
    help="Deploy the cluster's support chart first (default: yes without HUBS, no with HUBS).",
)
@click.option(
    "--jobs", "-j", type=click.IntRange(1, 64), default=4, show_default=True, help="Prod hubs deployed in parallel."
)
@common_options
@click.pass_obj
def deploy(app: App, /, cluster: str, hubs: tuple[str, ...], support: bool | None, jobs: int, **kwargs: Any) -> None:
    """Deploy CLUSTER: its support chart, then canary hubs one by one, then prod hubs in parallel.

    With HUBS, only those. If support or a canary fails, the prod hubs are skipped. A release whose inputs (chart,
    values, helm flags) are those of its deployed revision is 'unchanged' and not upgraded (see --force-upgrade;
    hand edits of live objects are not detected: use 'deployer diff'). One deploy per cluster at a time (a lock in
    the cluster: see --wait-for-lock). Exit 0 when every release deployed or was unchanged, 1 when any failed or
    was skipped, 2 for bad input or a cluster another deploy holds (nothing deployed).
    """
    run_deploy(app, cluster, hubs or None, support=support, jobs=jobs, **kwargs)
