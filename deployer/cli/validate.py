"""``deployer validate [CLUSTER [HUB...]]``."""

from __future__ import annotations

import click


@click.command()
@click.argument("cluster", required=False)
@click.argument("hubs", nargs=-1)
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Secret files decrypted in parallel.")
@click.pass_obj
def validate(app, cluster: str | None, hubs: tuple[str, ...], jobs: int) -> None:
    """Check the whole fleet (or CLUSTER, or some of its HUBS) and report every problem.

    Each problem is printed as PATH[:LINE]: MESSAGE. Exit 0 when all is well, 2 otherwise.
    Secret files are decrypted in memory with sops (set SOPS_AGE_KEY_FILE for age keys).
    """
    from deployer.errors import ConfigError
    from deployer.validate import validate as run_validation

    problems = run_validation(app.root, [cluster] if cluster else [], hubs, env=app.env, jobs=jobs)
    if problems:
        raise ConfigError(problems)
    scope = f"cluster {cluster}" + (f" (hubs {', '.join(hubs)})" if hubs else "") if cluster else "the fleet"
    click.echo(f"{scope}: no problems found.")
