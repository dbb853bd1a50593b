"""The `mlci` group: global options, then one module per command."""

from __future__ import annotations

import os
from pathlib import Path

import click

from mlci import __version__
from mlci.cli.check import check
from mlci.cli.config_cmd import config
from mlci.cli.diff import diff
from mlci.cli.state import CliState


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "-V", "--version", prog_name="mlci")
@click.option(
    "-C",
    "directory",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Run as if mlci was started in DIR.",
    metavar="DIR",
)
@click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Config file (default: mlci.yaml or .mlci.yml, searched upwards from the current directory).",
)
@click.pass_context
def cli(ctx: click.Context, directory: Path | None, config_path: Path | None) -> None:
    """mlci: CI for machine learning. Validate data, gate models and diff metrics
    against the base branch, on a laptop and in GitHub Actions.

    Exit codes: 0 passed, 1 a check failed, 2 bad input, 3 internal error, 130 interrupted.
    """
    if config_path is not None:
        config_path = config_path.resolve()
    if directory is not None:
        os.chdir(directory)
    ctx.obj = CliState(config_path=config_path)


for command in (check, diff, config):
    cli.add_command(command)
