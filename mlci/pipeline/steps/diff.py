"""The `diff` step: every metric and param against the baseline."""

from __future__ import annotations

from mlci.checks.diff import metric_changes, no_direction
from mlci.pipeline.context import CheckContext
from mlci.report.model import MetricsDiff, Report


def run(context: CheckContext, report: Report) -> None:
    if not context.has_metrics():
        return
    report.base = context.base_label()
    diff = MetricsDiff(base=context.base_metrics().label, head=context.head_label())
    report.diff = diff
    diff.metrics = metric_changes(
        context.base_metrics(), context.head_metrics(), direction_of=context.direction_of
    )
    if context.source.params or context.config.config.metrics.dvc is not False:
        diff.params = metric_changes(
            context.base_metrics("params"),
            context.head_metrics("params"),
            direction_of=no_direction,
        )
