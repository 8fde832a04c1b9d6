"""``deployer deploy-support CLUSTER``."""

from __future__ import annotations

import click

from deployer.cli._deploying import common_options, run_deploy


@click.command(name="deploy-support")
@click.argument("cluster")
@common_options
@click.pass_obj
def deploy_support(app, cluster: str, **kwargs) -> None:
    """Deploy only CLUSTER's support chart (release and namespace 'support').

    Exit 0 when it deployed, 1 when it failed, 2 for bad input.
    """
    run_deploy(app, cluster, (), support=True, jobs=1, **kwargs)
