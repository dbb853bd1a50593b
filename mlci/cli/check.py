"""`mlci check`: every check the config enables, one report, one exit code."""

from __future__ import annotations

import os
from pathlib import Path

import click

from mlci.cli.comment import GitHubFlags, github_options, publish_check_report
from mlci.cli.state import CliState, format_option, output_option, pass_state


@click.command()
@format_option("text", "markdown", "json")
@output_option
@click.option(
    "--base", metavar="REV", help="Compare with REV instead of the merge-base with the base branch."
)
@click.option(
    "--html",
    "html_output",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Also write the self-contained HTML report to FILE (its charts need mlci[html]); "
    "in Actions the comment and job summary link to it among the run's artifacts.",
)
@click.option(
    "--all",
    "all_projects",
    is_flag=True,
    help="Run every project of the repository (`projects:` in the root mlci.yaml, or every "
    "mlci.yaml below it): one report, one section per project, the worst exit code.",
)
@click.option(
    "--changed",
    is_flag=True,
    help="Like --all, but run only the projects with a change under them (or in "
    "`shared_paths`) against the base; the others are listed as not run.",
)
@click.option(
    "--only",
    multiple=True,
    metavar="PART",
    help="Run only this part of the check and write a partial report, for `mlci report merge`: "
    "a step (train, datasets, diff, model, gates, dvc, log), one dataset (`datasets:NAME`), or "
    "with --all/--changed one project (`projects:PATH`). Repeat for several.",
)
@click.option(
    "--skip",
    multiple=True,
    metavar="PART",
    help="Run every part but this one (repeatable; as --only names them): the report of the "
    "parts other jobs do not run.",
)
@github_options(check=True)
@pass_state
def check(
    state: CliState,
    output_format: str | None,
    output: Path | None,
    base: str | None,
    html_output: Path | None,
    all_projects: bool,
    changed: bool,
    only: tuple[str, ...],
    skip: tuple[str, ...],
    github: GitHubFlags,
) -> int:
    """Run every check in mlci.yaml: data validation, metric diff against the base, gates.

    Exits 0 when everything passed, 1 when a check failed, 2 when an input is wrong (the
    report is still written). In GitHub Actions it also writes the job summary, step outputs
    and annotations; --comment posts the sticky PR comment (see docs/github.md).
    """
    from mlci.cli.output import emit_html, emit_report
    from mlci.cli.progress import progress_bar
    from mlci.config_file import find_project_root
    from mlci.pipeline.context import CheckContext
    from mlci.pipeline.run import check_parts, run_check, select_parts
    from mlci.sources.github_event import ActionsEnvironment

    # A DVC repository needs no mlci.yaml, from any of its directories: metrics and params
    # come from its dvc.yaml files.
    project = find_project_root(Path.cwd())
    config = state.config(
        required=not ((project / ".dvc").is_dir() or (project / "dvc.yaml").is_file())
    )
    actions = ActionsEnvironment(os.environ)  # read once, shared by every check and the posting
    if not (all_projects or changed) and any(p.startswith("projects") for p in only + skip):
        from mlci.errors import MlciError

        raise MlciError(
            "--only/--skip projects:PATH names a project of the repository's check",
            hint="add --all or --changed",
        )
    with progress_bar() as progress:
        if all_projects or changed:
            from mlci.pipeline.projects import check_projects

            report = check_projects(
                config,
                lambda project: run_check(
                    CheckContext(
                        config=project,
                        base_override=base,
                        progress=progress,
                        actions_from=actions,
                        allow_no_base=True,
                    )
                ),
                changed_only=changed,
                base_override=base,
                only=only,
                skip=skip,
            )
        else:
            context = CheckContext(
                config=config,
                base_override=base,
                progress=progress,
                actions_from=actions,
                allow_no_base=True,
            )
            parts = select_parts(check_parts(context), only, skip) if only or skip else None
            report = run_check(context, parts)
    if github.report_id:
        report.report_id = github.report_id
    emit_report(report, config, output_format, output, configured_output=True)
    if html_output is not None:
        emit_html(report, config, html_output)
    html = html_output or (
        output if output is not None and output.suffix in (".html", ".htm") else None
    )
    return publish_check_report(report, config, output, github, html_report=html, actions=actions)
