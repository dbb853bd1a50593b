"""`mlci comment`, and the GitHub options and publishing step `mlci check` shares with it."""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from mlci.cli.state import CliState, pass_state
from mlci.errors import InputFileError, MlciError

if TYPE_CHECKING:
    from mlci.config_file import ConfigFile
    from mlci.report.model import Report
    from mlci.sources.github_event import ActionsEnvironment

F = TypeVar("F", bound=Callable[..., Any])
_REPORT_ID = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


@dataclass(frozen=True)
class GitHubFlags:
    """The GitHub options of a command, as one object."""

    repo: str | None = None
    pr: int | None = None
    sha: str | None = None
    token: str | None = None
    api_url: str | None = None
    report_id: str | None = None
    comment: bool = False
    comment_artifact: Path | None = None
    strict_comment: bool = False
    summary: bool = True
    """In GitHub Actions: write the job summary, step outputs and annotations."""


def _check_report_id(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not _REPORT_ID.fullmatch(value):
        raise click.BadParameter("may hold only letters, digits, '_', '.', '-' (1-64 characters)")
    return value


_TARGET_OPTIONS = [
    click.option("--repo", metavar="OWNER/NAME", help="Repository (default: GITHUB_REPOSITORY)."),
    click.option(
        "--pr",
        type=click.IntRange(min=1),
        metavar="NUMBER",
        help="Pull request (default: from the event in GITHUB_EVENT_PATH).",
    ),
    click.option(
        "--token",
        metavar="TOKEN",
        help="GitHub token (default: GITHUB_TOKEN; prefer the variable: arguments show in ps).",
    ),
    click.option(
        "--api-url", metavar="URL", help="GitHub API (default: GITHUB_API_URL, for Enterprise)."
    ),
    click.option(
        "--report-id",
        metavar="ID",
        callback=_check_report_id,
        help="One sticky comment per id (default: report.id in mlci.yaml, else 'default').",
    ),
]
_CHECK_OPTIONS = [
    click.option(
        "--comment",
        is_flag=True,
        help="Post the report as a sticky PR comment, or update the one posted before.",
    ),
    click.option(
        "--comment-artifact",
        type=click.Path(file_okay=False, path_type=Path),
        metavar="DIR",
        help="Write the comment body and PR number to DIR for `mlci comment --from-artifact` "
        "(pull requests from forks).",
    ),
    click.option(
        "--strict-comment",
        is_flag=True,
        help="Exit 2 when the comment cannot be posted (by default the checks decide).",
    ),
    click.option(
        "--sha", metavar="SHA", help="Head commit shown in the comment (default: from the event)."
    ),
    click.option(
        "--summary/--no-summary",
        default=True,
        help="In GitHub Actions, write the job summary, step outputs and annotations (the "
        "default; --no-summary for a job whose partial report another job merges).",
    ),
]
_FIELDS = (
    *("repo", "pr", "sha", "token", "api_url", "report_id"),
    *("comment", "comment_artifact", "strict_comment", "summary"),
)


def github_options(*, check: bool) -> Callable[[F], F]:
    """Add the GitHub options; the command receives them as one `github: GitHubFlags`."""

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            flags = GitHubFlags(**{name: kwargs.pop(name) for name in _FIELDS if name in kwargs})
            return function(*args, github=flags, **kwargs)

        command: Any = wrapper
        for option in reversed((_CHECK_OPTIONS if check else []) + _TARGET_OPTIONS):
            command = option(command)
        return command  # type: ignore[no-any-return]

    return decorate


def publish_check_report(
    report: Report,
    config: ConfigFile,
    output: Path | None,
    github: GitHubFlags,
    *,
    html_report: Path | None = None,
    actions: ActionsEnvironment | None = None,
) -> int:
    """After `mlci check` printed its report: comment, artifact, job summary, outputs and
    annotations. Returns the exit code: the checks' unless --strict-comment and posting failed.
    `actions`: the Actions environment the checks already read (its event payload parsed)."""
    from mlci.sources.github_event import ActionsEnvironment

    actions = actions if actions is not None else ActionsEnvironment(os.environ)
    if not github.summary:  # another job publishes the merged report
        actions = ActionsEnvironment({k: v for k, v in actions.items() if k != "GITHUB_ACTIONS"})
    in_actions = actions.in_actions
    if not (github.comment or github.comment_artifact or in_actions):
        return report.exit_code
    from mlci.cli.output import render_options
    from mlci.github.publish import PublishRequest, publish_report
    from mlci.github.settings import GitHubSettings, load_settings

    def settings_from(env: Mapping[str, str]) -> GitHubSettings:
        return load_settings(
            env,
            repository=github.repo,
            pr_number=github.pr,
            head_sha=github.sha,
            token=github.token,
            api_url=github.api_url,
        )

    try:
        settings = settings_from(actions)
    except InputFileError as error:  # a broken event payload: still write summary and outputs
        click.echo(f"mlci: warning: {error}", err=True)
        settings = settings_from({k: v for k, v in actions.items() if k != "GITHUB_EVENT_PATH"})
    extra = config.config.report.output
    report_path = output or (config.resolve(extra) if extra else None)
    done = publish_report(
        report,
        render_options(config),
        settings,
        PublishRequest(
            comment=github.comment,
            comment_artifact=github.comment_artifact,
            report_path=report_path,
            html_report=html_report,
            config_path=config.path,
            workspace=Path(os.environ.get("GITHUB_WORKSPACE") or Path.cwd()),
        ),
        os.environ,
    )
    from mlci.github.actions import write_commands

    write_commands(done.log)
    for message in done.messages:
        click.echo(message, err=True)
    if done.comment_error is not None and github.strict_comment:
        return max(report.exit_code, done.comment_error.exit_code)
    return report.exit_code


@click.command()
@click.option(
    "--body-file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="The comment body (markdown), such as `mlci check -o report.md` wrote; '-' for stdin.",
)
@click.option(
    "--from-artifact",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Post what `mlci check --comment-artifact DIR` wrote (in a workflow_run job).",
)
@github_options(check=False)
@pass_state
def comment(
    state: CliState, body_file: Path | None, from_artifact: Path | None, github: GitHubFlags
) -> int:
    """Post a report as the sticky PR comment: update the comment this report id posted
    before (found by its hidden marker on any page of comments), or create it.

    With --from-artifact, the artifact is untrusted: the PR number must be a positive integer,
    the body must fit GitHub's limit, and in a workflow_run job the pull request's head must be
    the commit the triggering run was for.
    """
    from mlci.github.comments import FULL_REPORT, fit_comment, read_comment_artifact, report_id_of
    from mlci.github.publish import default_client
    from mlci.github.settings import load_settings

    if (body_file is None) == (from_artifact is None):
        raise click.UsageError("give exactly one of --body-file FILE and --from-artifact DIR")
    if from_artifact is not None and github.pr is not None:
        raise click.UsageError("--pr cannot be combined with --from-artifact (it holds the PR)")
    pr_number = github.pr
    if from_artifact is not None:
        artifact = read_comment_artifact(from_artifact)
        if artifact.pr_number is None:
            click.echo("mlci: the artifact is not for a pull request: nothing to post", err=True)
            return 0
        body, pr_number = artifact.body, artifact.pr_number
    else:
        assert body_file is not None
        body = _read_body(body_file)
    settings = load_settings(
        os.environ,
        repository=github.repo,
        pr_number=pr_number,
        token=github.token,
        api_url=github.api_url,
    )
    from_file = body_file is not None and str(body_file) != "-"
    where = f"{body_file}" if from_file and not settings.in_actions else FULL_REPORT
    fitted = fit_comment(body, where)
    if fitted != body:
        click.echo(
            "mlci: the body is over GitHub's comment limit: posting it cut at a section "
            f"boundary, with a note pointing at {where}",
            err=True,
        )
    body = fitted
    report_id = github.report_id or report_id_of(body) or _configured_id(state)
    repository, number = settings.require_target()
    client = default_client(settings)
    from mlci.github.client import GitHubApiError
    from mlci.github.comments import explain, post_sticky_comment, stale_head

    try:
        if from_artifact is not None and settings.workflow_run_head_sha:
            stale = stale_head(client, repository, number, settings.workflow_run_head_sha)
            if stale is not None:
                click.echo(f"mlci: {stale}", err=True)
                return 0
        posted = post_sticky_comment(client, repository, number, body, report_id)
    except GitHubApiError as error:
        raise explain(error, repository, number) from None
    finally:
        for wait in client.waits:
            click.echo(f"mlci: {wait}", err=True)
    click.echo(posted.html_url)
    click.echo(f"mlci: PR comment {posted.action}", err=True)
    if settings.in_actions and os.environ.get("GITHUB_OUTPUT"):
        from mlci.github.actions import write_outputs

        write_outputs(Path(os.environ["GITHUB_OUTPUT"]), {"comment-url": posted.html_url})
    return 0


def _read_body(path: Path) -> str:
    from mlci.yaml_source import read_text

    if str(path) != "-":
        body = read_text(path, "comment body file")
    else:
        body = _read_stdin()
    if not body.strip():
        raise InputFileError(
            "comment body is empty: nothing to post",
            path=None if str(path) == "-" else path,
            hint="write the report with `mlci check -o report.md` first",
        )
    return body


def _read_stdin() -> str:
    """The body from standard input, which may be closed, absent or not UTF-8."""
    stream = sys.stdin
    try:
        if stream is None or stream.closed:
            raise OSError("standard input is closed")
        raw = stream.buffer.read() if hasattr(stream, "buffer") else stream.read().encode()
    except (OSError, ValueError) as exc:
        raise InputFileError(
            f"cannot read the comment body from standard input ({exc})",
            hint="pipe the report in, or pass --body-file FILE",
        ) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputFileError(
            f"comment body on standard input is not valid UTF-8 (byte {exc.start})",
            hint="pipe UTF-8 text",
        ) from None


def _configured_id(state: CliState) -> str:
    try:
        return state.config(required=False).config.report.id
    except MlciError:  # a broken mlci.yaml must not stop posting a finished report
        return "default"
