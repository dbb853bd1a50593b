"""Printing and saving a Report in the format the user chose."""

from __future__ import annotations

from pathlib import Path

import click

from mlci.cli.state import resolve_format, stdout_is_terminal, write_output
from mlci.config_file import ConfigFile
from mlci.errors import one_line
from mlci.report.model import Report
from mlci.report.options import RenderOptions
from mlci.report.render import RENDERERS


def render_options(config: ConfigFile, *, color: bool = False) -> RenderOptions:
    report = config.config.report
    return RenderOptions(
        precision=config.config.metrics.precision,
        color=color,
        mermaid=report.mermaid,
        charts=report.charts.enabled(),
        chart_bytes=report.charts.max_bytes,
        max_failure_cases=report.max_failure_cases,
        template=str(config.resolve(report.template)) if report.template else None,
    )


def emit_report(
    report: Report,
    config: ConfigFile,
    output_format: str | None,
    output: Path | None,
    *,
    configured_output: bool = False,
) -> None:
    """Write the report to -o FILE (and, for the whole check, the config's report.output),
    print it, and say each problem once."""
    chosen = resolve_format(output_format, output)
    terminal = stdout_is_terminal()
    if output is not None:
        write_output(output, RENDERERS[chosen](report, render_options(config)))
    extra = config.config.report.output if configured_output else None
    if extra:
        extra_path = config.resolve(extra)
        write_output(
            extra_path, RENDERERS[resolve_format(None, extra_path)](report, render_options(config))
        )
    if chosen == "html" or (extra and resolve_format(None, config.resolve(extra)) == "html"):
        _warn_without_charts(report, config)
    shown = "text" if output is not None else chosen
    click.echo(
        RENDERERS[shown](report, render_options(config, color=terminal and shown == "text")),
        nl=False,
    )
    for problem in report.problems:
        click.echo(f"mlci: error: {one_line(problem.message)}", err=True)


def emit_html(report: Report, config: ConfigFile, path: Path) -> None:
    """Write the HTML report to `path` (besides whatever -o wrote)."""
    from mlci.report.render import render_html

    write_output(path, render_html(report, render_options(config)))
    _warn_without_charts(report, config)


def _warn_without_charts(report: Report, config: ConfigFile) -> None:
    from mlci.report.html import charts_need_extra

    if charts_need_extra(report, render_options(config)):
        click.echo(
            "mlci: warning: the HTML report's charts are not drawn, its tables hold their "
            "numbers (install them with: pip install 'mlci[html]')",
            err=True,
        )
