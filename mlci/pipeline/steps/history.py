"""The `history` step: the head's gated metrics against the last recorded base-branch commits
(`history:` in mlci.yaml, or `baseline: {source: history}`)."""

from __future__ import annotations

from mlci.errors import MlciError
from mlci.pipeline.context import CheckContext
from mlci.report.model import HistoryTrend, Report, TrendMetric, TrendPoint


def run(context: CheckContext, report: Report) -> None:
    config = context.config
    if not config.explicit:
        return
    settings = config.config.history
    uses_history = config.config.baseline.source == "history"
    if (settings is None and not uses_history) or (settings and not settings.trend_in_comment):
        return
    if not context.has_metrics():
        return
    from mlci.pipeline.history import history_id, history_settings, open_history, trend_records

    settings = history_settings(config)
    head = context.head_metrics()
    gated: list[TrendMetric] = []
    for gate in config.config.gates:
        for path, _ in head.lookup(gate.metric, gate.path):
            if not any(m.path == path and m.name == gate.metric for m in gated):
                gated.append(
                    TrendMetric(path, gate.metric, context.direction_of(path, gate.metric))
                )
    if not gated:
        return
    store = open_history(config, context.env, context.git)
    trend = HistoryTrend(source=store.label, metrics=gated)
    report.history = trend
    try:
        records = trend_records(
            store,
            context.git,
            context.base_revision().sha,
            history_id(config),
            settings.trend,
            settings.search,
        )
    except MlciError as error:
        # The trend only informs: a history that cannot be read is said, the checks go on (a
        # history baseline that cannot be read is an error of the diff and the gates).
        trend.note = f"the base-branch history could not be read: {error}"
        return
    for record in records:
        trend.points.append(
            TrendPoint(
                commit=record.commit,
                recorded_at=record.recorded_at,
                values=[record.value(m.path, m.name) for m in gated],
            )
        )
    for metric in gated:
        value = head.lookup(metric.name, metric.path)[0][1]
        number = isinstance(value, int | float) and not isinstance(value, bool)
        trend.head.append(float(value) if number else None)
    if not records:
        trend.note = (
            f"no base-branch commit is recorded in {store.label} yet: the deploy-on-merge "
            "workflow records one on every push (`mlci history record`)"
        )
