"""Renderers: text (rich on a terminal, plain when piped), markdown and JSON views of a Report."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import replace

from mlci.errors import one_line
from mlci.report.model import Report, report_to_dict
from mlci.report.options import RenderOptions
from mlci.report.tables import Table, headline, report_tables
from mlci.report.training import train_lines


def render_text(report: Report, options: RenderOptions) -> str:
    lines = [one_line(f"{report.title}: {headline(report)}")]
    if report.base:
        lines.append(f"compared with: {report.base}")
    lines.extend(train_lines(report.train))
    if report.partial is not None:
        held = ", ".join(report.partial.parts) or "no part"
        lines.append(
            f"partial report: {held} ({len(report.partial.parts)} of "
            f"{len(report.partial.of)} parts; `mlci report merge` combines it with the others)"
        )
    body = "\n".join(lines) + "\n"
    tables = with_model_tables(report, report_tables(report, options.precision), options)
    for table in tables + history_tables(report, options.precision):
        body += "\n" + (rich_table(table, options.width) if options.color else plain_table(table))
    for project in report.projects:
        if project.report is not None:
            body += "\n" + render_text(project.report, options)
    return body


def history_tables(report: Report, precision: int) -> list[Table]:
    """The base-branch trend and this pull request's earlier pushes, when the report has them."""
    from mlci.report.history import pushes_table, trend_table

    tables = []
    if report.history is not None and report.history.points:
        tables.append(trend_table(report.history, precision))
    if report.pushes:
        tables.append(pushes_table(report, None, precision))
    return tables


def plain_table(table: Table) -> str:
    """An aligned table of plain text, safe for logs and pipes; a table without columns is a
    note, its title alone. Control characters from users' files (ESC, BEL, CR, a newline in a
    metric name) are shown escaped, never sent to the terminal."""
    table = _printable(table)
    if not table.headers:
        return table.title + "\n"
    widths = [len(header) for header in table.headers]
    for row in table.rows:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]

    def line(cells: list[str]) -> str:
        padded = [
            cell.rjust(width) if index in table.align_right else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(padded).rstrip()

    out = [table.title, line(table.headers), line(["-" * width for width in widths])]
    out += [line(row) for row in table.rows]
    return "\n".join(out) + "\n"


def rich_table(table: Table, width: int) -> str:
    table = _printable(table)
    if not table.headers:
        return table.title + "\n"
    from rich.console import Console
    from rich.table import Table as RichTable
    from rich.text import Text

    rich = RichTable(title=table.title, title_justify="left", header_style="bold")
    for index, header in enumerate(table.headers):
        rich.add_column(header, justify="right" if index in table.align_right else "left")
    styles = {
        "FAIL": "bold red",
        "pass": "green",
        "warn": "yellow",
        "▲ better": "green",
        "▼ worse": "red",
    }
    for row in table.rows:
        rich.add_row(*(Text(cell, style=styles.get(cell.split(" (")[0], "")) for cell in row))
    buffer = io.StringIO()
    Console(file=buffer, force_terminal=True, width=width, highlight=False).print(rich)
    return buffer.getvalue()


def _printable(table: Table) -> Table:
    return replace(
        table,
        title=one_line(table.title),
        rows=[[one_line(cell) for cell in row] for row in table.rows],
    )


def render_json(report: Report, options: RenderOptions) -> str:
    return json.dumps(report_to_dict(report), indent=2, sort_keys=False) + "\n"


def render_markdown(report: Report, options: RenderOptions) -> str:
    from mlci.report.markdown import render_markdown_report

    return render_markdown_report(report, options)


def render_html(report: Report, options: RenderOptions) -> str:
    from mlci.report.html import render_html as render

    return render(report, options)


Renderer = Callable[[Report, RenderOptions], str]
# Name -> renderer; also the choices of every `--format` option.
RENDERERS: dict[str, Renderer] = {
    "text": render_text,
    "markdown": render_markdown,
    "json": render_json,
    "html": render_html,
}
EXTENSIONS = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".json": "json",
    ".txt": "text",
    ".html": "html",
    ".htm": "html",
}


def with_model_tables(report: Report, tables: list[Table], options: RenderOptions) -> list[Table]:
    """The model diff's tables after the metrics (before DVC's data changes and input errors)."""
    if report.model is None:
        return tables
    from mlci.report.model_tables import model_tables

    found = []
    for section in model_tables(report.model, options.precision):
        if section.notes:
            section.table.title += " (" + "; ".join(section.notes) + ")"
        found.append(section.table)
    later = ("Data changes (DVC)", "Input errors")
    at = next((i for i, table in enumerate(tables) if table.title in later), len(tables))
    return [*tables[:at], *found, *tables[at:]]
