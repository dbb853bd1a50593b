"""What the top-level options establish for every command, and the shared output options."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from mlci.config_file import ConfigFile, find_config
from mlci.errors import ConfigError, InputFileError

if TYPE_CHECKING:
    from mlci.config import Config

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class CliState:
    config_path: Path | None = None
    """-c/--config, when given."""

    def config(self, *, required: bool = True) -> ConfigFile:
        """The given config, or the nearest mlci.yaml up from the current directory."""
        path = self.config_path or find_config(Path.cwd())
        if path is None:
            if not required:
                return ConfigFile(default=default_settings)
            raise ConfigError(
                f"no mlci.yaml found in {Path.cwd()} or its parents",
                hint="create one with `mlci init`, or pass -c FILE",
            )
        from mlci.config import load_config

        return load_config(path)


def default_settings() -> Config:
    """Every setting at its default (loads the config model: only when something asks)."""
    from mlci.config import Config

    return Config()


def pass_state(function: F) -> F:
    return click.pass_obj(function)  # type: ignore[return-value]


def format_option(*choices: str, default: str = "text") -> Callable[[F], F]:
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(choices),
        default=None,
        help=f"Output format (default: {default}, or from the extension of -o FILE).",
    )


def chosen_format(output_format: str | None, as_json: bool, as_md: bool) -> str:
    """The one view asked for by `--json`, `--md` or `--format` (text when none is given)."""
    asked = {"json"} if as_json else set()
    asked |= {"markdown"} if as_md else set()
    asked |= {output_format} if output_format else set()
    if len(asked) > 1:
        raise click.UsageError("give one output format: --json, --md or --format FORMAT")
    return asked.pop() if asked else "text"


def choice_format_option(*choices: str) -> Callable[[F], F]:
    """`--format` for commands that print one view; the first choice is the default."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(choices),
        default=choices[0],
        show_default=True,
        help="Output format.",
    )


def output_option(function: F) -> F:
    return click.option(
        "-o",
        "--output",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Write the result to FILE; the terminal then gets the text view.",
    )(function)


def resolve_format(output_format: str | None, output: Path | None, default: str = "text") -> str:
    if output_format:
        return output_format
    if output is not None:
        from mlci.report.render import EXTENSIONS

        return EXTENSIONS.get(output.suffix.lower(), default)
    return default


def write_output(path: Path, text: str) -> None:
    try:
        if path.parent and not path.parent.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except IsADirectoryError:
        raise InputFileError("output path is a directory", path=path) from None
    except OSError as exc:
        raise InputFileError(f"cannot write output: {exc.strerror}", path=path) from None


def stdout_is_terminal() -> bool:
    if os.environ.get("NO_COLOR") or os.environ.get("CI"):
        return False
    return sys.stdout.isatty()
