"""The one place that turns outcomes into exit codes and messages (see the README's table)."""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import signal
import sys
from collections.abc import Sequence

import click

from mlci import __version__
from mlci.errors import ExitCode, MlciError, on_interrupt

ISSUES_URL = "https://github.com/mlci/mlci/issues"


def run(command: click.Command, args: Sequence[str] | None = None) -> int:
    """Run `command` and return the exit code; never lets an exception escape.

    In GitHub Actions everything the command prints, its errors included, is made inert line
    by line, and a `::stop-commands::` window on stderr is opened before it reads any file:
    names and values from a pull request's files cannot become workflow commands. mlci's own
    commands pause it."""
    argv = list(args) if args is not None else sys.argv[1:]
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.default_int_handler:
        with contextlib.suppress(ValueError):  # not the main thread
            signal.signal(signal.SIGINT, on_interrupt)
    in_actions = os.environ.get("GITHUB_ACTIONS") == "true"  # else no window: skip its module
    if in_actions:
        from mlci.github.actions import open_command_window

        open_command_window(os.environ, json_stdout=_prints_json(argv))
    try:
        return _run(command, argv)
    finally:
        if "mlci.integrations.spark_session" in sys.modules:  # a Spark dataset was checked
            from mlci.integrations.spark_session import stop_spark_session

            stop_spark_session()
        if in_actions:
            from mlci.github.actions import close_command_window

            close_command_window()
        if previous is signal.default_int_handler:
            with contextlib.suppress(ValueError):
                signal.signal(signal.SIGINT, previous)


def _prints_json(argv: list[str]) -> bool:
    """Whether the command line asks for JSON on stdout (made inert as JSON: same value)."""
    if "--json" in argv or "--format=json" in argv:
        return True
    if any(a == "report" and b == "plan" for a, b in itertools.pairwise(argv)):
        return True  # its one line of JSON is the job matrix
    return any(a == "--format" and b == "json" for a, b in itertools.pairwise(argv))


def _run(command: click.Command, args: list[str]) -> int:
    try:
        if "-C" not in args:
            _require_cwd()
        result = command.main(args=args, prog_name="mlci", standalone_mode=False)
        sys.stdout.flush()  # a full disk is said now, not as a stray error at exit
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
        _discard_stdout()
        sys.stderr.close()
        return ExitCode.OK
    except OSError as error:
        if error.errno not in _ENVIRONMENT_ERRNOS:
            return _internal_error()
        _discard_stdout()
        click.echo(f"mlci: error: cannot write the output: {error.strerror}", err=True)
        return ExitCode.USER_ERROR
    except Exception:
        return _internal_error()
    return int(result) if isinstance(result, int) else ExitCode.OK


# A disk that is full, a quota, a device that fails: the machine's state, not mlci's bug.
_ENVIRONMENT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG})


def _internal_error() -> int:
    import traceback

    traceback.print_exc()
    click.echo(
        f"mlci {__version__}: internal error. This is a bug in mlci; please report it with "
        f"the traceback above at {ISSUES_URL}",
        err=True,
    )
    return ExitCode.INTERNAL_ERROR


def _require_cwd() -> None:
    try:
        os.getcwd()
    except FileNotFoundError:
        raise MlciError(
            "the current working directory no longer exists",
            hint="cd to a directory that exists, or pass -C DIR",
        ) from None


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so what is still buffered is not written (and failed) again
    at exit."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
