"""`mlci projects`: the projects of a repository with several models, and (`--changed`) which
of them a pull request touches: the matrix of a CI workflow that checks each in a job."""

from __future__ import annotations

import json

import click

from mlci.cli.state import CliState, choice_format_option, pass_state


@click.command()
@click.option(
    "--changed",
    is_flag=True,
    help="Say which projects have a change under them (or in `shared_paths`) against the base.",
)
@click.option("--base", metavar="REV", help="With --changed: compare with REV instead.")
@choice_format_option("text", "json")
@click.option("--json", "as_json", is_flag=True, help="The same as --format json.")
@pass_state
def projects(
    state: CliState, changed: bool, base: str | None, output_format: str, as_json: bool
) -> int:
    """List the projects of the repository (`projects:` in the root mlci.yaml, or every
    mlci.yaml below it) and, with --changed, whether `mlci check --changed` would run each.

    `--format json` prints {"base", "projects": [{"path", "part", "changed", "reason"}],
    "run": [PART, ...]}: `run` lists the `projects:PATH` parts to check, one CI job each
    (`mlci check --changed --only PART`).
    """
    from mlci.pipeline.projects import plan_projects, project_part

    plan = plan_projects(state.config(), changed_only=changed, base_override=base)
    rows = [
        {
            "path": project.path,
            "part": project_part(project),
            "changed": plan.runs(project) if changed else None,
            "reason": plan.reasons.get(project.path) if changed else None,
        }
        for project in plan.projects
    ]
    if as_json or output_format == "json":
        run = [row["part"] for row in rows if row["changed"] is not False]
        click.echo(json.dumps({"base": plan.base, "projects": rows, "run": run}, indent=2))
        return 0
    from mlci.errors import one_line

    for row in rows:
        if not changed:
            click.echo(one_line(str(row["path"])))
        elif row["changed"]:
            click.echo(one_line(f"{row['path']}: changed ({row['reason']})"))
        else:
            click.echo(one_line(f"{row['path']}: unchanged against {plan.base}"))
    return 0
