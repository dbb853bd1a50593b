"""The `mlci` group: global options, then one module per command."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import click

from mlci import __version__
from mlci.cli.state import CliState

# Command name -> (module:attribute, summary for `mlci --help`). Only the command that runs is
# imported, so start-up does not grow with the number of commands; tests/unit/test_cli.py checks
# each summary against the command's own help.
COMMANDS: dict[str, tuple[str, str]] = {
    "check": (
        "mlci.cli.check:check",
        "Run every check in mlci.yaml: data validation, metric diff against the base, gates.",
    ),
    "comment": (
        "mlci.cli.comment:comment",
        "Post a report as the sticky PR comment: update the comment this report id posted"
        " before (found by its hidden marker on any page of comments), or create it.",
    ),
    "config": (
        "mlci.cli.config_cmd:config",
        "Inspect mlci.yaml: its JSON Schema and the config as mlci resolves it.",
    ),
    "diff": (
        "mlci.cli.diff:diff",
        "Compare metrics between A_REV and B_REV.",
    ),
    "dvc": (
        "mlci.cli.dvc_cmd:dvc_group",
        "DVC-tracked data: what changed against the base, and files at a revision.",
    ),
    "evaluate": (
        "mlci.cli.evaluate:evaluate",
        "Score a scikit-learn model, or a predictions file written by any framework.",
    ),
    "gate": (
        "mlci.cli.gate:gate",
        "Evaluate the gates of mlci.yaml: one row per rule with the metric, the rule, the"
        " observed and baseline values, the limit, the verdict and why.",
    ),
    "history": (
        "mlci.cli.history:history_group",
        "Print the gated metrics over the last recorded base-branch commits.",
    ),
    "init": (
        "mlci.cli.init:init",
        "Set up mlci in the current repository: write mlci.yaml (with the datasets, "
        "schemas and metrics files found, gates as commented suggestions) and a GitHub "
        "workflow that runs it on every pull request.",
    ),
    "mlflow": (
        "mlci.cli.mlflow_cmd:mlflow_group",
        "Log results to MLflow and inspect MLflow baselines (needs mlci[mlflow]).",
    ),
    "projects": (
        "mlci.cli.projects_cmd:projects",
        "List the projects of the repository (`projects:` in the root mlci.yaml, or every"
        " mlci.yaml below it) and, with --changed, whether `mlci check --changed` would run"
        " each.",
    ),
    "promote": (
        "mlci.cli.promote:promote",
        "Point a registered model's alias (champion) at a new version, guarded by the gates.",
    ),
    "report": (
        "mlci.cli.report_cmd:report_group",
        "Combine the JSON reports of `mlci check --only` (one per CI job) into one.",
    ),
    "schema": (
        "mlci.cli.schema:schema",
        "Infer a pandera schema from data, or diff two schemas.",
    ),
    "train": (
        "mlci.cli.train:train",
        "Run the `train:` command of mlci.yaml only when its inputs changed.",
    ),
    "validate": (
        "mlci.cli.validate:validate",
        "Validate DATA files against a pandera schema, reporting every failing check at once.",
    ),
}


def _shorten(text: str, limit: int) -> str:
    """Cut at a word boundary to fit `limit`, as click shortens command help."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 3].rsplit(" ", 1)[0]
    return cut.rstrip(".,:;") + "..."


class LazyGroup(click.Group):
    """A group that imports a command's module only when that command runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module_name, attribute = COMMANDS[cmd_name][0].split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(command, click.Command)
        return command

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in COMMANDS:
            import difflib

            close = difflib.get_close_matches(name, COMMANDS, n=1)
            if close:
                ctx.fail(f"No such command {name!r}. Did you mean {close[0]!r}?")
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [(name, _shorten(summary, limit)) for name, (_, summary) in sorted(COMMANDS.items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
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
    help="Config file (default: mlci.yaml or .mlci.yml, searched upwards from the current "
    "directory).",
)
@click.pass_context
def cli(ctx: click.Context, directory: Path | None, config_path: Path | None) -> None:
    """mlci: CI for machine learning. Validate data, gate models and diff metrics
    against the base branch, on a laptop and in GitHub Actions.

    Exit codes: 0 passed, 1 a check failed, 2 bad input, 3 internal error, 130 interrupted.
    """
    if config_path is not None:
        # not resolve(): a symlink loop is said when the file is read
        config_path = Path(os.path.abspath(config_path))
    if directory is not None:
        os.chdir(directory)
    ctx.obj = CliState(config_path=config_path)
