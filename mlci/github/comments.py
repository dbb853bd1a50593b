"""The sticky PR comment: one per report id, found by its hidden marker and updated in place;
and the fork-safe comment artifact that carries it from an untrusted job to a trusted one."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mlci.errors import GitHubError, InputFileError
from mlci.github.client import Comment, GitHubApiError, GitHubClient
from mlci.report.markdown import COMMENT_LIMIT, comment_marker

_MARKER = re.compile(r"<!-- mlci:report id=([A-Za-z0-9_.\-]{1,64}) -->")
REPORT_ID = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
BODY_FILE = "comment.md"
PR_FILE = "pr-number"
FORK_SETUP = (
    "pull requests from forks get a read-only token: run `mlci check --comment-artifact DIR` "
    "in the pull request workflow and `mlci comment --from-artifact DIR` in a `workflow_run` "
    "workflow (see docs/github.md, 'Pull requests from forks')"
)


@dataclass(frozen=True)
class PostedComment:
    action: Literal["created", "updated"]
    comment: Comment

    @property
    def html_url(self) -> str:
        return self.comment.html_url


def report_id_of(body: str) -> str | None:
    """The report id of the first mlci marker in `body`."""
    match = _MARKER.search(body)
    return match[1] if match else None


def with_marker(body: str, report_id: str) -> str:
    """`body` starting with exactly one marker, for `report_id` (other mlci markers go)."""
    if not REPORT_ID.fullmatch(report_id):
        raise GitHubError(
            f"report id {report_id!r} may hold only letters, digits, '_', '.', '-' (1-64)",
            hint="pass --report-id ID",
        )
    stripped = _MARKER.sub("", body).lstrip("\n")
    return f"{comment_marker(report_id)}\n{stripped}"


COMMENT_ROOM = COMMENT_LIMIT - 1_024
"""What a posted body may hold, in `comment_length` units: a margin below GitHub's limit."""
FULL_REPORT = "the job summary and the report artifact"


def comment_length(body: str) -> int:
    """The body's length as GitHub counts it against its 65,536-character limit, erring long:
    UTF-16 code units (a character outside the BMP counts twice), never fewer than characters."""
    return len(body.encode("utf-16-le")) // 2


def fit_comment(body: str, where: str = FULL_REPORT, room: int = COMMENT_ROOM) -> str:
    """`body` if it fits GitHub's limit (with a margin), else cut at the last section boundary
    that fits (a heading, else a blank line outside a code block), with a note saying where the
    whole report is. Never refuses: a report too long for a comment is still posted."""
    if comment_length(body) <= room:
        return body
    note = (
        "\n\n> [!NOTE]\n> The report is too long for a comment and was cut here: the full "
        f"report is in {where}.\n"
    )
    kept = _cut(body, room - comment_length(note) - 32)  # 32: closing tags added below
    return kept.rstrip() + _close_blocks(kept) + note


def _cut(body: str, room: int) -> str:
    """The longest prefix of `body` within `room` that ends at a section boundary."""
    prefix = body[:room]
    while comment_length(prefix) > room:  # characters outside the BMP count twice
        prefix = prefix[: len(prefix) - (comment_length(prefix) - room + 1) // 2 - 1]
    lines = prefix.split("\n")[:-1]  # the last line may be cut in the middle
    heading = blank = line_end = 0
    fenced = False
    offset = 0
    for line in lines:
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        if not fenced and offset > 0:
            if line.startswith("#"):
                heading = offset
            elif not line.strip():
                blank = offset
        offset += len(line) + 1
        line_end = offset
    # a boundary that keeps less than half of what fits is no better than the last full line
    end = next((at for at in (heading, blank) if at >= room // 2), line_end) or len(prefix)
    return body[:end]


def _close_blocks(kept: str) -> str:
    """What closes the code fence and `<details>` blocks the cut left open."""
    closing = ""
    fences = sum(1 for line in kept.split("\n") if line.lstrip().startswith(("```", "~~~")))
    if fences % 2:
        closing += "\n```"
    open_details = len(re.findall(r"<details\b", kept)) - len(re.findall(r"</details>", kept))
    closing += "\n\n</details>" * max(min(open_details, 4), 0)
    return closing


def post_sticky_comment(
    client: GitHubClient,
    repository: str,
    number: int,
    body: str,
    report_id: str,
    *,
    body_for: Callable[[Comment | None], str] | None = None,
) -> PostedComment:
    """Update this report's comment on the pull request, or create it.

    Every page of comments is read: the first comment that starts with the report's marker is
    the one (a comment that only quotes the marker is not). If GitHub refuses to edit it (it
    was written by someone else), the next one is tried, then a new one is created. Two runs
    that both found none and both created one leave one: see `_keep_the_oldest`.

    `body_for`, when given, makes the body from the comment about to be replaced (None when
    one is created): what the earlier comment kept (this pull request's earlier pushes) goes on.
    """

    def final(existing: Comment | None) -> str:
        text = body_for(existing) if body_for is not None else body
        return fit_comment(with_marker(text, report_id))

    marker = comment_marker(report_id)
    try:
        mine = [c for c in client.issue_comments(repository, number) if _starts_with(c, marker)]
        for existing in mine:
            try:
                return PostedComment(
                    "updated", client.update_comment(repository, existing.id, final(existing))
                )
            except GitHubApiError as error:
                # Someone else's comment quoting our marker, or deleted meanwhile: try the next.
                if error.status not in (403, 404):
                    raise
        body = final(None)
        created = client.create_comment(repository, number, body)
        return _keep_the_oldest(client, repository, number, body, marker, created)
    except GitHubApiError as error:
        raise explain(error, repository, number) from None


def stale_head(client: GitHubClient, repository: str, number: int, run_head_sha: str) -> str | None:
    """Why a comment made by an earlier run must not be posted: the pull request has moved past
    the commit that run was for (a newer push posts its own report); None when it has not."""
    head = client.pull_request_head(repository, number)
    if head == run_head_sha:
        return None
    return (
        f"not posting: pull request #{number} is at {str(head)[:12]}, but the run that made the "
        f"artifact was for {run_head_sha[:12]} (a newer push posts its own report)"
    )


def _keep_the_oldest(
    client: GitHubClient, repository: str, number: int, body: str, marker: str, created: Comment
) -> PostedComment:
    """After creating: if another run of the same report created its comment meanwhile, the
    oldest of them takes this body and this run's comment is deleted, so one stays."""
    twins = sorted(
        (
            comment
            for comment in client.issue_comments(repository, number)
            if _starts_with(comment, marker) and comment.user == created.user
        ),
        key=lambda comment: comment.id,
    )
    if not twins or twins[0].id == created.id:
        return PostedComment("created", created)
    try:
        kept = client.update_comment(repository, twins[0].id, body)
        client.delete_comment(repository, created.id)
    except GitHubApiError as error:
        if error.status not in (403, 404):  # the other run deleted it: ours stays
            raise
        return PostedComment("created", created)
    return PostedComment("updated", kept)


def _starts_with(comment: Comment, marker: str) -> bool:
    return comment.body.lstrip().startswith(marker)


def explain(error: GitHubApiError, repository: str, number: int) -> GitHubApiError:
    """The error with its likely cause and what to do about it."""
    if error.explained:
        return error
    error.explained = True
    status = error.status
    if error.rate_limit is not None:
        return _explain_rate_limit(error)
    if status == 401:
        error.message = (
            f"GitHub rejected the token (401 {error.github_message or 'Bad credentials'})"
        )
        error.hint = (
            "the token is wrong or expired: set GITHUB_TOKEN (in a workflow: "
            "`env: GITHUB_TOKEN: ${{ github.token }}`) or pass --token"
        )
    elif status == 403:
        error.message = (
            f"GitHub refused to write a comment on {repository}#{number} "
            f"(403 {error.github_message or 'Forbidden'})"
        )
        error.hint = (
            "the token lacks `pull-requests: write` (add `permissions: pull-requests: write` "
            f"to the job); {FORK_SETUP}"
        )
    elif status == 404:
        error.message = (
            f"GitHub found no pull request #{number} in {repository} "
            f"(404 {error.github_message or 'Not Found'})"
        )
        error.hint = (
            "check --repo and --pr; a private repository also answers 404 when the token "
            "cannot read it"
        )
    elif status == 422:
        error.hint = "GitHub did not accept the comment body"
    elif status is not None and 300 <= status < 400 and error.hint is None:
        error.hint = "the repository may have moved: pass --repo OWNER/NAME"
    return error


def _explain_rate_limit(error: GitHubApiError) -> GitHubApiError:
    """A rate limit is not a permission problem: say which one, and when it lifts."""
    if error.rate_limit == "primary":
        when = f"; it resets in {math.ceil(error.reset_in)} s" if error.reset_in is not None else ""
        error.message = f"GitHub's rate limit for this token is used up{when}: {error.message}"
        error.hint = (
            "the report is still in the job summary and the report artifact; re-run the job "
            "after the reset, or spread the jobs that share this token"
        )
    else:
        error.message = f"GitHub's secondary rate limit stopped the request: {error.message}"
        error.hint = (
            "too many requests in a short time (jobs sharing the token?); the report is still "
            "in the job summary and the report artifact; re-run the job in a few minutes"
        )
    return error


# --- the fork-safe artifact ----------------------------------------------------------------


@dataclass(frozen=True)
class CommentArtifact:
    body: str
    pr_number: int | None


def write_comment_artifact(directory: Path, body: str, pr_number: int | None) -> None:
    """What the untrusted pull-request job hands to the trusted commenting job."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for name in (BODY_FILE, PR_FILE):  # a planted symlink is replaced, never written through
            if (directory / name).is_symlink():
                (directory / name).unlink()
        (directory / BODY_FILE).write_text(body, encoding="utf-8")
        pr_file = directory / PR_FILE
        if pr_number is not None:
            pr_file.write_text(f"{pr_number}\n", encoding="utf-8")
        elif pr_file.exists():
            pr_file.unlink()
    except OSError as exc:
        raise InputFileError(
            f"cannot write the comment artifact: {exc.strerror}", path=directory
        ) from None


def read_comment_artifact(directory: Path) -> CommentArtifact:
    """The artifact, checked as the untrusted input it is: regular files only, the PR number
    a positive integer, the body valid UTF-8 within GitHub's limit."""
    if not directory.is_dir():
        raise InputFileError(
            "comment artifact directory not found",
            path=directory,
            hint="download the artifact `mlci check --comment-artifact DIR` wrote",
        )
    # Four UTF-8 bytes a character at most; the body is fitted to GitHub's limit when posted.
    body_bytes = _read_small(directory / BODY_FILE, 4 * COMMENT_LIMIT, "comment body")
    if body_bytes is None:
        raise InputFileError(
            f"comment artifact has no {BODY_FILE}",
            path=directory,
            hint="write it with `mlci check --comment-artifact DIR`",
        )
    try:
        body = body_bytes.decode("utf-8")
    except UnicodeDecodeError:
        raise InputFileError(
            "comment body is not valid UTF-8", path=directory / BODY_FILE
        ) from None
    pr_bytes = _read_small(directory / PR_FILE, 32, "pull request number")
    pr_number = None
    if pr_bytes is not None:
        text = pr_bytes.decode("ascii", errors="replace").strip()
        if not re.fullmatch(r"[1-9][0-9]{0,9}", text):
            raise InputFileError(
                f"pull request number {text[:20]!r} is not a positive integer",
                path=directory / PR_FILE,
            )
        pr_number = int(text)
    return CommentArtifact(body=body, pr_number=pr_number)


def _read_small(path: Path, limit: int, what: str) -> bytes | None:
    if path.is_symlink():
        raise InputFileError(f"{what} in the artifact is a symlink", path=path)
    if not path.exists():
        return None
    if not path.is_file():
        raise InputFileError(f"{what} in the artifact is not a regular file", path=path)
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise InputFileError(f"cannot read {what}: {exc.strerror}", path=path) from None
    if len(data) > limit:
        raise InputFileError(
            f"{what} is larger than {limit:,} bytes", path=path, hint="the artifact is not mlci's"
        )
    return data
