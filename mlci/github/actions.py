"""The GitHub Actions runner's interfaces: job summary, step outputs, workflow commands.

Workflow commands are lines on stdout that the runner interprets, so every piece of text in
them is escaped the way @actions/core escapes it, and untrusted output can be fenced off with
`::stop-commands::`.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mlci.errors import InputFileError

SUMMARY_LIMIT = 1024 * 1024
"""GitHub's limit on one step's job summary, in bytes."""
ANNOTATIONS_PER_LEVEL = 10
"""GitHub shows at most 10 error and 10 warning annotations of a step."""
ANNOTATION_MESSAGE_LIMIT = 4_000
_OUTPUT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")

Level = Literal["error", "warning", "notice"]


def escape_data(text: str) -> str:
    """A workflow command's message: `%`, CR and LF percent-encoded."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value: as data, and `:` and `,` too."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


@dataclass(frozen=True)
class Annotation:
    level: Level
    message: str
    title: str | None = None
    file: str | None = None
    line: int | None = None
    end_line: int | None = None
    column: int | None = None

    def command(self) -> str:
        """The `::error file=...,line=...::message` line."""
        properties = []
        if self.file:
            properties.append(f"file={escape_property(self.file)}")
            if self.line is not None and self.line > 0:
                properties.append(f"line={self.line}")
                if self.end_line is not None and self.end_line >= self.line:
                    properties.append(f"endLine={self.end_line}")
                if self.column is not None and self.column > 0:
                    properties.append(f"col={self.column}")
        if self.title:
            properties.append(f"title={escape_property(_cap(self.title, 200))}")
        head = self.level + (" " + ",".join(properties) if properties else "")
        return f"::{head}::{escape_data(_cap(self.message, ANNOTATION_MESSAGE_LIMIT))}"


def annotation_commands(
    annotations: Iterable[Annotation], per_level: int = ANNOTATIONS_PER_LEVEL
) -> list[str]:
    """The commands for at most `per_level` annotations of each level, then one notice
    saying how many more there are and where they are."""
    shown: dict[str, int] = {"error": 0, "warning": 0, "notice": 0}
    left_out: dict[str, int] = {"error": 0, "warning": 0, "notice": 0}
    commands = []
    for annotation in annotations:
        if shown[annotation.level] < per_level - (annotation.level == "notice"):
            shown[annotation.level] += 1
            commands.append(annotation.command())
        else:
            left_out[annotation.level] += 1
    hidden = [f"{count} {level}s" for level, count in left_out.items() if count]
    if hidden:
        commands.append(
            Annotation(
                "notice",
                f"mlci: {' and '.join(hidden)} more than GitHub shows as annotations; "
                "the job summary lists them all.",
                title="More mlci findings",
            ).command()
        )
    return commands


def add_mask_command(secret: str) -> str:
    """`::add-mask::` hides `secret` in the rest of the job's log."""
    return f"::add-mask::{escape_data(secret)}"


def stop_commands() -> tuple[str, str]:
    """The pair of lines between which the runner ignores workflow commands: printed around
    output that holds untrusted text (metric names could spell `::error::`)."""
    token = uuid.uuid4().hex
    return f"::stop-commands::{token}", f"::{token}::"


def append_step_summary(path: Path, markdown: str, limit: int = SUMMARY_LIMIT) -> int:
    """Append `markdown` to the job summary file; returns the bytes still free before it,
    so the caller can render to fit. The caller renders with `summary_room` first."""
    data = markdown.encode("utf-8")
    room = summary_room(path, limit)
    if len(data) > room:
        data = data[:room].decode("utf-8", errors="ignore").encode("utf-8")
    try:
        with path.open("ab") as handle:
            handle.write(data)
    except OSError as exc:
        raise InputFileError(
            f"cannot write the job summary: {exc.strerror}",
            path=path,
            hint="check GITHUB_STEP_SUMMARY",
        ) from None
    return len(data)


def summary_room(path: Path, limit: int = SUMMARY_LIMIT) -> int:
    """Bytes still free in this step's job summary."""
    try:
        used = path.stat().st_size
    except FileNotFoundError:
        used = 0
    except OSError as exc:
        raise InputFileError(f"cannot read the job summary: {exc.strerror}", path=path) from None
    return max(limit - used, 0)


def format_outputs(outputs: Mapping[str, str], delimiter: str | None = None) -> str:
    """Step outputs in the `name<<DELIMITER` form, multiline-safe: the delimiter is random
    and never occurs in a value (as @actions/core writes them)."""
    text = []
    for name, value in outputs.items():
        if not _OUTPUT_NAME.fullmatch(name):
            raise ValueError(f"invalid output name {name!r}")
        chosen = delimiter or f"ghadelimiter_{uuid.uuid4()}"
        while chosen in name or chosen in value:
            chosen = f"ghadelimiter_{uuid.uuid4()}"
        text.append(f"{name}<<{chosen}{os.linesep}{value}{os.linesep}{chosen}{os.linesep}")
    return "".join(text)


def write_outputs(path: Path, outputs: Mapping[str, str]) -> None:
    try:
        with path.open("a", encoding="utf-8", newline="") as handle:
            handle.write(format_outputs(outputs))
    except OSError as exc:
        raise InputFileError(
            f"cannot write step outputs: {exc.strerror}", path=path, hint="check GITHUB_OUTPUT"
        ) from None


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
