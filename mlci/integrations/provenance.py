"""Which commit, branch and pull request a result belongs to: in GitHub Actions from the event
payload (the PR head, not GitHub's merge commit), locally from git."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mlci.errors import GitError
from mlci.sources.git import Git


@dataclass(frozen=True)
class Provenance:
    commit: str | None
    """The commit the code under test was written at: in a pull_request job the PR head SHA."""
    branch: str | None
    pull_request: int | None = None
    merge_commit: str | None = None
    """GitHub's test merge commit (GITHUB_SHA) in a pull_request job, not a commit of the PR."""
    repository_url: str | None = None
    run_url: str | None = None
    """The GitHub Actions run that produced the result."""


def detect_provenance(env: Mapping[str, str], git: Git | None) -> Provenance:
    """Provenance from the GitHub Actions environment when present, else from the local clone."""
    from mlci.sources.github_event import actions_environment, pull_request_from_event

    env = actions_environment(env)
    repository_url = run_url = None
    server = env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    if repository := env.get("GITHUB_REPOSITORY"):
        repository_url = f"{server}/{repository}"
        if run_id := env.get("GITHUB_RUN_ID"):
            run_url = f"{repository_url}/actions/runs/{run_id}"
    event = env.event()
    workflow_run = event.get("workflow_run")
    if isinstance(workflow_run, dict):
        # The fork-safe pattern: a `workflow_run` job acting on the PR run that triggered it.
        found = pull_request_from_event(event, env)
        return Provenance(
            commit=found.workflow_run_head_sha or _local_commit(git),
            branch=_text(workflow_run.get("head_branch")),
            pull_request=found.number,
            repository_url=repository_url,
            run_url=run_url,
        )
    if isinstance(event.get("pull_request"), dict) or env.get("GITHUB_HEAD_REF"):
        found = pull_request_from_event(event, env)
        pull = event.get("pull_request")
        head = pull.get("head") if isinstance(pull, dict) else None
        head = head if isinstance(head, dict) else {}
        return Provenance(
            commit=found.head_sha or _local_commit(git),
            branch=env.get("GITHUB_HEAD_REF") or _text(head.get("ref")),
            pull_request=found.number,
            merge_commit=env.get("GITHUB_SHA"),
            repository_url=repository_url,
            run_url=run_url,
        )
    if env.get("GITHUB_SHA"):
        ref = env.get("GITHUB_REF", "")
        branch = env.get("GITHUB_REF_NAME") if ref.startswith("refs/heads/") else None
        return Provenance(
            commit=env["GITHUB_SHA"],
            branch=branch,
            repository_url=repository_url,
            run_url=run_url,
        )
    return Provenance(
        commit=_local_commit(git),
        branch=_local_branch(git),
        repository_url=repository_url,
        run_url=run_url,
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _local_commit(git: Git | None) -> str | None:
    if git is None:
        return None
    try:
        out = git.run("rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False)
    except GitError:
        return None
    return out.decode().strip() or None


def _local_branch(git: Git | None) -> str | None:
    if git is None:
        return None
    try:
        out = git.run("branch", "--show-current", check=False)
    except GitError:
        return None
    return out.decode().strip() or None
