"""The markdown report (PR comment, job summary), rendered from Jinja2 templates in the package."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from mlci.report.model import Report
from mlci.report.tables import Table, headline, report_tables

if TYPE_CHECKING:
    from mlci.report.render import RenderOptions

TEMPLATES = Path(__file__).parent / "templates"
_SPECIAL = re.compile(r"([\\`*_\[\]#|~])")


def escape_markdown(text: object) -> str:
    """Text from users' files, made inert in a GitHub comment: no HTML, no table breaks,
    no @-mentions or #123 links, no markdown emphasis or links."""
    value = str(text)
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = _SPECIAL.sub(r"\\\1", value)
    value = value.replace("@", "@\u200b")  # a zero-width space stops the mention
    value = re.sub(r"\r\n|\r|\n", " ", value)
    return value


def markdown_table(table: Table) -> str:
    align = ["---:" if index in table.align_right else ":---" for index in range(len(table.headers))]
    lines = [
        "| " + " | ".join(escape_markdown(header) for header in table.headers) + " |",
        "| " + " | ".join(align) + " |",
    ]
    lines += ["| " + " | ".join(escape_markdown(cell) for cell in row) + " |" for row in table.rows]
    return "\n".join(lines)


def render_markdown_report(report: Report, options: RenderOptions) -> str:
    import jinja2

    search = [str(TEMPLATES)]
    name = "report.md.j2"
    if options.template:
        template_path = Path(options.template)
        search.insert(0, str(template_path.parent))
        name = template_path.name
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(search),
        autoescape=False,  # markdown, not HTML: `escape_markdown` is applied to every user value
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["md"] = escape_markdown
    environment.filters["md_table"] = markdown_table
    template = environment.get_template(name)
    return template.render(
        report=report,
        headline=headline(report),
        tables=report_tables(report, options.precision),
        options=options,
    )
