"""``deployer deploy-support CLUSTER``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from deployer.cli._deploying import common_options, run_deploy

if TYPE_CHECKING:
    from deployer.cli import App


@click.command(name="deploy-support")
@click.argument("cluster")
@common_options
@click.pass_obj
def deploy_support(app: App, /, cluster: str, **kwargs: Any) -> None:
    """Deploy only CLUSTER's support chart (release and namespace 'support').

    Not upgraded when its inputs are those of its deployed revision ('unchanged'; see --force-upgrade).
    Exit 0 when it deployed or was unchanged, 1 when it failed, 2 for bad input or a cluster another deploy holds.
    """
    run_deploy(app, cluster, (), support=True, jobs=1, **kwargs)
