"""`mlci history`: the gated metrics over the last base-branch commits; `mlci history record`
writes the record of one commit (the deploy-on-merge workflow runs it on every push)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from mlci.cli.state import CliState, chosen_format, pass_state


@click.group(name="history", invoke_without_command=True)
@click.option(
    "-n",
    "--last",
    type=click.IntRange(1, 1000),
    default=None,
    metavar="N",
    help="How many recorded commits (default: history.trend of mlci.yaml, 10).",
)
@click.option(
    "--rev",
    metavar="REV",
    help="Walk back from REV instead of the base branch (first parents).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "markdown", "json"]),
    default=None,
    help="Output format (default: text).",
)
@click.option(
    "--fetch",
    is_flag=True,
    help="Fetch the data branch first (without it, it is fetched only when absent locally).",
)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option("--md", "as_md", is_flag=True, help="Same as --format markdown.")
@click.pass_context
def history_group(
    ctx: click.Context,
    last: int | None,
    rev: str | None,
    output_format: str | None,
    fetch: bool,
    as_json: bool,
    as_md: bool,
) -> int | None:
    """Print the gated metrics over the last recorded base-branch commits.

    The records come from the data branch (`history.branch`, fetched when absent locally) or
    from MLflow (`history.store`); `mlci history record` writes them. See docs/history.md.
    """
    if ctx.invoked_subcommand is not None:
        return None
    state: CliState = ctx.obj
    chosen = chosen_format(output_format, as_json, as_md)
    from dataclasses import asdict

    from mlci.pipeline.history import history_listing, history_settings
    from mlci.report.history import history_table
    from mlci.report.markdown_text import markdown_table
    from mlci.report.render import plain_table
    from mlci.sources.git import Git

    config = state.config()
    count = last or history_settings(config).trend
    trend = history_listing(config, os.environ, Git(config.root), count=count, rev=rev, fetch=fetch)
    if chosen == "json":
        click.echo(json.dumps(asdict(trend), indent=2, allow_nan=False))
        return 0
    table = history_table(trend, config.config.metrics.precision)
    if chosen == "markdown":
        from mlci.report.markdown_text import escape_markdown

        click.echo(f"#### {escape_markdown(table.title)}\n")
        click.echo(escape_markdown(trend.note) if trend.note else markdown_table(table))
    else:
        click.echo(trend.note if trend.note else plain_table(table).rstrip("\n"))
    return 0


@history_group.command(name="record")
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Take the metrics from this JSON report of `mlci check` (-o report.json) instead of "
    "reading the metrics files in the work tree.",
)
@click.option(
    "--commit", "rev", default="HEAD", show_default=True, metavar="REV", help="Commit to record."
)
@click.option("--dry-run", is_flag=True, help="Print the record; write nothing.")
@pass_state
def record(state: CliState, report_path: Path | None, rev: str, dry_run: bool) -> int:
    """Record the metrics of a base-branch commit in the history.

    One record per commit: its sha, parents, the time, every numeric metric (the gated ones
    with their direction) and the params, with the record format's version. It goes to the
    data branch (`history.branch`, pushed with GITHUB_TOKEN; two racing pushes both land) or
    to MLflow as a run tagged with the commit (`history.store`).
    """
    from mlci.pipeline.context import CheckContext
    from mlci.pipeline.history import (
        CommitValues,
        build_record,
        commit_and_parents,
        is_gated,
        open_history,
        values_from_report,
        write_record,
    )
    from mlci.sources.history import record_to_json

    config = state.config()
    context = CheckContext(config=config)
    git = context.git
    commit, parents = commit_and_parents(git, rev)
    report_id = config.config.report.id
    if report_path is not None:
        values, report_id = values_from_report(report_path)
    else:
        head, params = context.head_metrics(), context.head_metrics("params")
        values = CommitValues(
            metrics=[
                (path, name, value, context.direction_of(path, name))
                for path, flat in head.flat().items()
                for name, value in flat.items()
            ],
            params=[(p, n, v) for p, flat in params.flat().items() for n, v in flat.items()],
        )
    gates = config.config.gates
    built = build_record(
        commit=commit,
        parents=parents,
        report_id=report_id,
        values=values,
        gated=lambda path, name: is_gated(gates, path, name),
    )
    if not built.metrics:
        from mlci.errors import HistoryError

        raise HistoryError(
            f"no numeric metric to record for {commit[:12]}",
            hint="list the metrics files under `metrics: files:` in mlci.yaml",
        )
    if dry_run:
        click.echo(record_to_json(built).decode(), nl=False)
        return 0
    click.echo(write_record(open_history(config, os.environ, git), built))
    return 0
