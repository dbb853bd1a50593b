"""The report's charts: one typed `Chart` per picture, drawn as Mermaid in markdown (GitHub renders
it in comments and job summaries, with no image host) and as SVG in the HTML report.

Each chart carries the same numbers as a small table, shown beneath it. Charts show what a table
cannot: the shape of a curve, where base and head part. Everything users named (classes, slices,
metrics) goes through `mermaid_text`, so no name can end a string, the code fence or start a
directive; numbers are plain decimals, the only ones Mermaid's parser reads; a NaN is left out
of the picture and shown as `-` in the table.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from mlci.report.markdown_text import shorten
from mlci.report.tables import MISSING, Table, format_value

if TYPE_CHECKING:
    from mlci.report.curves import Curve, ModelCurves
    from mlci.report.model import HistoryTrend, Report
    from mlci.report.model_diff import ModelDiff, SliceChange

ChartKey = Literal[
    "roc", "pr", "calibration", "per_class", "slices", "residuals", "deciles", "history"
]
CHART_KEYS: tuple[ChartKey, ...] = (
    "roc",
    "pr",
    "calibration",
    "per_class",
    "slices",
    "residuals",
    "deciles",
    "history",
)
"""Every chart, in the order the report shows them (and keeps them when space is short)."""
MAX_BARS = 24
"""Categories a bar chart shows; the table beneath has all of them."""

BASE_COLOURS = ("#9e9e9e", "#5f5f5f")
HEAD_COLOURS = ("#1f77b4", "#0b3d6b")
COLOUR_NAMES = {"#9e9e9e": "grey", "#5f5f5f": "dark grey", "#1f77b4": "blue", "#0b3d6b": "navy"}


@dataclass
class ChartSeries:
    name: str
    values: list[float | None]
    side: Literal["base", "head"] = "head"
    kind: Literal["line", "bar"] = "line"


@dataclass
class Chart:
    """One picture and its numbers."""

    key: ChartKey
    title: str
    x_label: str
    y_label: str
    categories: list[str]
    """The x positions as text (rates, bin centres, class names, run labels)."""
    series: list[ChartSeries]
    y_range: tuple[float, float] | None = None
    """Fixed y range (rates: 0 to 1); None lets the renderer fit the data."""
    summary: str = ""
    """One line under the title: AUC base → head, ..."""
    note: str | None = None
    table: Table = field(default_factory=lambda: Table(title="", headers=[]))

    def colours(self) -> list[str]:
        used = {"base": 0, "head": 0}
        colours = []
        for series in self.series:
            palette = BASE_COLOURS if series.side == "base" else HEAD_COLOURS
            colours.append(palette[min(used[series.side], len(palette) - 1)])
            used[series.side] += 1
        return colours

    @property
    def legend(self) -> str:
        """Which colour is which series, in words (old Mermaid draws no legend)."""
        parts = [
            f"{series.name} {COLOUR_NAMES[colour]}"
            for series, colour in zip(self.series, self.colours(), strict=True)
        ]
        return ", ".join(parts)


# --- building charts from the report's data ---------------------------------------------------


def _number(value: float, digits: int = 4) -> str:
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _change(base: float | None, head: float | None, precision: int) -> str:
    if base is None or head is None:
        return format_value(head, precision)
    return f"{format_value(base, precision)} → {format_value(head, precision)}"


def _curve_table(curve: Curve, precision: int) -> Table:
    headers = [curve.x_label, *(series.name for series in curve.series)]
    counted = [side for side in ("base", "head") if side in curve.counts]
    headers += [f"{side} examples" for side in counted]
    table = Table(title=curve.title, headers=headers, align_right=set(range(len(headers))))
    for index, x in enumerate(curve.x):
        label = _bin_label(curve, index) if curve.x_edges else _number(x)
        row = [label, *(format_value(series.values[index], precision) for series in curve.series)]
        row += [str(curve.counts[side][index]) for side in counted]
        table.rows.append(row)
    return table


def _bin_label(curve: Curve, index: int) -> str:
    assert curve.x_edges is not None
    low, high = curve.x_edges[index], curve.x_edges[index + 1]
    return f"{_number(low)} to {_number(high)}"


def curve_chart(curve: Curve, precision: int = 4) -> Chart:
    """A chart of one curve of the model diff, its series as lines (histograms as bars)."""
    kind: Literal["line", "bar"] = "bar" if curve.kind == "residuals" else "line"
    series = [ChartSeries(s.name, list(s.values), side=s.side, kind=kind) for s in curve.series]
    rates = curve.kind in ("roc", "pr", "calibration")
    summary = _curve_summary(curve, precision)
    categories = [_number(x, 3) for x in curve.x]
    key: ChartKey = curve.kind
    return Chart(
        key=key,
        title=curve.title,
        x_label=curve.x_label,
        y_label=curve.y_label,
        categories=categories,
        series=series,
        y_range=(0.0, 1.0) if rates else None,
        summary=summary,
        table=_curve_table(curve, precision),
    )


def _curve_summary(curve: Curve, precision: int) -> str:
    names = sorted({key.split(" ", 1)[1] for key in curve.summary if " " in key})
    parts = []
    for name in names:
        base = curve.summary.get(f"base {name}")
        head = curve.summary.get(f"head {name}")
        parts.append(f"{name} {_change(base, head, precision)}")
    return "; ".join(parts)


def paired_bar_chart(
    key: ChartKey,
    title: str,
    x_label: str,
    y_label: str,
    rows: Sequence[tuple[str, float | None, float | None]],
    *,
    precision: int = 4,
    support: Sequence[int | None] | None = None,
    y_range: tuple[float, float] | None = None,
) -> Chart:
    """Base and head side by side for each category (a class, a slice). Mermaid draws bars of
    two series on top of each other, so each category gets two slots, one per side; categories
    beyond `MAX_BARS` (those that moved least) are in the table only."""
    order = list(range(len(rows)))
    note = None
    if len(rows) > MAX_BARS:
        order.sort(key=lambda i: -abs(_gap(rows[i][1], rows[i][2])))
        order = sorted(order[:MAX_BARS])
        note = f"the {MAX_BARS} that moved most of {len(rows)}; all are in the table"
    categories: list[str] = []
    base_values: list[float | None] = []
    head_values: list[float | None] = []
    for index in order:
        label, base, head = rows[index]
        # Cut the name, not the side: the chart's labels hold 30 characters.
        short = shorten(label, 18)
        categories += [f"{short} base", f"{short} head"]
        base_values += [base, 0.0]
        head_values += [0.0, head]
    headers = [x_label, "base", "head", "change"] + (["support"] if support else [])
    table = Table(title=title, headers=headers, align_right={1, 2, 3, 4})
    for index, (label, base, head) in enumerate(rows):
        change = MISSING if base is None or head is None else _signed(head - base, precision)
        row = [label, format_value(base, precision), format_value(head, precision), change]
        if support:
            row.append(format_value(support[index]))
        table.rows.append(row)
    return Chart(
        key=key,
        title=title,
        x_label=x_label,
        y_label=y_label,
        categories=categories,
        series=[
            ChartSeries("base", base_values, side="base", kind="bar"),
            ChartSeries("head", head_values, side="head", kind="bar"),
        ],
        y_range=y_range,
        note=note,
        table=table,
    )


def _gap(base: float | None, head: float | None) -> float:
    if base is None or head is None or not (math.isfinite(base) and math.isfinite(head)):
        return math.inf
    return head - base


def _signed(value: float, precision: int) -> str:
    if math.isnan(value):
        return "NaN"
    text = format_value(value, precision)
    return f"+{text}" if value > 0 else text


def history_chart(
    metric: str, runs: Sequence[tuple[str, float | None]], precision: int = 4
) -> Chart:
    """A gated metric over the last base-branch runs, the PR head last."""
    table = Table(title=f"{metric} history", headers=["run", metric], align_right={1})
    table.rows = [[label, format_value(value, precision)] for label, value in runs]
    values = [value for _, value in runs]
    head: list[float | None] = [0.0] * (len(runs) - 1)
    return Chart(
        key="history",
        title=f"{metric} over the last base-branch runs and this PR",
        x_label="run",
        y_label=metric,
        categories=[label for label, _ in runs],
        series=[
            ChartSeries("runs", values, side="base"),
            ChartSeries("this PR", head + values[-1:], side="head", kind="bar"),
        ],
        summary=f"{len(runs) - 1} base-branch runs",
        table=table,
    )


def model_curve_charts(curves: ModelCurves | None, precision: int = 4) -> list[Chart]:
    """A chart for each curve of the model diff (ROC, PR, calibration / residuals, deciles)."""
    if curves is None:
        return []
    charts = [curve_chart(curve, precision) for curve in curves.curves]
    for chart in charts:
        if curves.note and chart.key in ("roc", "pr", "calibration"):
            chart.note = curves.note
    return charts


# --- Mermaid ------------------------------------------------------------------------------------

_UNSAFE = re.compile(r"[^\w .:/+\-()%,=]")


def mermaid_text(text: str, limit: int = 40) -> str:
    """User text inside a Mermaid string: no quote, backtick, newline, bracket, `%%` or
    control character; letters of every script stay."""
    value = _UNSAFE.sub("_", shorten(text, limit - 2).replace("…", "..."))
    while "%%" in value:
        value = value.replace("%%", "%_")
    return value.strip() or "_"


def _drawable(chart: Chart) -> list[int]:
    """The x positions every series has a finite value at (Mermaid cannot skip a point)."""
    keep = []
    for index in range(len(chart.categories)):
        values = [series.values[index] for series in chart.series]
        if all(v is not None and math.isfinite(v) for v in values):
            keep.append(index)
    return keep


def mermaid_chart(chart: Chart) -> str | None:
    """The chart as a ```mermaid block (xychart-beta), or None when nothing can be drawn."""
    keep = _drawable(chart)
    if not keep or not chart.series:
        return None
    categories = ", ".join(f'"{mermaid_text(chart.categories[i], 30)}"' for i in keep)
    palette = ", ".join(chart.colours())
    init = {"themeVariables": {"xyChart": {"plotColorPalette": palette}}}
    title = f"{chart.title} ({chart.legend})"
    lines = [
        "```mermaid",
        f"%%{{init: {json.dumps(init)}}}%%",
        "xychart-beta",
        f'    title "{mermaid_text(title, 120)}"',
        f'    x-axis "{mermaid_text(chart.x_label)}" [{categories}]',
    ]
    y_label = f'"{mermaid_text(chart.y_label)}"'
    if chart.y_range is not None:
        low, high = chart.y_range
        values = [chart.series[s].values[i] for s in range(len(chart.series)) for i in keep]
        low = min(low, *(v for v in values if v is not None))
        high = max(high, *(v for v in values if v is not None))
        lines.append(f"    y-axis {y_label} {_number(low)} --> {_number(high)}")
    else:
        lines.append(f"    y-axis {y_label}")
    for series in chart.series:
        numbers = ", ".join(_number(series.values[i] or 0.0) for i in keep)
        lines.append(f'    {series.kind} "{mermaid_text(series.name)}" [{numbers}]')
    lines.append("```")
    return "\n".join(lines)


def model_diff_charts(model: ModelDiff | None, precision: int = 4) -> list[Chart]:
    """F1 per class and the slices' first metric, base vs head, from the model diff."""
    if model is None:
        return []
    charts = []
    if model.per_class:
        rows = [(str(change.label), change.f1.old, change.f1.new) for change in model.per_class]
        charts.append(
            paired_bar_chart(
                "per_class",
                "F1 per class",
                "class",
                "F1",
                rows,
                precision=precision,
                support=[change.support for change in model.per_class],
                y_range=(0.0, 1.0),
            )
        )
    if model.slices:
        from mlci.report.model_tables import SLICE_METRICS

        names = [name for name in SLICE_METRICS[model.task] if name in model.slices[0].metrics]
        metric = names[0] if names else next(iter(model.slices[0].metrics), None)
        shown = [row for row in model.slices if metric is not None and metric in row.metrics]
        if metric is not None and shown:
            rows = [
                (_slice_label(row), row.metrics[metric].old, row.metrics[metric].new)
                for row in shown
            ]
            rates = metric not in ("mae", "rmse", "mse", "mape", "r2", "log_loss")
            charts.append(
                paired_bar_chart(
                    "slices",
                    f"{metric} by slice",
                    "slice",
                    metric,
                    rows,
                    precision=precision,
                    support=[row.support for row in shown],
                    y_range=(0.0, 1.0) if rates else None,
                )
            )
    return charts


def _slice_label(row: SliceChange) -> str:
    value = f"(other: {len(row.grouped)})" if row.grouped else row.value
    return f"{row.column}={value}"


def report_charts(
    report: Report, enabled: frozenset[str] | None = None, precision: int = 4
) -> list[Chart]:
    """Every chart the report's data allows and the config enables, in `CHART_KEYS` order."""
    charts = model_curve_charts(report.curves, min(precision, 4))
    charts += model_diff_charts(report.model, min(precision, 4))
    charts += trend_charts(report, min(precision, 4))
    charts += trend_charts(report, min(precision, 4))
    wanted = set(CHART_KEYS) if enabled is None else enabled
    order = {key: index for index, key in enumerate(CHART_KEYS)}
    chosen = [chart for chart in charts if chart.key in wanted]
    return sorted(chosen, key=lambda chart: order[chart.key])


TREND_CHARTS = 4
"""Gated metrics charted over the base-branch trend."""


def trend_metric_label(trend: HistoryTrend, index: int) -> str:
    """The metric's name, with its file when two files define that name."""
    metric = trend.metrics[index]
    twins = sum(1 for other in trend.metrics if other.name == metric.name)
    return metric.name if twins == 1 else f"{metric.path}:{metric.name}"


def trend_charts(report: Report, precision: int = 4) -> list[Chart]:
    """A line over the recorded base-branch commits, the PR last, for the first gated metrics."""
    trend = report.history
    if trend is None or not trend.points:
        return []
    charts = []
    for index in range(min(len(trend.metrics), TREND_CHARTS)):
        runs: list[tuple[str, float | None]] = [
            (point.commit[:7], point.values[index]) for point in trend.points
        ]
        runs.append(("this PR", trend.head[index] if index < len(trend.head) else None))
        charts.append(history_chart(trend_metric_label(trend, index), runs, precision))
    return charts
