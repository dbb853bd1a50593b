"""`mlci gate`: the gates of mlci.yaml on the head metrics against the baseline."""

from __future__ import annotations

from pathlib import Path

import click

from mlci.cli.state import CliState, format_option, output_option, pass_state


@click.command()
@click.option("--base", metavar="REV", help="Compare with REV instead of the configured baseline.")
@format_option("text", "markdown", "json")
@output_option
@pass_state
def gate(state: CliState, base: str | None, output_format: str | None, output: Path | None) -> int:
    """Evaluate the gates of mlci.yaml: one row per rule with the metric, the rule, the observed
    and baseline values, the limit, the verdict and why.

    The baseline comes from the same place as in `mlci diff` and `mlci check`. Exits 1 when an
    error-severity gate fails (warnings never fail), 2 when a gate cannot be evaluated (unknown
    metric, a text value under a numeric rule, predictions that do not pair up).
    """
    from mlci.cli.output import emit_report
    from mlci.pipeline.context import CheckContext
    from mlci.pipeline.run import run_check

    config = state.config()
    if not config.config.gates:
        click.echo(f"mlci: no gates in {config.path}: nothing to evaluate", err=True)
        return 0
    # The model diff first when there are paired predictions: gates read its metrics and slices.
    steps = ["model", "gates"] if config.config.predictions is not None else ["gates"]
    report = run_check(CheckContext(config=config, base_override=base), steps)
    report.partial = None  # the gates' own report, not a shard of a check
    emit_report(report, config, output_format, output)
    return report.exit_code
