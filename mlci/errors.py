"""The error tree: every expected failure is an MlciError that knows its exit code."""

from __future__ import annotations

import enum
import os
import re
from pathlib import Path


class ExitCode(enum.IntEnum):
    """The exit-code contract shared by every command."""

    OK = 0
    CHECK_FAILED = 1
    USER_ERROR = 2
    INTERNAL_ERROR = 3
    INTERRUPTED = 130


class MlciError(Exception):
    """An expected failure caused by the user's input or environment (exit 2 by default).

    `message` is one line saying what is wrong; `hint` says what to do about it.
    `path`, `line` and `column` locate the problem when it sits in a file.
    """

    exit_code: ExitCode = ExitCode.USER_ERROR

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        path: str | Path | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.path = str(path) if path is not None else None
        self.line = line
        self.column = column

    @property
    def location(self) -> str | None:
        """`file:line:column`, as far as it is known."""
        if self.path is None:
            return None
        parts = [display_path(self.path)]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}" if self.location else self.message
        if self.hint:
            text = f"{text} ({self.hint})"
        return one_line(text)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def one_line(text: str) -> str:
    """`text` as one line of plain characters: a newline, CR, ESC or any other control
    character from a user's file is shown escaped (`\\n`, `\\x1b`), never acted on by a
    terminal or read as a second line."""
    return _CONTROL.sub(_escape_control, text)


def _escape_control(match: re.Match[str]) -> str:
    character = match[0]
    return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(character, f"\\x{ord(character):02x}")


def display_path(path: str | os.PathLike[str]) -> str:
    """Paths under the current directory are shown relative to it, as a user typed them."""
    text = os.fspath(path)
    if not os.path.isabs(text):
        return text
    try:
        relative = os.path.relpath(text)
    except ValueError:  # another drive on Windows
        return text
    return text if relative.startswith("..") else relative


class ConfigError(MlciError):
    """mlci.yaml is missing, malformed or does not match the config model."""


class InputFileError(MlciError):
    """A data, metrics, schema or model file is missing, unreadable or malformed."""


class GitError(MlciError):
    """A git revision or repository problem the user can fix (bad rev, shallow clone, ...)."""


class NoBaseBranch(GitError):
    """Nothing names a base branch and none exists yet (a new repository, before its first
    push): `mlci check` then compares with nothing, and says so."""


class MissingExtraError(MlciError):
    """A command needs an optional dependency that is not installed."""

    def __init__(self, extra: str, module: str, *, feature: str | None = None) -> None:
        what = feature or f"this command needs {module}"
        hint = f"install it with: pip install 'mlci[{extra}]'"
        if os.environ.get("GITHUB_ACTIONS") == "true":
            hint = (
                f"add {extra} to the `extras:` input of the mlci step (or of the reusable "
                f"workflow), e.g. `extras: {extra}`"
            )
        super().__init__(f"{what}, which is not installed", hint=hint)
        self.extra = extra
        self.module = module


class GitHubError(MlciError):
    """Talking to the GitHub API failed in a way the user can act on (token, permissions)."""


class HistoryError(MlciError):
    """The base-branch history cannot be read or written (no record, a malformed one, a push
    the remote refused)."""


class BaselineUnavailable(Exception):
    """The base side does not exist (no base revision, file absent there): the rule then fails
    when required and is skipped otherwise, saying why."""


_interrupted = False


def on_interrupt(signum: int, frame: object) -> None:
    """SIGINT: remembered, then raised as KeyboardInterrupt as Python does. A library that
    catches the KeyboardInterrupt in its own code (pandas' C reader turns it into a
    ParserError) cannot make Ctrl-C look like bad input: `interrupted()` still says so."""
    global _interrupted
    _interrupted = True
    raise KeyboardInterrupt


def interrupted() -> bool:
    return _interrupted
