"""`mlci history`: the gated metrics over the last base-branch commits; `mlci history record`
writes the record of one commit (the deploy-on-merge workflow runs it on every push)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mlci.cli.state import CliState, chosen_format, pass_state

if TYPE_CHECKING:
    from mlci.config_file import ConfigFile


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
@click.option(
    "--all",
    "all_projects",
    is_flag=True,
    help="Every project of the repository (as `mlci check --all` finds them), one table each.",
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
    all_projects: bool,
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

    from mlci.pipeline.history import history_id, history_listing, history_settings
    from mlci.report.history import history_table
    from mlci.report.markdown_text import markdown_table
    from mlci.report.render import plain_table
    from mlci.sources.git import Git

    config = state.config()
    listed: list[tuple[str | None, ConfigFile]] = [(None, config)]
    if all_projects:
        from mlci.config import load_config
        from mlci.pipeline.projects import find_projects

        listed = [(p.path, load_config(p.config)) for p in find_projects(config)]
    shown = []
    for project, project_config in listed:
        count = last or history_settings(project_config).trend
        trend = history_listing(
            project_config,
            os.environ,
            Git(project_config.root),
            count=count,
            rev=rev,
            fetch=fetch,
        )
        if trend.note and not all_projects and config.explicit and config.config.projects:
            trend.note += " (this mlci.yaml lists projects: `mlci history --all` shows each one's)"
        shown.append((project, project_config, trend))
    if chosen == "json":
        if not all_projects:
            click.echo(json.dumps(asdict(shown[0][2]), indent=2, allow_nan=False))
        else:
            projects = [
                {"path": project, "report_id": history_id(c), **asdict(trend)}
                for project, c, trend in shown
            ]
            click.echo(json.dumps({"projects": projects}, indent=2, allow_nan=False))
        return 0
    blocks = []
    for project, project_config, trend in shown:
        table = history_table(trend, project_config.config.metrics.precision)
        if project is not None:
            table.title = f"{project}: {table.title}"
        if chosen == "markdown":
            from mlci.report.markdown_text import escape_markdown

            body = escape_markdown(trend.note) if trend.note else markdown_table(table)
            blocks.append(f"#### {escape_markdown(table.title)}\n\n{body.rstrip()}")
        elif trend.note:
            blocks.append(f"{project}: {trend.note}" if project else trend.note)
        else:
            blocks.append(plain_table(table).rstrip("\n"))
    click.echo("\n\n".join(blocks))
    return 0


@history_group.command(name="record")
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Take the metrics from this JSON report of `mlci check` (-o report.json) instead of "
    "reading the metrics files in the work tree; a report of `mlci check --all` records every "
    "project in it.",
)
@click.option(
    "--commit", "rev", default="HEAD", show_default=True, metavar="REV", help="Commit to record."
)
@click.option("--dry-run", is_flag=True, help="Print the record(s); write nothing.")
@pass_state
def record(state: CliState, report_path: Path | None, rev: str, dry_run: bool) -> int:
    """Record the metrics of a base-branch commit in the history.

    One record per commit: its sha, parents, the time, every numeric metric (the gated ones
    with their direction) and the params, with the record format's version. It goes to the
    data branch (`history.branch`, pushed with GITHUB_TOKEN; two racing pushes both land) or
    to MLflow as a run tagged with the commit (`history.store`). A report of several projects
    gives one record per project, under each project's report id, in one push.
    """
    from mlci.pipeline.context import CheckContext
    from mlci.pipeline.history import (
        CommitValues,
        ReportPart,
        ReportValues,
        commit_and_parents,
        not_run_error,
        project_records,
        values_from_report,
        write_records,
    )
    from mlci.sources.history import record_to_json

    config = state.config()
    context = CheckContext(config=config)
    git = context.git
    commit, parents = commit_and_parents(git, rev)
    skipped: list[str] = []
    found: ReportValues | None = None
    if report_path is not None:
        lists_projects = bool(config.explicit and config.config.projects)
        found = values_from_report(report_path, lists_projects=lists_projects)
        found.check_commit(commit, rev)
        parts, skipped = found.parts, list(found.skipped)
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
        parts = [ReportPart(values)]
    records = project_records(config, parts, commit=commit, parents=parents, report=report_path)
    kept = [item for item in records if item.record.metrics]
    skipped += [f"{item.project}: no numeric metric" for item in records if item not in kept]
    # A project whose check did not run: the others are recorded, then exit 2 naming the report.
    failed = found if found is not None and found.failed else None
    if failed is not None and not kept:
        raise not_run_error(failed, recorded=False)
    if not kept:
        from mlci.errors import HistoryError

        projects_root = report_path is None and config.explicit and config.config.projects
        raise HistoryError(
            f"no numeric metric to record for {commit[:12]}",
            hint="this mlci.yaml lists projects: record them all with `mlci check --all -o "
            "report.json` and `mlci history record --report report.json`"
            if projects_root
            else "list the metrics files under `metrics: files:` in mlci.yaml",
            path=report_path,
        )
    if dry_run:
        if kept[0].project is None:  # one check: its record
            click.echo(record_to_json(kept[0].record).decode(), nl=False)
        else:  # a report of several projects: a JSON list of their records
            listed = [json.loads(record_to_json(item.record)) for item in kept]
            click.echo(json.dumps(listed, indent=1, ensure_ascii=False))
    else:
        for line in write_records(kept, os.environ, git):
            click.echo(line)
        for line in skipped:
            click.echo(f"mlci history: not recorded: {line}")
    if failed is not None:
        raise not_run_error(failed, recorded=not dry_run)
    return 0
