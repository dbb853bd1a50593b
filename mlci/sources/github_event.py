"""What GitHub Actions tells a step about its run: the `GITHUB_*` variables and the event payload
(`GITHUB_EVENT_PATH`), read here and nowhere else, the payload parsed once per process.

It is an input like any other file, so it lives with the sources: the base revision (sources/git),
the provenance of an MLflow run (integrations) and the posting settings (github/settings) all read
it through `ActionsEnvironment`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlci.errors import InputFileError
from mlci.json_source import parse_json

_PR_REF = re.compile(r"refs/pull/(\d+)/(?:merge|head)")


@dataclass(frozen=True)
class PullRequestRef:
    """What the event says about the pull request; every field may be unknown."""

    repository: str | None = None
    number: int | None = None
    head_sha: str | None = None
    workflow_run_head_sha: str | None = None


class ActionsEnvironment(Mapping[str, str]):
    """The `GITHUB_*` variables of an environment, as a read-only mapping, and the event
    payload they point at, parsed at most once (`actions_environment` builds it)."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._variables = {key: value for key, value in env.items() if key.startswith("GITHUB_")}
        self._event: dict[str, Any] | None = None

    def __getitem__(self, key: str) -> str:
        return self._variables[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._variables)

    def __len__(self) -> int:
        return len(self._variables)

    @property
    def in_actions(self) -> bool:
        return self._variables.get("GITHUB_ACTIONS") == "true"

    def event(self) -> dict[str, Any]:
        """The event payload ({} without one); raises InputFileError naming a payload that
        cannot be read."""
        if self._event is None:
            path = self._variables.get("GITHUB_EVENT_PATH")
            self._event = read_event(Path(path)) if path else {}
        return self._event


def actions_environment(env: Mapping[str, str]) -> ActionsEnvironment:
    """`env` as an ActionsEnvironment: itself when it already is one (its payload then is not
    read again)."""
    return env if isinstance(env, ActionsEnvironment) else ActionsEnvironment(env)


def read_event(path: Path) -> dict[str, Any]:
    """The event payload; an unreadable or malformed file is an input error naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputFileError(
            "GitHub event payload not found", path=path, hint="check GITHUB_EVENT_PATH"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"cannot read the GitHub event payload: {exc}", path=path) from None
    data = parse_json(
        text,
        path,
        invalid="GitHub event payload is not valid JSON",
        deep="GitHub event payload is nested too deeply to read",
    )
    if not isinstance(data, dict):
        raise InputFileError("GitHub event payload is not a JSON object", path=path)
    return data


def pull_request_from_event(event: Mapping[str, Any], env: Mapping[str, str]) -> PullRequestRef:
    """The pull request of `pull_request`, `pull_request_target`, `issue_comment` on a pull
    request and `workflow_run` events (a fork's `workflow_run` lists no pull request: the
    fork-safe flow carries the number in an artifact instead)."""
    repository = _string(_get(event, "repository", "full_name"))
    pull = event.get("pull_request")
    if isinstance(pull, Mapping):
        return PullRequestRef(
            repository=repository,
            number=_positive(pull.get("number")),
            head_sha=_string(_get(pull, "head", "sha")),
        )
    issue = event.get("issue")
    if isinstance(issue, Mapping) and isinstance(issue.get("pull_request"), Mapping):
        return PullRequestRef(repository=repository, number=_positive(issue.get("number")))
    run = event.get("workflow_run")
    if isinstance(run, Mapping):
        pulls = run.get("pull_requests")
        number = None
        if isinstance(pulls, list) and len(pulls) == 1 and isinstance(pulls[0], Mapping):
            number = _positive(pulls[0].get("number"))
        sha = _string(run.get("head_sha"))
        return PullRequestRef(
            repository=repository, number=number, head_sha=sha, workflow_run_head_sha=sha
        )
    match = _PR_REF.fullmatch(env.get("GITHUB_REF", ""))
    return PullRequestRef(
        repository=repository, number=_positive(match[1]) if match else None, head_sha=None
    )


def _get(data: Mapping[str, Any], *keys: str) -> Any:
    value: Any = data
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _positive(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    return value if isinstance(value, int) and value > 0 else None
