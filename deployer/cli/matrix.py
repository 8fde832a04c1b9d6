"""``deployer generate-matrix``: the deploy plan for a set of changed paths, as CI matrix JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

import click

if TYPE_CHECKING:
    from deployer.cli import App


@click.command(name="generate-matrix")
@click.argument("paths", nargs=-1)
@click.option(
    "--from", "from_file", type=click.File("r"), help="Read changed paths, one per line, from FILE ('-' = stdin)."
)
@click.option(
    "--base",
    metavar="REF",
    help="Add the paths changed since REF (git diff REF...HEAD) and compare cluster.yaml with REF.",
)
@click.option("--force", type=click.Choice(["support", "hubs", "all"]), help="Plan these whatever changed.")
@click.option(
    "--max-legs",
    type=click.IntRange(1),
    default=256,
    show_default=True,
    help="Fold hubs of a cluster into fewer legs above this.",
)
@click.option(
    "--comment",
    "comment_file",
    type=click.Path(dir_okay=False),
    help="Write the plan as a markdown table for a pull-request comment.",
)
@click.option("--verbose", "-v", is_flag=True, help="List the changed paths that matched no rule (on stderr).")
@click.pass_obj
def generate_matrix(
    app: App,
    paths: tuple[str, ...],
    from_file: TextIO | None,
    base: str | None,
    force: str | None,
    max_legs: int,
    comment_file: str | None,
    verbose: bool,
) -> None:
    """Print which support, canary and prod legs the changed PATHS affect, as JSON.

    Inside GitHub Actions (GITHUB_OUTPUT set) each list is also written as a step output, and the plan as a
    table to the job summary.
    """
    import json

    from deployer.github import append_summary, write_outputs
    from deployer.planning.inputs import MatrixRequest, gather_rollout, read_paths
    from deployer.planning.table import rollout_markdown
    from deployer.run import Runner

    given = list(paths) + (read_paths(from_file) if from_file else [])
    rollout = gather_rollout(app.root, MatrixRequest(tuple(given), base, force, max_legs), env=app.env, runner=Runner())
    click.echo(json.dumps(rollout.to_json(), indent=2))
    if verbose:
        for path in rollout.unmatched:
            click.echo(f"unmatched (deploys nothing): {path}", err=True)
    table = rollout_markdown(rollout)
    if comment_file:
        with open(comment_file, "w", encoding="utf-8") as handle:
            handle.write(table)
    if app.env.get("GITHUB_OUTPUT"):
        write_outputs(app.env["GITHUB_OUTPUT"], rollout.step_outputs())
    if app.env.get("GITHUB_STEP_SUMMARY"):
        append_summary(app.env["GITHUB_STEP_SUMMARY"], table)
