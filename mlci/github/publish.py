"""Everything `mlci check` hands to GitHub: the sticky PR comment (or the fork-safe artifact),
the job summary, step outputs and annotations. Nothing here prints: the lines for the log come
back in a `Publication` and the CLI prints them."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from mlci.errors import MlciError
from mlci.github.actions import (
    ANNOTATIONS_PER_JOB,
    ANNOTATIONS_PER_LEVEL,
    AnnotationsWritten,
    annotation_commands,
    annotations_written,
    append_step_summary,
    record_annotations,
    step_annotations_used,
    summary_room,
    write_outputs,
)
from mlci.github.client import Comment, GitHubClient
from mlci.github.settings import GitHubSettings
from mlci.report.model import Report
from mlci.report.options import RenderOptions

ClientFactory = Callable[[GitHubSettings], GitHubClient]


@dataclass(frozen=True)
class PublishRequest:
    comment: bool = False
    """Post (or update) the sticky PR comment."""
    comment_artifact: Path | None = None
    """Write the comment body and PR number here for the fork-safe flow."""
    report_path: Path | None = None
    """The report file written with -o, for the `report-path` output."""
    html_report: Path | None = None
    """The HTML report written (`--html`, or -o *.html): the action uploads it as an artifact,
    and the comment and job summary link to the run's artifacts."""
    config_path: Path | None = None
    """The config file, whose gate lines the annotations point at."""
    workspace: Path = field(default_factory=Path.cwd)


@dataclass
class Publication:
    """What publishing did, and what the CLI should say."""

    log: list[str] = field(default_factory=list)
    """Lines for stdout (workflow commands)."""
    messages: list[str] = field(default_factory=list)
    """Lines for stderr, each a full sentence."""
    comment_url: str | None = None
    comment_error: MlciError | None = None
    """Why posting the comment failed, when it did."""


def default_client(settings: GitHubSettings) -> GitHubClient:
    return GitHubClient(settings.api_url, settings.require_token())


def publish_report(
    report: Report,
    options: RenderOptions,
    settings: GitHubSettings,
    request: PublishRequest,
    env: Mapping[str, str],
    client_factory: ClientFactory = default_client,
) -> Publication:
    """Comment, artifact, summary, outputs, annotations — each failure is said, none stops the
    others, and the report files written before stay written."""
    from mlci.github.comments import write_comment_artifact
    from mlci.report.markdown import render_comment

    done = Publication()
    shown = replace(options, run_url=settings.run_url, commit=settings.head_sha)
    if request.html_report is not None and settings.in_actions and settings.run_url:
        shown = replace(shown, html_report_url=f"{settings.run_url}#artifacts")
    if request.comment or request.comment_artifact is not None:
        where = "the job summary and the report artifact" if settings.in_actions else "-o FILE"
        body = render_comment(report, replace(shown, full_report=where))
        if request.comment_artifact is not None:
            write_comment_artifact(request.comment_artifact, body, settings.pr_number)
            target = (
                f"pull request #{settings.pr_number}" if settings.pr_number else "no pull request"
            )
            done.messages.append(
                f"mlci: wrote the PR comment for {target} to {request.comment_artifact}"
            )
        if request.comment:
            _post(
                done,
                report,
                body,
                settings,
                client_factory,
                _with_pushes(report, replace(shown, full_report=where)),
            )
    if settings.in_actions:
        _actions_files(done, report, shown, request, env)
    return done


def _with_pushes(report: Report, options: RenderOptions) -> Callable[[Comment | None], str]:
    """The comment body made from the comment it replaces: the gated metrics of this pull
    request's earlier pushes (its hidden block) are shown, and this push is added to them."""
    from mlci.github.pushes import (
        MAX_BLOCK,
        MalformedPushes,
        after_push,
        pushes_block,
        read_pushes,
        with_block,
    )
    from mlci.report.history import gated_values
    from mlci.report.markdown import COMMENT_BUDGET, render_fitted

    def body_for(existing: Comment | None) -> str:
        previous = []
        if existing is not None:
            try:
                previous = read_pushes(existing.body)
            except MalformedPushes:
                previous = []  # not mlci's: start again from this push
        commit = options.commit
        # Kept on the report: the job summary written next shows them too.
        report.pushes = [push for push in previous if push.commit != commit]
        # Room is left for the block, so fitting the comment to GitHub's limit never cuts it.
        body = render_fitted(report, options, COMMENT_BUDGET - MAX_BLOCK - 64)
        values = gated_values(report)  # a report of several projects: each project's
        if commit is None or not values:
            return body
        pushes = after_push(report.pushes, commit, values)
        return with_block(body, pushes_block(pushes))

    return body_for


def _post(
    done: Publication,
    report: Report,
    body: str,
    settings: GitHubSettings,
    client_factory: ClientFactory,
    body_for: Callable[[Comment | None], str] | None = None,
) -> None:
    from mlci.github.comments import post_sticky_comment

    if settings.pr_number is None:
        done.messages.append("mlci: not a pull request: no PR comment posted")
        return
    client = None
    try:
        repository, number = settings.require_target()
        client = client_factory(settings)
        posted = post_sticky_comment(
            client, repository, number, body, report.report_id, body_for=body_for
        )
    except MlciError as error:
        done.comment_error = error
        done.messages.append(f"mlci: warning: could not post the PR comment: {error}")
        return
    finally:
        done.messages.extend(f"mlci: {wait}" for wait in (client.waits if client else ()))
    done.comment_url = posted.html_url
    done.messages.append(f"mlci: PR comment {posted.action}: {posted.html_url}")


def _actions_files(
    done: Publication,
    report: Report,
    options: RenderOptions,
    request: PublishRequest,
    env: Mapping[str, str],
) -> None:
    from mlci.github.annotations import report_annotations
    from mlci.report.markdown import render_fitted

    written = annotations_written(env)
    annotations = annotation_commands(
        report_annotations(report, config_path=request.config_path, workspace=request.workspace),
        job_room=ANNOTATIONS_PER_JOB - written.job,
        step_used=step_annotations_used(env, written),
    )
    done.log.extend(annotations.commands)
    record_annotations(env, annotations.shown)
    note = _left_out_note(annotations.left_out_text, written)
    summary = env.get("GITHUB_STEP_SUMMARY")
    try:
        if summary:
            path = Path(summary)
            room = summary_room(path) - len(note.encode())
            if room > 1_024:
                where = (
                    "the report artifact" if request.report_path else "the mlci report (-o FILE)"
                )
                text = render_fitted(report, replace(options, full_report=where), room - 2)
                append_step_summary(path, "\n" + text + note)
            else:
                done.messages.append("mlci: warning: the job summary is full; report not added")
    except MlciError as error:
        done.messages.append(f"mlci: warning: {error}")
    outputs = env.get("GITHUB_OUTPUT")
    if outputs:
        try:
            write_outputs(Path(outputs), step_outputs(report, request, done))
        except MlciError as error:
            done.messages.append(f"mlci: warning: {error}")


def _left_out_note(left_out: str | None, written: AnnotationsWritten) -> str:
    """The job summary's note on the annotations left out; mlci knows only its own."""
    if not left_out:
        return ""
    earlier = f" (mlci's earlier commands in this job wrote {written.job})" if written.job else ""
    return (
        f"\n> [!NOTE]\n> {left_out} of this report are not shown as annotations: GitHub shows "
        f"at most {ANNOTATIONS_PER_LEVEL} of each type per step and {ANNOTATIONS_PER_JOB} per "
        f"job{earlier}. Other tools' annotations count too, and mlci cannot see them: GitHub may "
        "show fewer. All of them are in this report.\n"
    )


def step_outputs(report: Report, request: PublishRequest, done: Publication) -> dict[str, str]:
    """The step outputs: `passed`, `status`, `exit-code`, `report-path`, `comment-url`,
    `headline`, `counts` (JSON) and one output per count (`gates-failed`, ...)."""
    from mlci.report.tables import headline

    counts = report.counts()
    outputs = {
        "passed": "true" if report.status == "passed" else "false",
        "status": report.status,
        "exit-code": str(report.exit_code),
        "report-path": str(request.report_path.resolve()) if request.report_path else "",
        "comment-url": done.comment_url or "",
        "headline": headline(report),
        "counts": json.dumps(counts, sort_keys=True),
        "problems": str(len(report.problems)),
    }
    for group, values in counts.items():
        for key, value in values.items():
            outputs[f"{group}-{key}"] = str(value)
    return outputs
