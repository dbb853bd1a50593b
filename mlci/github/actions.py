"""The GitHub Actions runner's interfaces: job summary, step outputs, workflow commands.

Workflow commands are lines that the runner interprets on stdout and stderr (`::name::` at the
start of a line, `##[name]` anywhere in it), so every piece of text in mlci's own commands is
escaped the way @actions/core escapes it (and control characters explicitly), everything else
mlci prints in a job is made inert line by line (`InertStream`), and a `::stop-commands::`
window on stderr (`CommandWindow`), opened before any user file is read, fences what is
written below Python's streams.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TextIO

from mlci.errors import InputFileError

SUMMARY_LIMIT = 1024 * 1024
"""GitHub's limit on one step's job summary, in bytes."""
ANNOTATIONS_PER_LEVEL = 10
"""The runner keeps at most 10 annotations of each type (error, warning, notice) per step."""
ANNOTATIONS_PER_JOB = 50
"""... and GitHub shows at most 50 per job."""
ANNOTATION_COUNT_FILE = "mlci-annotations"
"""In RUNNER_TEMP (emptied for every job): how many annotations mlci wrote in this job."""
ANNOTATION_MESSAGE_LIMIT = 4_000
_OUTPUT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")

Level = Literal["error", "warning", "notice"]


_CONTROL = re.compile(r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def escape_data(text: str) -> str:
    """A workflow command's message: `%`, CR and LF percent-encoded as @actions/core does,
    and other control characters (ESC, BEL, NUL, C1) percent-encoded too, so they show as
    `%1B` instead of reaching the log (the runner decodes only %25, %0D and %0A)."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return _CONTROL.sub(lambda match: f"%{ord(match[0]):02X}", text)


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


@dataclass
class AnnotationCommands:
    """The annotation lines to print, and how many were left out to stay within the limits."""

    commands: list[str]
    left_out: dict[str, int]
    shown: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LEVELS, 0))
    """Annotations written per level, the notice about the rest included."""

    @property
    def left_out_text(self) -> str | None:
        """`3 errors and 1 warning`, or None when nothing was left out."""
        parts = [
            f"{count} {level}{'s' if count != 1 else ''}"
            for level, count in self.left_out.items()
            if count
        ]
        return " and ".join(parts) if parts else None


LEVELS: tuple[Level, ...] = ("error", "warning", "notice")


def annotation_commands(
    annotations: Iterable[Annotation],
    per_level: int = ANNOTATIONS_PER_LEVEL,
    job_room: int = ANNOTATIONS_PER_JOB,
    step_used: Mapping[str, int] | None = None,
) -> AnnotationCommands:
    """The commands for at most `per_level` annotations of each level in the step (less what
    `step_used` says mlci wrote in it already) and `job_room` in all, then one notice saying how
    many more there are and where they are (the notice counts against the limits too, as the
    runner counts it)."""
    used = dict(step_used or {})
    shown: dict[str, int] = dict.fromkeys(LEVELS, 0)
    left_out: dict[str, int] = dict.fromkeys(LEVELS, 0)
    commands: list[str] = []

    def room(level: str) -> int:
        return per_level - used.get(level, 0) - shown[level]

    for annotation in annotations:
        # one place of the notices and of the job is kept for the notice about the rest
        level_room = room(annotation.level) - (annotation.level == "notice")
        if level_room > 0 and len(commands) < job_room - 1:
            shown[annotation.level] += 1
            commands.append(annotation.command())
        else:
            left_out[annotation.level] += 1
    done = AnnotationCommands(commands, left_out, shown)
    hidden = done.left_out_text
    if hidden and job_room > len(commands) and room("notice") > 0:
        shown["notice"] += 1
        commands.append(
            Annotation(
                "notice",
                f"mlci: {hidden} more than GitHub shows as annotations; "
                "the job summary lists them all.",
                title="More mlci findings",
            ).command()
        )
    return done


@dataclass
class AnnotationsWritten:
    """The annotations mlci wrote so far in this job, in all and per step — what mlci can know
    of GitHub's limits. Other tools' annotations count against the same limits, and mlci cannot
    see them: a job whose earlier steps wrote annotations may show fewer of mlci's."""

    job: int = 0
    steps: dict[str, dict[str, int]] = field(default_factory=dict)

    def in_step(self, step: str) -> dict[str, int]:
        return dict(self.steps.get(step, {}))


def annotations_written(env: Mapping[str, str]) -> AnnotationsWritten:
    """What mlci wrote in this job so far (nothing outside Actions). The file is a count only:
    unreadable, it is taken as empty (at worst GitHub does not show some annotations)."""
    path = _count_file(env)
    if path is None:
        return AnnotationsWritten()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        steps = {
            str(step): {str(level): max(int(counts.get(level, 0)), 0) for level in LEVELS}
            for step, counts in dict(data.get("steps", {})).items()
        }
        return AnnotationsWritten(job=max(int(data.get("job", 0)), 0), steps=steps)
    except (OSError, ValueError, TypeError, AttributeError):
        return AnnotationsWritten()


def record_annotations(env: Mapping[str, str], shown: Mapping[str, int]) -> None:
    path = _count_file(env)
    if path is None or not any(shown.values()):
        return
    written = annotations_written(env)
    step = written.steps.setdefault(_step(env), dict.fromkeys(LEVELS, 0))
    for level, count in shown.items():
        step[level] = step.get(level, 0) + count
    written.job += sum(shown.values())
    with suppress(OSError):
        path.write_text(json.dumps({"job": written.job, "steps": written.steps}), encoding="utf-8")


def step_annotations_used(env: Mapping[str, str], written: AnnotationsWritten) -> dict[str, int]:
    return written.in_step(_step(env))


def _step(env: Mapping[str, str]) -> str:
    """The step this runs in: GITHUB_ACTION is the step's id, or `__run`, `__run_2`, ... for
    steps without one, unique within a job."""
    return env.get("GITHUB_ACTION", "")


def _count_file(env: Mapping[str, str]) -> Path | None:
    temp = env.get("RUNNER_TEMP")
    return Path(temp) / ANNOTATION_COUNT_FILE if temp else None


class CommandWindow:
    """A `::stop-commands::` window: while it is open the runner runs no workflow command from
    the step, on stdout or stderr (both go through one command manager), so nothing written
    at the level of file descriptors (a child process, native code, raw bytes) can become one.
    mlci's own commands are written on the window's stream while it is `paused()`, so the
    runner reads the pause, the commands and the resumption in the order written; they are
    written unmodified (not through click, which strips ANSI escapes on a pipe): their text is
    escaped instead."""

    def __init__(self, stream: TextIO, others: tuple[TextIO, ...] = ()) -> None:
        self.stream = stream
        self.others = others
        self._token: str | None = None

    @property
    def is_open(self) -> bool:
        return self._token is not None

    def open(self) -> None:
        if self._token is None:
            self._token = uuid.uuid4().hex
            self._write(f"::stop-commands::{self._token}")

    def close(self) -> None:
        if self._token is not None:
            token, self._token = self._token, None
            self._write(f"::{token}::")

    @contextmanager
    def paused(self) -> Iterator[None]:
        was_open = self.is_open
        self.close()
        try:
            yield
        finally:
            if was_open:
                self.open()

    def command(self, line: str) -> None:
        """One of mlci's own workflow commands (the window must be paused)."""
        self._write(line)

    def _write(self, line: str) -> None:
        for other in (*self.others, self.stream):
            _flush(other)
        self.stream.write(line + "\n")
        _flush(self.stream)


# The runner reads a command at the start of a line after leading whitespace (`::name::`), and
# `##[name]` anywhere in one; it splits lines at CR and LF (StreamReader.ReadLine).
_LINE_START_COLONS = re.compile(r"([\r\n]\s*:)(?=:)")
_V1_PREFIX = re.compile(r"(##)(?=\[)")
_BREAK = "\u200b"
"""A zero-width space: not whitespace to the runner's TrimStart, invisible in the log."""


class InertStream:
    """stdout or stderr in a job, as every line of it reaches the runner (and any log a user
    saves with `| tee`): a `::` starting a line (after whitespace) is written `:\u200b:`, and
    `##[` is written `##\u200b[`, so no text mlci prints — names and values from a pull
    request's files included — is a workflow command, in whatever order the runner reads the
    two streams, through whatever pipe. JSON (`json=True`) keeps its value: `##[` is written
    `##\u005b` and `::` cannot start a line of it. Patterns split across writes are found too
    (the end of the current line is carried over)."""

    def __init__(self, stream: TextIO, *, json: bool = False) -> None:
        self.stream = stream
        self.json = json
        self._context = "\n"  # the start of the output is the start of a line

    def write(self, text: str) -> int:
        if not isinstance(text, str):  # click probes for a binary stream with b""
            raise TypeError("write() argument must be str")
        if not text:
            return 0
        context = self._context
        joined = context + text
        if self.json:
            inert = joined.replace("##[", "##\\u005b")
        else:
            inert = _V1_PREFIX.sub("\\1" + _BREAK, _LINE_START_COLONS.sub("\\1" + _BREAK, joined))
        self._context = _line_context(inert)
        self.stream.write(inert[len(context) :])
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> object:
        return getattr(self.stream, name)


def _line_context(written: str) -> str:
    """What the next write is read after: a line break (and the `:` that began the line)
    while the current line can still become a `::` command, else its last two characters
    (for a `##[` split across writes)."""
    last = max(written.rfind("\n"), written.rfind("\r"))
    if last >= 0:
        head = written[last + 1 :].lstrip()
        if head in ("", ":"):
            return "\n" + head
    return "x" + written[-2:]


_window: CommandWindow | None = None
_streams: tuple[TextIO, TextIO] | None = None
_commands: TextIO | None = None


def open_command_window(env: Mapping[str, str], *, json_stdout: bool = False) -> None:
    """In GitHub Actions, for the rest of the command (the CLI handler calls it before the
    command reads anything): stdout and stderr become `InertStream`s, and a window is opened on
    stderr when stderr is a stream of its own that the runner may read (a pipe, not a file nor
    stdout's pipe). It is on stderr, never stdout: `mlci check | tee log` then saves a clean
    log, and JSON on stdout stays JSON. Outside Actions, nothing."""
    global _window, _streams, _commands
    if env.get("GITHUB_ACTIONS") != "true":
        return
    stdout, stderr = sys.stdout, sys.stderr
    _streams = (stdout, stderr)
    sys.stdout = InertStream(stdout, json=json_stdout)
    sys.stderr = InertStream(stderr)
    if _own_stream(stderr, stdout):
        _window = CommandWindow(stderr, (stdout,))
        _window.open()
    else:  # the runner may read stdout only (`2>&1 | tee`, `2> file`): commands go there
        _commands = stderr if _is_regular_file(stdout) else stdout


def close_command_window() -> None:
    global _window, _streams, _commands
    if _window is not None:
        window, _window = _window, None
        with suppress(OSError, ValueError):  # the stream went away (`| head`): nothing to fence
            window.close()
    if _streams is not None:
        (sys.stdout, sys.stderr), _streams = _streams, None
    _commands = None


def write_commands(lines: Iterable[str]) -> None:
    """mlci's own workflow commands: on the window's stream with the window paused around
    them; without a window, on the stream the runner reads (unmodified either way)."""
    lines = list(lines)
    if not lines:
        return
    if _window is None:
        stream = _commands or sys.stdout
        _flush(sys.stdout)
        _flush(sys.stderr)
        for line in lines:
            stream.write(line + "\n")
        _flush(stream)
        return
    with _window.paused():
        for line in lines:
            _window.command(line)


def _own_stream(stream: TextIO, other: TextIO) -> bool:
    """Whether `stream` may be the runner's pipe of its own: not a regular file or a device
    such as /dev/null, and not the same pipe as `other` (`2>&1`). A stream without a file
    descriptor (captured in the process) reaches no runner."""
    try:
        mine = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    if not (stat.S_ISFIFO(mine.st_mode) or stat.S_ISSOCK(mine.st_mode) or stream.isatty()):
        return False
    try:
        theirs = os.fstat(other.fileno())
    except (OSError, ValueError, AttributeError):
        return True
    return (mine.st_dev, mine.st_ino) != (theirs.st_dev, theirs.st_ino)


def _is_regular_file(stream: TextIO) -> bool:
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):
        return False


def _flush(stream: TextIO) -> None:
    with suppress(OSError, ValueError):
        stream.flush()


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
