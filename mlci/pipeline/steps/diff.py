"""The `diff` step: every metric and param against the baseline."""

from __future__ import annotations

from mlci.checks.diff import metric_changes, no_direction
from mlci.pipeline.context import CheckContext
from mlci.report.model import MetricsDiff, Problem, Report
from mlci.sources.metrics import MetricSet


def run(context: CheckContext, report: Report) -> None:
    if not context.has_metrics():
        return
    report.base = context.base_label()
    diff = MetricsDiff(base=context.base_metrics().label, head=context.head_label())
    report.diff = diff
    diff.metrics = metric_changes(
        context.base_metrics(), context.head_metrics(), direction_of=context.direction_of
    )
    sides = [context.base_metrics(), context.head_metrics()]
    if context.source.params or context.config.config.metrics.dvc is not False:
        diff.params = metric_changes(
            context.base_metrics("params"),
            context.head_metrics("params"),
            direction_of=no_direction,
        )
        sides += [context.base_metrics("params"), context.head_metrics("params")]
    unreadable = {missing.path for side in sides for missing in side.unavailable}
    diff.metrics = [row for row in diff.metrics if row.path not in unreadable]
    diff.params = [row for row in diff.params if row.path not in unreadable]
    report.problems.extend(unavailable_problems(sides))


def unavailable_problems(sides: list[MetricSet]) -> list[Problem]:
    """Files inside DVC outputs this machine cannot read: said, never shown as "removed"."""
    return [
        Problem(check="diff", message=f"{missing.message(side.label)}: {missing.hint}")
        for side in sides
        for missing in side.unavailable
    ]
