"""``deployer generate-matrix``: the deploy plan for a set of changed paths, as CI matrix JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from deployer.cli import App


@click.command(name="generate-matrix")
@click.argument("paths", nargs=-1)
@click.option(
    "--from",
    "from_file",
    metavar="FILE",
    help="Read changed paths, one per line, from FILE, a UTF-8 text file ('-' = stdin; pipe rather than a FIFO).",
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
    type=click.Path(),  # checked by deployer.jsonfile.check_writable
    help="Write the plan as a markdown table for a pull-request comment.",
)
@click.option("--verbose", "-v", is_flag=True, help="List the changed paths that matched no rule (on stderr).")
@click.pass_obj
def generate_matrix(
    app: App,
    paths: tuple[str, ...],
    from_file: str | None,
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
    import sys

    from deployer.github import append_summary, check_outputs, write_outputs
    from deployer.jsonfile import check_writable
    from deployer.planning.inputs import MatrixRequest, gather_rollout, read_paths_file, uncommitted_warning
    from deployer.planning.table import rollout_markdown
    from deployer.run import Runner

    if comment_file:  # the output files are checked before anything is run
        check_writable(comment_file, f"--comment {comment_file}")
    check_outputs(app.env)
    given = list(paths)
    if from_file:
        given += read_paths_file(from_file, sys.stdin.buffer)
    rollout = gather_rollout(app.root, MatrixRequest(tuple(given), base, force, max_legs), env=app.env, runner=Runner())
    click.echo(json.dumps(rollout.to_json(), indent=2))
    if base and (warning := uncommitted_warning(app.root, base, given, env=app.env, runner=Runner())):
        click.echo(warning, err=True)
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
