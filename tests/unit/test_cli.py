"""The exit-code contract and the command line's global behaviour."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest
from conftest import Invoker

from mlci import __version__
from mlci.cli.handler import run
from mlci.errors import ExitCode, MlciError


def test_help_lists_commands(mlci: Invoker) -> None:
    result = mlci("--help")
    assert result.exit_code == 0
    for command in ("check", "diff", "config"):
        assert f"\n  {command} " in result.stdout


def test_python_dash_m(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mlci", "--version"], capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 0
    assert done.stdout == f"mlci, version {__version__}\n"


def test_console_script_is_installed(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "mlci"
    done = subprocess.run([script, "--version"], capture_output=True, text=True, cwd=tmp_path)
    assert done.stdout == f"mlci, version {__version__}\n"


def test_unknown_command_is_usage_error(mlci: Invoker) -> None:
    result = mlci("chek")
    assert result.exit_code == 2
    assert "No such command 'chek'" in result.stderr
    assert "Did you mean 'check'?" in result.stderr or "check" in result.stderr


def test_unknown_option_is_usage_error(mlci: Invoker) -> None:
    result = mlci("check", "--formt", "json")
    assert result.exit_code == 2
    assert "No such option '--formt'" in result.stderr


def _command_raising(exception: BaseException) -> click.Command:
    @click.command()
    def boom() -> None:
        raise exception

    return boom


def test_mlci_error_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    error = MlciError("metrics file not found", path="m.json", line=3, hint="check the path")
    assert run(_command_raising(error), []) == ExitCode.USER_ERROR
    captured = capsys.readouterr()
    assert captured.err == "mlci: error: m.json:3: metrics file not found (check the path)\n"
    assert "Traceback" not in captured.err


def test_internal_error_is_exit_3_with_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(_command_raising(ZeroDivisionError("boom")), []) == ExitCode.INTERNAL_ERROR
    err = capsys.readouterr().err
    assert "Traceback" in err
    assert "ZeroDivisionError: boom" in err
    assert "This is a bug in mlci; please report it" in err


def test_ctrl_c_is_exit_130(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(_command_raising(KeyboardInterrupt()), []) == ExitCode.INTERRUPTED
    assert "interrupted" in capsys.readouterr().err


def test_ctrl_c_in_a_real_process_is_exit_130(tmp_path: Path) -> None:
    code = (
        "import sys, click\n"
        "from mlci.cli.handler import run\n"
        "@click.command()\n"
        "def slow():\n"
        "    import os, signal\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    import time; time.sleep(5)\n"
        "sys.exit(run(slow, []))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 130
    assert "Traceback" not in done.stderr


def test_check_without_config_says_how_to_start(mlci: Invoker, tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    result = mlci("check", cwd=tmp_path)
    assert result.exit_code == 2
    assert result.stderr == (
        f"mlci: error: no mlci.yaml found in {tmp_path.resolve()} or its parents "
        "(create one with `mlci init`, or pass -c FILE)\n"
    )


def test_every_command_has_help(mlci: Invoker) -> None:
    from mlci.cli.main import cli

    def walk(command: click.Command, path: list[str]) -> None:
        assert command.help, f"`mlci {' '.join(path)}` has no help text"
        for parameter in command.params:
            if isinstance(parameter, click.Option) and not parameter.hidden:
                assert parameter.help, (
                    f"`mlci {' '.join(path)}` option {parameter.opts} has no help"
                )
        if isinstance(command, click.Group):
            context = click.Context(command)
            for name in command.list_commands(context):
                sub = command.get_command(context, name)
                assert sub is not None, f"`mlci {' '.join([*path, name])}` does not import"
                walk(sub, [*path, name])

    walk(cli, [])


def test_missing_extra_names_the_extra() -> None:
    from mlci.errors import MissingExtraError
    from mlci.extras import require

    with pytest.raises(MissingExtraError) as caught:
        require("mlci_no_such_module", "data", feature="validating datasets needs pandera")
    assert str(caught.value) == (
        "validating datasets needs pandera, which is not installed "
        "(install it with: pip install 'mlci[data]')"
    )
    assert caught.value.exit_code == ExitCode.USER_ERROR


def test_rich_tables_on_a_terminal() -> None:
    from mlci.report.model import GateResult, Report
    from mlci.report.render import RenderOptions, render_text

    report = Report(
        gates=[GateResult(metric="acc", rule="min", status="failed", reason="0.5 < 0.9")]
    )
    text = render_text(report, RenderOptions(color=True, width=100))
    assert "\x1b[" in text  # styled
    assert "FAIL" in text
    plain = render_text(report, RenderOptions(color=False))
    assert "\x1b[" not in plain
    assert plain.splitlines()[0] == "mlci report: FAILED: gates 1 failed"


def test_lazy_command_summaries_match_the_commands() -> None:
    from mlci.cli.main import COMMANDS, cli

    context = click.Context(cli)
    for name, (_, summary) in COMMANDS.items():
        command = cli.get_command(context, name)
        assert command is not None
        assert command.get_short_help_str(limit=1000) == summary, name


def test_help_does_not_import_the_commands(tmp_path: Path) -> None:
    code = (
        "import sys\nfrom mlci.cli.handler import run\nfrom mlci.cli.main import cli\n"
        "run(cli, ['--help'])\n"
        "print(sorted(m for m in sys.modules if m.startswith('mlci.cli.')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path
    )
    loaded = done.stdout.strip().splitlines()[-1]
    assert loaded == "['mlci.cli.handler', 'mlci.cli.main', 'mlci.cli.state']"
