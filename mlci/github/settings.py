"""Where mlci posts: repository, pull request, commit, API and token, from the Actions
environment and event payload, overridable by command-line flags."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from mlci.errors import GitHubError
from mlci.sources.github_event import PullRequestRef, actions_environment, pull_request_from_event

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_SERVER_URL = "https://github.com"
_REPOSITORY = re.compile(r"(?!\.\.?/)[A-Za-z0-9_.\-]+/(?!\.\.?$)[A-Za-z0-9_.\-]+")
"""OWNER/NAME; `.` and `..` are path segments, not names (`../..` would leave /repos/)."""
_SHA = re.compile(r"[0-9a-fA-F]{7,64}")


class Token:
    """A secret that never shows itself: `str()`, `repr()` and f-strings give `***`."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the Authorization header only."""
        return self._value

    def __repr__(self) -> str:
        return "Token('***')"

    def __str__(self) -> str:
        return "***"

    def __format__(self, spec: str) -> str:
        return "***"

    def __reduce__(self) -> Any:
        raise TypeError("a Token cannot be pickled")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Token) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Token", self._value))


@dataclass(frozen=True)
class GitHubSettings:
    """Everything posting needs; built by `load_settings`, never from the network."""

    api_url: str
    token: Token | None
    repository: str | None
    pr_number: int | None
    head_sha: str | None
    in_actions: bool = False
    event_name: str | None = None
    workflow_run_head_sha: str | None = None
    """For `workflow_run` events: the commit the triggering run was for (trusted)."""
    server_url: str = DEFAULT_SERVER_URL
    run_id: str | None = None

    @property
    def run_url(self) -> str | None:
        """The link to this workflow run, when mlci runs in GitHub Actions."""
        if not (self.in_actions and self.repository and self.run_id):
            return None
        return f"{self.server_url}/{self.repository}/actions/runs/{quote(self.run_id)}"

    def require_target(self) -> tuple[str, int]:
        if not self.repository:
            raise GitHubError(
                "no repository to post to: GITHUB_REPOSITORY is not set",
                hint="pass --repo OWNER/NAME",
            )
        if self.pr_number is None:
            raise GitHubError(
                "no pull request to comment on: this event is not a pull request",
                hint="pass --pr NUMBER",
            )
        return self.repository, self.pr_number

    def require_token(self) -> Token:
        if self.token is None:
            raise GitHubError(
                "no GitHub token: GITHUB_TOKEN is not set",
                hint="in the workflow step add `env: GITHUB_TOKEN: ${{ github.token }}`, "
                "or pass --token",
            )
        return self.token


def load_settings(
    env: Mapping[str, str],
    *,
    repository: str | None = None,
    pr_number: int | None = None,
    head_sha: str | None = None,
    token: str | None = None,
    api_url: str | None = None,
) -> GitHubSettings:
    """The settings from the Actions environment (`GITHUB_*`) and event payload; each argument
    given wins over what the environment says."""
    env = actions_environment(env)
    in_actions = env.in_actions
    event_name = env.get("GITHUB_EVENT_NAME") or None
    found = pull_request_from_event(env.event(), env)
    repository = repository or env.get("GITHUB_REPOSITORY") or found.repository
    if repository is not None and not _REPOSITORY.fullmatch(repository):
        raise GitHubError(
            f"repository {repository!r} is not OWNER/NAME", hint="pass --repo OWNER/NAME"
        )
    if pr_number is not None and pr_number < 1:
        raise GitHubError(f"pull request number {pr_number} is not positive", hint="pass --pr N")
    sha = head_sha or found.head_sha or env.get("GITHUB_SHA") or None
    if sha is not None and not _SHA.fullmatch(sha):
        raise GitHubError(f"commit {sha!r} is not a hexadecimal SHA", hint="pass --sha SHA")
    secret = token or env.get("GITHUB_TOKEN") or None
    api = (api_url or env.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")
    _check_url(api, "GITHUB_API_URL" if not api_url else "--api-url")
    server = (env.get("GITHUB_SERVER_URL") or DEFAULT_SERVER_URL).rstrip("/")
    _check_url(server, "GITHUB_SERVER_URL")
    run_id = env.get("GITHUB_RUN_ID") or None
    if run_id is not None and not run_id.isdigit():
        run_id = None
    return GitHubSettings(
        api_url=api,
        token=Token(secret) if secret else None,
        repository=repository,
        pr_number=pr_number if pr_number is not None else found.number,
        head_sha=sha,
        in_actions=in_actions,
        event_name=event_name,
        workflow_run_head_sha=found.workflow_run_head_sha,
        server_url=server,
        run_id=run_id,
    )


def _check_url(url: str, where: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or re.search(r"[\s<>()\"']", url):
        raise GitHubError(f"{where} {url!r} is not an http(s) URL")


__all__ = ["GitHubSettings", "PullRequestRef", "Token", "load_settings"]
