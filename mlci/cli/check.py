"""`mlci check`: every check the config enables, one report, one exit code."""

from __future__ import annotations

from pathlib import Path

import click

from mlci.cli.state import CliState, format_option, output_option, pass_state


@click.command()
@format_option("text", "markdown", "json")
@output_option
@click.option("--base", metavar="REV", help="Compare with REV instead of the merge-base with the base branch.")
@pass_state
def check(state: CliState, output_format: str | None, output: Path | None, base: str | None) -> int:
    """Run every check in mlci.yaml: data validation, metric diff against the base, gates.

    Exits 0 when everything passed, 1 when a check failed, 2 when an input is wrong (the
    report is still written).
    """
    from mlci.checks.check import CheckContext, run_check
    from mlci.cli.output import emit_report

    config = state.config()
    report = run_check(CheckContext(config=config, base_override=base))
    emit_report(report, config, output_format, output)
    return report.exit_code
