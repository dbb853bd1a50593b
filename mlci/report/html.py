"""The HTML report (`mlci check -o report.html`): one self-contained page of every section.

It shows what the markdown report shows, from the same view (`markdown.build_view`), with every
detail and every chart, drawn as inline SVG (`mlci.report.svg`, the `mlci[html]` extra). The
page needs nothing from the network: no script, no font, no stylesheet or image from elsewhere,
and a Content-Security-Policy that forbids them should one slip in. Everything from users'
files is escaped by Jinja2's HTML autoescaping, so hostile names render as text.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jinja2

    from mlci.report.charts import Chart
    from mlci.report.model import Report
    from mlci.report.options import RenderOptions

TEMPLATES = Path(__file__).parent / "templates"
HTML_TEMPLATE = "report.html.j2"


@dataclass
class HtmlChart:
    chart: Chart
    svg: str | None
    """The inline `<svg>`; None when the chart has nothing to draw (the table still shows)."""

    @property
    def id(self) -> str:
        return f"chart-{self.chart.key}"


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    return environment


def render_html(report: Report, options: RenderOptions) -> str:
    """The whole report as one HTML page."""
    from markupsafe import Markup

    from mlci.errors import MissingExtraError
    from mlci.report.charts import report_charts
    from mlci.report.markdown import build_view
    from mlci.report.svg import svg_chart

    view = build_view(report, options)
    charts = []
    missing: MissingExtraError | None = None
    if options.mermaid:
        for chart in report_charts(report, options.charts, options.precision):
            drawn = None
            if missing is None:
                try:
                    drawn = svg_chart(chart)
                except MissingExtraError as error:
                    # The numbers are all in the tables: the page is still whole without them.
                    missing = error
            # matplotlib wrote it and escaped every label in it: markup, not text.
            charts.append(HtmlChart(chart, Markup(drawn) if drawn is not None else None))
    template = _environment().get_template(HTML_TEMPLATE)
    return template.render(
        report=report,
        view=view,
        charts=charts,
        missing_extra=missing.hint if missing is not None else None,
    )


def charts_need_extra(report: Report, options: RenderOptions) -> bool:
    """Whether the HTML report has charts to draw and matplotlib (mlci[html]) is missing."""
    from mlci.errors import MissingExtraError
    from mlci.extras import require
    from mlci.report.charts import report_charts

    if not options.mermaid or not report_charts(report, options.charts, options.precision):
        return False
    try:
        require("matplotlib", "html")
    except MissingExtraError:
        return True
    return False
