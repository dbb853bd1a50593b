"""`mlci report`: work with the JSON reports `mlci check` wrote; `merge` combines the partial
reports of the jobs of a CI matrix into one, published as `mlci check` publishes its own."""

from __future__ import annotations

import os
from pathlib import Path

import click

from mlci.cli.comment import GitHubFlags, github_options, publish_check_report
from mlci.cli.state import CliState, format_option, output_option, pass_state


@click.group(name="report")
def report_group() -> None:
    """Combine the JSON reports of `mlci check --only` (one per CI job) into one."""


@report_group.command()
@click.argument("reports", nargs=-1, required=True, type=click.Path(path_type=Path))
@format_option("text", "markdown", "json", "html")
@output_option
@click.option(
    "--html",
    "html_output",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Also write the self-contained HTML report to FILE.",
)
@github_options(check=True)
@pass_state
def merge(
    state: CliState,
    reports: tuple[Path, ...],
    output_format: str | None,
    output: Path | None,
    html_output: Path | None,
    github: GitHubFlags,
) -> int:
    """Merge the JSON reports of the parts of one check (`mlci check --only PART -o FILE`: the
    datasets, steps or projects each CI job ran) into one report, then print, write and post it
    as `mlci check` does: one sticky comment, one job summary, the worst exit code.

    REPORTS are files, or directories searched for *.json. Reports of another commit, another
    report id or mlci version's schema, or a part given twice are an error (exit 2); a part no
    report holds is an input error of the merged report.
    """
    from mlci.cli.output import emit_html, emit_report
    from mlci.report.load import read_report
    from mlci.report.merge import NamedReport, merge_reports
    from mlci.sources.github_event import ActionsEnvironment

    config = state.config(required=False)  # how to render: precision, charts, template
    named = [NamedReport(name=str(path), report=read_report(path)) for path in _files(reports)]
    report = merge_reports(named)
    if github.report_id:
        report.report_id = github.report_id
    emit_report(report, config, output_format, output)
    if html_output is not None:
        emit_html(report, config, html_output)
    html = html_output or (
        output if output is not None and output.suffix in (".html", ".htm") else None
    )
    return publish_check_report(
        report, config, output, github, html_report=html, actions=ActionsEnvironment(os.environ)
    )


def _files(paths: tuple[Path, ...]) -> list[Path]:
    """The report files: each file given, and every *.json below each directory given."""
    from mlci.errors import InputFileError

    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.json") if p.is_file())
            if not found:
                raise InputFileError(
                    "no JSON reports in this directory",
                    path=path,
                    hint="give the directory the report artifacts were downloaded to",
                )
            files += found
        else:
            files.append(path)
    return files


@report_group.command()
@click.argument("shards", nargs=-1, required=True)
@click.option("--base", metavar="REV", help="With changed-projects: compare with REV instead.")
@pass_state
def plan(state: CliState, shards: tuple[str, ...], base: str | None) -> int:
    """Print the jobs of a check fanned out across CI, as one line of JSON for a job matrix:
    {"jobs": [{"name", "key", "args", "train"}, ...], "has_jobs": BOOL, "unchanged": ARGS}.

    SHARDS are parts of the check (`datasets:NAME`, `gates`, ...: a job each, plus one job for
    the parts no shard names), or `changed-projects` (a job per project with a change under
    it) or `all-projects`. `args` are the job's `mlci check` arguments, quoted for a shell;
    `key` is safe in an artifact name; `unchanged` (or "") the arguments of the check that
    lists the projects not run, which runs nothing.
    """
    import json
    import shlex

    from mlci.pipeline.shards import plan_shards

    planned = plan_shards(state.config(), shards, base_override=base)
    jobs = [
        {"name": job.name, "key": job.key, "args": shlex.join(job.args), "train": job.train}
        for job in planned.jobs
    ]
    unchanged = shlex.join(planned.unchanged) if planned.unchanged is not None else ""
    planned_json = {"jobs": jobs, "has_jobs": bool(jobs), "unchanged": unchanged}
    click.echo(json.dumps(planned_json, separators=(",", ":")))
    return 0
