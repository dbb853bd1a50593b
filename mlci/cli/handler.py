"""The one place that turns outcomes into exit codes and messages (see the README's table)."""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Sequence

import click

from mlci import __version__
from mlci.errors import ExitCode, MlciError

ISSUES_URL = "https://github.com/mlci/mlci/issues"


def run(command: click.Command, args: Sequence[str] | None = None) -> int:
    """Run `command` and return the exit code; never lets an exception escape.

    In GitHub Actions everything the command prints, its errors included, is inside a
    `::stop-commands::` window opened before it reads any file: names and values from a pull
    request's files cannot become workflow commands. mlci's own commands pause it."""
    from mlci.github.actions import close_command_window, open_command_window

    argv = list(args) if args is not None else sys.argv[1:]
    open_command_window(os.environ, json_stdout=_prints_json(argv))
    try:
        return _run(command, argv)
    finally:
        close_command_window()


def _prints_json(argv: list[str]) -> bool:
    """Whether the command line asks for JSON on stdout (then it is made inert, not fenced)."""
    if "--json" in argv or "--format=json" in argv:
        return True
    return any(a == "--format" and b == "json" for a, b in itertools.pairwise(argv))


def _run(command: click.Command, args: list[str]) -> int:
    try:
        result = command.main(args=args, prog_name="mlci", standalone_mode=False)
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.exceptions.Abort:
        click.echo("mlci: interrupted", err=True)
        return ExitCode.INTERRUPTED
    except KeyboardInterrupt:
        click.echo("\nmlci: interrupted", err=True)
        return ExitCode.INTERRUPTED
    except click.ClickException as error:
        error.show()
        return ExitCode.USER_ERROR
    except MlciError as error:
        click.echo(f"mlci: error: {error}", err=True)
        return error.exit_code
    except BrokenPipeError:
        # The reader went away (`mlci diff | head`): not an error of ours or the user's.
        sys.stderr.close()
        return ExitCode.OK
    except Exception:
        import traceback

        traceback.print_exc()
        click.echo(
            f"mlci {__version__}: internal error. This is a bug in mlci; please report it with "
            f"the traceback above at {ISSUES_URL}",
            err=True,
        )
        return ExitCode.INTERNAL_ERROR
    return int(result) if isinstance(result, int) else ExitCode.OK
