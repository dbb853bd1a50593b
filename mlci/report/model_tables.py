"""The model diff laid out as tables of strings, shared by the text and markdown views: metrics
with their paired intervals, per class, the confusion matrix change, broken examples, slices.

With many classes the per-class table and the confusion matrix keep the classes that changed
most and say how many are left out."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mlci.report.tables import MISSING, Table, format_change, format_value

if TYPE_CHECKING:
    from mlci.report.model_diff import ModelDiff, SliceChange, ValueChange

MATRIX_CLASSES = 8
"""Classes (rows and columns) of the confusion matrix change shown at most."""
SLICE_METRICS = {
    "binary": ("accuracy", "f1", "roc_auc"),
    "multiclass": ("accuracy", "f1_macro"),
    "regression": ("mae", "rmse"),
}
"""The metrics each slice row shows (the JSON report has all of them)."""


@dataclass
class ModelTable:
    """A table of the model diff and what a reader should know about it."""

    key: str
    """`metrics`, `per_class`, `confusion`, `changed`, `slices`."""
    table: Table
    notes: list[str] = field(default_factory=list)


def arrow(change: ValueChange) -> str:
    """`▲` when the number rose, `▼` when it fell, as the metric diff shows them."""
    if change.diff is None or change.diff == 0 or math.isnan(change.diff):
        return ""
    return "▲ " if change.diff > 0 else "▼ "


def verdict(change: ValueChange) -> str:
    """`improved`, `regressed` or `unchanged` (`changed` without a direction)."""
    if change.diff is None or math.isnan(change.diff):
        return "changed" if change.old != change.new else "unchanged"
    if change.diff == 0:
        return "unchanged"
    if change.direction is None:
        return "changed"
    better = change.diff > 0 if change.direction == "higher" else change.diff < 0
    return "improved" if better else "regressed"


def change_cell(change: ValueChange, precision: int) -> str:
    return arrow(change) + format_change(change.diff, precision)


def interval_cell(change: ValueChange, precision: int) -> str:
    if change.ci_low is None or change.ci_high is None:
        return MISSING
    return (
        f"[{format_change(change.ci_low, precision)}, {format_change(change.ci_high, precision)}]"
    )


def metrics_table(model: ModelDiff, precision: int) -> ModelTable:
    with_ci = any(change.ci_low is not None for change in model.metrics.values())
    headers = ["Metric", "Base", "Head", "Change"]
    if with_ci and model.confidence is not None:
        headers.append(f"{model.confidence * 100:g}% CI")
    headers.append("")
    table = Table(
        title=f"Model metrics ({_examples(model.examples.paired)} paired examples)"
        if model.examples.paired
        else f"Model metrics ({_examples(model.examples.head)} examples, no base predictions)",
        headers=headers,
        align_right={1, 2, 3, 4} if with_ci else {1, 2, 3},
    )
    for name, change in model.metrics.items():
        row = [
            name,
            format_value(change.old, precision),
            format_value(change.new, precision),
            change_cell(change, precision),
        ]
        if with_ci:
            row.append(interval_cell(change, precision))
        row.append(_mark(change))
        table.rows.append(row)
    return ModelTable("metrics", table, list(model.notes))


def _mark(change: ValueChange) -> str:
    word = verdict(change)
    mark = {"improved": "better", "regressed": "worse"}.get(word, "")
    if change.significant is not None and mark:
        mark += " (significant)" if change.significant else " (within noise)"
    return mark


def per_class_table(model: ModelDiff, precision: int, limit: int | None = None) -> ModelTable:
    """Per class: support, precision, recall, F1 base → head; largest |ΔF1| first when cut."""
    table = Table(
        title="Per class",
        headers=["Class", "Support", "Precision", "Recall", "F1", "F1 change"],
        align_right={1, 2, 3, 4, 5},
    )
    rows = list(model.per_class)
    notes = []
    if limit is not None and len(rows) > limit:
        rows.sort(key=lambda row: -abs(row.f1.diff or 0.0))
        left = len(rows) - limit
        notes.append(
            f"{left} more class{'es' if left != 1 else ''} with smaller F1 changes left out "
            "(all are in the JSON report)"
        )
        rows = rows[:limit]
    for row in rows:
        table.rows.append(
            [
                str(row.label),
                str(row.support),
                _pair(row.precision, precision),
                _pair(row.recall, precision),
                _pair(row.f1, precision),
                change_cell(row.f1, precision),
            ]
        )
    return ModelTable("per_class", table, notes)


def _pair(change: ValueChange, precision: int) -> str:
    old, new = format_value(change.old, precision), format_value(change.new, precision)
    return new if old == new or change.old is None else f"{old} → {new}"


def confusion_table(model: ModelDiff, limit: int = MATRIX_CLASSES) -> ModelTable | None:
    """Head counts with the change from the base in each cell that moved (`12 (+3)`); rows are
    the true classes, columns the predicted ones."""
    matrices = model.confusion_matrix
    if matrices is None:
        return None
    labels = matrices.labels
    k = len(labels)
    moved = [
        sum(abs(matrices.head[i][j] - matrices.base[i][j]) for j in range(k))
        + sum(abs(matrices.head[j][i] - matrices.base[j][i]) for j in range(k))
        for i in range(k)
    ]
    chosen = list(range(k))
    notes = []
    if k > limit:
        chosen = sorted(sorted(range(k), key=lambda i: -moved[i])[:limit])
        left = k - limit
        notes.append(
            f"the {limit} classes whose cells changed most; {left} more class"
            f"{'es' if left != 1 else ''} left out (all are in the JSON report)"
        )
    table = Table(
        title="Confusion matrix: head (change from base); rows true, columns predicted",
        headers=["true \\ predicted", *(str(labels[j]) for j in chosen)],
        align_right=set(range(1, len(chosen) + 1)),
    )
    for i in chosen:
        cells = []
        for j in chosen:
            head, base = matrices.head[i][j], matrices.base[i][j]
            delta = head - base
            cells.append(f"{head} ({delta:+d})" if delta else str(head))
        table.rows.append([str(labels[i]), *cells])
    return ModelTable("confusion", table, notes)


def changed_table(model: ModelDiff, precision: int) -> ModelTable | None:
    changed = model.changed
    if changed is None:
        return None
    regression = model.task == "regression"
    if regression:
        title = (
            f"Changed predictions: error shrank on {changed.fixed}, grew on {changed.broken}"
            + (f"; the {len(changed.examples)} whose error grew most" if changed.examples else "")
        )
    else:
        title = f"Changed predictions: {changed.fixed} fixed, {changed.broken} broken" + (
            f"; the first {len(changed.examples)} broken" if changed.examples else ""
        )
    if not changed.examples:
        table = Table(title=title, headers=["Fixed", "Broken"], align_right={0, 1})
        table.rows.append([str(changed.fixed), str(changed.broken)])
        return ModelTable("changed", table)
    features: list[str] = []
    for example in changed.examples:
        features += [name for name in example.features if name not in features]
    headers = ["Id", "Target", "Base", "Head"]
    if regression:
        headers += ["Error base → head"]
    table = Table(title=title, headers=headers + features)
    if regression:
        table.align_right = {1, 2, 3, 4}
    for example in changed.examples:
        row = [
            format_value(example.id, precision),
            format_value(example.target, precision),
            format_value(example.base, precision),
            format_value(example.head, precision),
        ]
        if regression:
            row.append(
                f"{format_value(example.base_error, precision)} → "
                f"{format_value(example.head_error, precision)}"
            )
        row += [format_value(example.features.get(name), precision) for name in features]
        table.rows.append(row)
    return ModelTable("changed", table)


def slices_table(model: ModelDiff, precision: int) -> ModelTable | None:
    if not model.slices:
        return None
    shown = [m for m in SLICE_METRICS[model.task] if m in model.slices[0].metrics]
    headers = ["Column", "Value", "Support"]
    for name in shown:
        headers += [name, "Change"]
    table = Table(
        title=f"Slices (under {model.min_support} examples grouped as (other))"
        if model.min_support
        else "Slices",
        headers=headers,
        align_right=set(range(2, len(headers))),
    )
    for row in model.slices:
        cells = [row.column, _slice_value(row), str(row.support)]
        for name in shown:
            change = row.metrics[name]
            cells += [_pair(change, precision), change_cell(change, precision)]
        table.rows.append(cells)
    return ModelTable("slices", table)


def _slice_value(row: SliceChange) -> str:
    if row.grouped:
        return f"(other: {len(row.grouped)} value{'s' if len(row.grouped) != 1 else ''})"
    return str(row.value)


def _examples(count: int) -> str:
    return f"{count:,}"


def model_tables(
    model: ModelDiff, precision: int = 5, class_limit: int | None = None
) -> list[ModelTable]:
    """Every table of the model diff, in reading order."""
    tables = [metrics_table(model, precision)]
    if model.per_class:
        tables.append(per_class_table(model, precision, class_limit))
    for table in (
        confusion_table(model),
        changed_table(model, precision),
        slices_table(model, precision),
    ):
        if table is not None:
            tables.append(table)
    return tables


@dataclass
class MetricIntervals:
    """The paired intervals of the model diff, for the metrics table of the metric files: one
    more column when any metric there is one the model diff measured."""

    found: dict[str, str]
    headers: list[str]

    def cells(self, name: str) -> list[str]:
        return [self.found.get(name, MISSING)] if self.headers else []


def metric_intervals(model: ModelDiff | None, names: list[str], precision: int) -> MetricIntervals:
    """`accuracy`, `test_accuracy`, `val_f1_macro`, ... matched to the model diff's metrics."""
    if model is None or model.confidence is None:
        return MetricIntervals({}, [])
    found = {}
    for name in names:
        change = model.metrics.get(model.aliases.get(name, name))
        if change is not None and change.ci_low is not None:
            found[name] = interval_cell(change, precision)
    headers = [f"{model.confidence * 100:g}% CI (paired)"] if found else []
    return MetricIntervals(found, headers)
