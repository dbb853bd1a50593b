"""Charts as inline SVG for the HTML report, drawn by matplotlib (the `mlci[html]` extra).

matplotlib because it is the best-kept Python plotting library and writes SVG with no script,
no external font and no link: `svg.fonttype: none` keeps every label a `<text>` element (users'
names stay text, escaped by matplotlib's XML writer, readable by screen readers and find-in-page)
and `text.parse_math: False` keeps a `$` in a class name from becoming mathtext. Output is
deterministic (fixed hash salt, no date), so the same report gives the same bytes.
"""

from __future__ import annotations

import io
import math
import re
from typing import TYPE_CHECKING, Any

from mlci.extras import require

if TYPE_CHECKING:
    from mlci.report.charts import Chart

STYLE = {
    "svg.fonttype": "none",
    "svg.hashsalt": "mlci",
    "text.parse_math": False,
    "text.usetex": False,
    "font.family": "sans-serif",
    "font.size": 9.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "figure.dpi": 72,
}
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.DOTALL)
_SIZE = re.compile(r'<svg([^>]*?) width="[^"]*" height="[^"]*"')


def _pyplot() -> Any:
    matplotlib = require("matplotlib", "html", feature="the HTML report's charts")
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def svg_chart(chart: Chart) -> str | None:
    """The chart as an `<svg>` element that scales to its container, or None when it has
    nothing to draw."""
    plt = _pyplot()
    import numpy as np

    drawable = [
        s for s in chart.series if any(v is not None and math.isfinite(v) for v in s.values)
    ]
    if not drawable:
        return None
    with plt.rc_context(STYLE):
        figure, axes = plt.subplots(figsize=(6.4, 3.4), layout="constrained")
        try:
            _draw(axes, chart, np)
            buffer = io.StringIO()
            figure.savefig(buffer, format="svg", metadata={"Date": None}, transparent=False)
        finally:
            plt.close(figure)
    text = buffer.getvalue()
    text = _METADATA.sub("", text[text.index("<svg") :], count=1)
    # Scales with the page (phones): the viewBox stays, the fixed size goes.
    return _SIZE.sub(r'<svg\1 role="img" class="chart"', text, count=1)


def _draw(axes: Any, chart: Chart, np: Any) -> None:
    colours = chart.colours()
    bars = [s for s in chart.series if s.kind == "bar"]
    paired = len(bars) == 2 and chart.key in ("per_class", "slices")
    positions = np.arange(len(chart.categories))
    if paired:
        # Paired bars: Mermaid needs two slots per category, SVG draws them side by side.
        labels = chart.categories[::2]
        labels = [label.rsplit(" ", 1)[0] for label in labels]
        centres = np.arange(len(labels))
        for offset, (series, colour) in zip(
            (-0.2, 0.2), zip(bars, colours, strict=False), strict=False
        ):
            slots = series.values[0::2] if series.side == "base" else series.values[1::2]
            axes.bar(centres + offset, _floats(slots), width=0.4, color=colour, label=series.name)
        axes.set_xticks(
            centres,
            labels,
            rotation=30 if len(labels) > 6 else 0,
            ha="right" if len(labels) > 6 else "center",
        )
        axes.axhline(0, color="#444444", linewidth=0.8)
    else:
        numeric = _numeric(chart.categories)
        x = np.asarray(numeric) if numeric is not None else positions
        width = (x[1] - x[0]) * 0.4 if len(x) > 1 else 0.4
        bar_index = 0
        for series, colour in zip(chart.series, colours, strict=True):
            values = _floats(series.values)
            if series.kind == "bar":
                shift = (bar_index - (len(bars) - 1) / 2) * width
                axes.bar(x + shift, values, width=width, color=colour, label=series.name)
                bar_index += 1
            else:
                axes.plot(
                    x, values, color=colour, label=series.name, marker="." if len(x) <= 21 else None
                )
        if numeric is None:
            axes.set_xticks(positions, chart.categories, rotation=30 if len(positions) > 6 else 0)
        if chart.key == "roc":
            axes.plot([0, 1], [0, 1], color="#bbbbbb", linestyle=":", linewidth=1, label="chance")
        if chart.key == "calibration":
            axes.plot([0, 1], [0, 1], color="#bbbbbb", linestyle=":", linewidth=1, label="perfect")
    if chart.y_range is not None:
        low, high = chart.y_range
        axes.set_ylim(min(low, axes.get_ylim()[0]), max(high, 1.02 * high))
    axes.set_xlabel(chart.x_label)
    axes.set_ylabel(chart.y_label)
    # The title and summary are the figure's caption in the page (HTML text), not drawn twice.
    axes.legend(frameon=False, fontsize=8)


def _floats(values: list[float | None]) -> list[float]:
    return [math.nan if v is None else v for v in values]


def _numeric(labels: list[str]) -> list[float] | None:
    try:
        return [float(label) for label in labels]
    except ValueError:
        return None
