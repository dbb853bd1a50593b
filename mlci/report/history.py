"""The base-branch trend and this pull request's earlier pushes as tables and charts (text,
markdown and HTML views share them); they only read `report.history` and `report.pushes`."""

from __future__ import annotations

import math
import statistics
from typing import TYPE_CHECKING

from mlci.report.charts import trend_metric_label
from mlci.report.tables import MISSING, Table, format_value

if TYPE_CHECKING:
    from mlci.report.model import HistoryTrend, Report

TREND_COLUMNS = 6
"""Recorded commits the trend table shows (the JSON report and the charts have all)."""


def trend_table(trend: HistoryTrend, precision: int = 5) -> Table:
    """One row per gated metric: the last recorded base-branch commits, the head, and the head
    against the median of those commits (better or worse, by the metric's direction)."""
    shown = trend.points[-TREND_COLUMNS:]
    count = len(trend.points)
    headers = ["Metric", *(point.commit[:7] for point in shown), "this PR", f"vs median of {count}"]
    table = Table(
        title=f"Trend: the last {count} recorded base-branch commits",
        headers=headers,
        align_right=set(range(1, len(headers))),
    )
    for index, metric in enumerate(trend.metrics):
        head = trend.head[index] if index < len(trend.head) else None
        values = [p.values[index] for p in trend.points if index < len(p.values)]
        finite = [v for v in values if v is not None and math.isfinite(v)]
        versus = MISSING
        if finite and head is not None and math.isfinite(head):
            gap = head - statistics.median(finite)
            versus = ("+" if gap > 0 else "") + format_value(gap, precision)
            if gap and metric.direction:
                better = (gap > 0) == (metric.direction == "higher")
                versus += " ▲ better" if better else " ▼ worse"
        row = [trend_metric_label(trend, index)]
        row += [format_value(p.values[index], precision) for p in shown]
        row += [format_value(head, precision), versus]
        table.rows.append(row)
    return table


def gated_values(report: Report) -> dict[str, float | None]:
    """The head's value of every gated metric (the first rule's observed value), by name; in a
    report of several projects, each project's, named `PROJECT: metric`."""
    values: dict[str, float | None] = {}
    for gate in report.gates:
        if gate.metric not in values and gate.rule != "significance":
            observed = gate.observed
            values[gate.metric] = observed if observed is None or math.isfinite(observed) else None
    for project in report.projects:
        if project.report is not None:
            for name, value in gated_values(project.report).items():
                values.setdefault(f"{project.path}: {name}", value)
    return values


def pushes_table(report: Report, commit: str | None, precision: int = 5) -> Table:
    """This pull request's earlier pushes, oldest first, then this push."""
    current = gated_values(report)
    names = list(dict.fromkeys([*current, *(n for p in report.pushes for n in p.values)]))
    table = Table(
        title="This pull request's pushes",
        headers=["Push", *names],
        align_right=set(range(1, len(names) + 1)),
    )
    for push in report.pushes:
        table.rows.append(
            [push.commit[:7], *(format_value(push.values.get(name), precision) for name in names)]
        )
    label = f"{commit[:7]} (this push)" if commit else "this push"
    table.rows.append([label, *(format_value(current.get(name), precision) for name in names)])
    return table


def history_table(trend: HistoryTrend, precision: int = 5) -> Table:
    """`mlci history`: one row per recorded base-branch commit, newest first."""
    names = [trend_metric_label(trend, index) for index in range(len(trend.metrics))]
    table = Table(
        title=f"Gated metrics of the last {len(trend.points)} recorded commits ({trend.source})",
        headers=["Commit", "Recorded", *names],
        align_right=set(range(2, len(names) + 2)),
    )
    for point in reversed(trend.points):
        values = [format_value(value, precision) for value in point.values]
        table.rows.append([point.commit[:12], point.recorded_at, *values])
    return table
