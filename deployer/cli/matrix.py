"""``deployer generate-matrix``: the deploy plan for a set of changed paths, as CI matrix JSON."""

from __future__ import annotations

import click


@click.command(name="generate-matrix")
@click.argument("paths", nargs=-1)
@click.option("--from", "from_file", type=click.File("r"), help="Read changed paths, one per line, from FILE ('-' = stdin).")
@click.option("--base", metavar="REF", help="Add the paths changed since REF (git diff REF...HEAD) and compare cluster.yaml with REF.")
@click.option("--force", type=click.Choice(["support", "hubs", "all"]), help="Plan these whatever changed.")
@click.option("--max-legs", type=click.IntRange(1), default=256, show_default=True, help="Fold hubs of a cluster into fewer legs above this.")
@click.option("--comment", "comment_file", type=click.Path(dir_okay=False), help="Write the plan as a markdown table for a pull-request comment.")
@click.option("--verbose", "-v", is_flag=True, help="List the changed paths that matched no rule (on stderr).")
@click.pass_obj
def generate_matrix(app, paths, from_file, base, force, max_legs, comment_file, verbose) -> None:
    """Print which support, canary and prod legs the changed PATHS affect, as JSON.

    Inside GitHub Actions (GITHUB_OUTPUT set) each list is also written as a step output, and the plan as a
    table to the job summary.
    """
    import json

    from deployer.github import append_summary, write_outputs
    from deployer.plan_table import plan_markdown
    from deployer.planning import MatrixRequest, github_outputs, make_plan, read_paths

    given = list(paths) + (read_paths(from_file) if from_file else [])
    plan = make_plan(app.root, MatrixRequest(tuple(given), base, force, max_legs), app.env)
    click.echo(json.dumps(plan.to_json(), indent=2))
    if verbose:
        for path in plan.unmatched:
            click.echo(f"unmatched (deploys nothing): {path}", err=True)
    table = plan_markdown(plan)
    if comment_file:
        with open(comment_file, "w", encoding="utf-8") as handle:
            handle.write(table)
    if app.env.get("GITHUB_OUTPUT"):
        write_outputs(app.env["GITHUB_OUTPUT"], github_outputs(plan))
    if app.env.get("GITHUB_STEP_SUMMARY"):
        append_summary(app.env["GITHUB_STEP_SUMMARY"], table)
