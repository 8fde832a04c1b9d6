"""``deployer new cluster NAME --provider P [options]`` and ``deployer new hub CLUSTER HUB --domain D``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from deployer.cli import App
    from deployer.new.files import NewFile

PROVIDERS = ("gcp", "aws", "azure", "kubeconfig")  # deployer.new.cluster.PROVIDERS (not imported: keep --help light)


@click.group()
def new() -> None:
    """Add a cluster or a hub to the fleet: write its files, then validate them (nothing is kept if that fails)."""


@new.command("cluster")
@click.argument("name")
@click.option("--provider", required=True, type=click.Choice(PROVIDERS), help="How the deployer reaches the cluster.")
@click.option("--project", help="gcp: Google Cloud project id.")
@click.option("--location", help="gcp: region or zone of the cluster.")
@click.option("--account-id", help="aws: 12-digit AWS account id.")
@click.option("--region", help="aws: AWS region.")
@click.option("--role-arn", help="aws (optional): IAM role to assume before talking to EKS.")
@click.option("--subscription-id", help="azure: subscription id.")
@click.option("--resource-group", help="azure: resource group holding the cluster.")
@click.option("--tenant-id", help="azure (optional): Microsoft Entra tenant id.")
@click.option("--cluster-name", "cluster", help="gcp, aws, azure: the cluster's name at the cloud provider.")
@click.option("--context", help="kubeconfig (optional): the kubeconfig context to use.")
@click.pass_obj
def new_cluster(app: App, /, name: str, provider: str, **options: str | None) -> None:
    """Create config/clusters/NAME/ (cluster.yaml, support values) for a cluster of PROVIDER.

    Each provider needs the options the cluster schema requires for it (gcp: --project --location
    --cluster-name; aws: --account-id --region --cluster-name; azure: --subscription-id --resource-group
    --cluster-name; kubeconfig: none). Credential files (`key:`, `file:`) are added by hand, encrypted with sops.
    """
    from deployer.new.cluster import plan_cluster

    files = plan_cluster(app.root, name, provider, options)
    _write_and_validate(app, files, name, [])


@new.command("hub")
@click.argument("cluster")
@click.argument("hub")
@click.option("--domain", required=True, help="The hub's public host name (unique in the fleet).")
@click.option("--chart", type=click.Choice(("basehub", "daskhub")), default="basehub", show_default=True)
@click.option("--canary", is_flag=True, help="Deploy and health-check this hub before the cluster's others.")
@click.pass_obj
def new_hub(app: App, cluster: str, hub: str, domain: str, chart: str, canary: bool) -> None:
    """Add HUB to CLUSTER: its entry at the end of cluster.yaml (comments and layout kept), HUB.values.yaml, and
    enc-HUB.secret.values.yaml, encrypted with sops per the repository's .sops.yaml, holding a generated token
    for the post-deploy health check."""
    from deployer.new.hub import plan_hub

    files = plan_hub(app.root, cluster, hub, domain, chart=chart, canary=canary, env=app.env)
    _write_and_validate(app, files, cluster, [hub])


def _write_and_validate(app: App, files: Sequence[NewFile], cluster: str, hubs: list[str]) -> None:
    """Write ``files``, validate ``cluster`` (``hubs``); on problems remove them again and exit 2."""
    from deployer.deploy.dependencies import build_missing
    from deployer.errors import ConfigError
    from deployer.new.files import written
    from deployer.validate import validate

    build_missing(app.root, app.env)  # as `deployer validate` does, before anything is written
    with written(app.root, files):
        problems = validate(app.root, [cluster], hubs, env=app.env)
        if problems:
            click.echo("The new files do not validate; nothing was kept:", err=True)
            raise ConfigError(problems)
    for file in files:
        click.echo(f"{'updated' if file.replaces else 'created'} {file.rel}")
    click.echo(f"cluster {cluster}" + (f" (hub {hubs[0]})" if hubs else "") + ": validated, no problems found.")
