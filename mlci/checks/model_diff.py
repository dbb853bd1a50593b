"""The model diff from paired predictions, computed with numpy on integer codes.

Classification counts everything with `np.bincount` over joint codes: `target * K + prediction`
gives each side's confusion matrix in one pass, `slice * K² + target * K + prediction` every
slice's at once. Every confusion-matrix metric (accuracy, balanced accuracy, precision, recall
and F1: per class, macro, weighted, binary) is then arithmetic on the matrices' diagonals, row and
column sums — vectorised over any leading axis, which is what lets the significance bootstrap
score 10,000 resamples at once (`mlci/checks/significance.py`). Regression sums errors per slice
with weighted bincounts. The values equal scikit-learn's (`tests/unit/test_model_diff.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from mlci.checks.direction import Direction
from mlci.checks.stats import DIRECTIONS
from mlci.report.model_diff import (
    ChangedExample,
    ChangedPredictions,
    ClassChange,
    ConfusionMatrices,
    Examples,
    ModelDiff,
    SliceChange,
    ValueChange,
)

if TYPE_CHECKING:
    from mlci.sources.prediction_pairs import PairedPredictions

FloatArray = NDArray[np.float64]
OTHER_SLICE = "(other)"
CONFUSION_METRICS = (
    "accuracy",
    "balanced_accuracy",
    "precision_macro",
    "recall_macro",
    "f1_macro",
    "precision_weighted",
    "recall_weighted",
    "f1_weighted",
)
BINARY_METRICS = ("precision", "recall", "f1")
REGRESSION_METRICS = ("mae", "mse", "rmse", "r2", "mape")


HIGHER = frozenset(name for name, direction in DIRECTIONS.items() if direction == "higher")
"""Metrics where higher is better (one list with the significance gate's); the others lower."""


def direction_of(metric: str) -> Direction:
    return "higher" if metric in HIGHER else "lower"


# --- confusion-matrix metrics, vectorised over leading axes --------------------------------------


@dataclass
class ClassCounts:
    """Per class (last axis): true positives, how often predicted, how often the target."""

    tp: NDArray[Any]
    predicted: NDArray[Any]
    support: NDArray[Any]

    @classmethod
    def of(cls, matrices: NDArray[Any]) -> ClassCounts:
        """From confusion matrices (..., K, K): rows true, columns predicted."""
        return cls(
            tp=np.diagonal(matrices, axis1=-2, axis2=-1),
            predicted=matrices.sum(axis=-2),
            support=matrices.sum(axis=-1),
        )


def per_class_scores(counts: ClassCounts) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Precision, recall and F1 per class, 0 where undefined (scikit-learn's zero_division=0)."""
    tp = counts.tp.astype(np.float64)
    predicted = counts.predicted.astype(np.float64)
    support = counts.support.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        both = predicted + support
        f1 = np.where(both > 0, 2 * tp / both, 0.0)
    return precision, recall, f1


def confusion_metrics(counts: ClassCounts, positive: int | None = None) -> dict[str, FloatArray]:
    """Every confusion-matrix metric, as scikit-learn computes it with `zero_division=0`: macro
    averages over the classes present in the target or the predictions, weighted ones by support,
    balanced accuracy over the classes present in the target."""
    precision, recall, f1 = per_class_scores(counts)
    support = counts.support.astype(np.float64)
    n = support.sum(axis=-1)
    present = (counts.support > 0) | (counts.predicted > 0)
    in_target = counts.support > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        found = {
            "accuracy": counts.tp.sum(axis=-1) / n,
            "balanced_accuracy": np.where(in_target, recall, 0.0).sum(axis=-1)
            / in_target.sum(axis=-1),
        }
        for name, values in (("precision", precision), ("recall", recall), ("f1", f1)):
            found[f"{name}_macro"] = np.where(present, values, 0.0).sum(axis=-1) / present.sum(
                axis=-1
            )
            found[f"{name}_weighted"] = (values * support).sum(axis=-1) / n
    if positive is not None:
        found["precision"] = precision[..., positive]
        found["recall"] = recall[..., positive]
        found["f1"] = f1[..., positive]
    return {name: np.asarray(values, dtype=np.float64) for name, values in found.items()}


def confusion_matrix(target: NDArray[Any], predicted: NDArray[Any], k: int) -> NDArray[np.int64]:
    return np.bincount(target * k + predicted, minlength=k * k).reshape(k, k)


# --- probability metrics -----------------------------------------------------------------------


def roc_auc(truth: NDArray[np.bool_], score: FloatArray) -> float | None:
    """Area under the ROC curve by the rank-sum (ties count half), None with one class only."""
    from scipy.stats import rankdata

    positives = int(truth.sum())
    negatives = len(truth) - positives
    if positives == 0 or negatives == 0:
        return None
    ranks = rankdata(score)
    return float((ranks[truth].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def auc_metric(
    target: NDArray[Any], proba: FloatArray | None, score: FloatArray | None, paired: Any
) -> float | None:
    """scikit-learn's `roc_auc_score`: binary on the positive score, else one-vs-rest macro."""
    if paired.task == "binary":
        if score is None:
            return None
        return roc_auc(target == paired.positive, score)
    if proba is None:
        return None
    areas = [roc_auc(target == code, proba[:, code]) for code in range(proba.shape[1])]
    if any(area is None for area in areas):
        return None
    return float(np.mean([area for area in areas if area is not None]))


def log_losses(target: NDArray[Any], proba: FloatArray) -> FloatArray:
    """Per-example log loss, clipped as scikit-learn does (to the float's machine epsilon)."""
    eps = np.finfo(proba.dtype).eps
    chosen = np.clip(proba[np.arange(len(target)), target], eps, 1 - eps)
    return np.asarray(-np.log(chosen), dtype=np.float64)


# --- regression --------------------------------------------------------------------------------


def percentage_errors(target: FloatArray, predicted: FloatArray) -> FloatArray:
    """Per-example |predicted - target| / |target|, the target floored at the float's machine
    epsilon as scikit-learn's MAPE floors it."""
    floor = np.finfo(np.float64).eps
    return np.asarray(np.abs(predicted - target) / np.maximum(np.abs(target), floor))


def regression_sums(
    target: FloatArray, predicted: FloatArray, groups: NDArray[Any] | None = None, size: int = 1
) -> dict[str, FloatArray]:
    """Sums per group (one group without `groups`) from which every regression metric follows."""
    error = predicted - target
    columns = {
        "n": np.ones_like(target),
        "abs": np.abs(error),
        "sq": error * error,
        "y": target,
        "yy": target * target,
        "ape": percentage_errors(target, predicted),
    }
    if groups is None:
        return {name: np.array([values.sum()]) for name, values in columns.items()}
    return {
        name: np.bincount(groups, weights=values, minlength=size).astype(np.float64)
        for name, values in columns.items()
    }


def regression_metrics(sums: dict[str, FloatArray]) -> dict[str, FloatArray]:
    """MAE, MSE, RMSE, R² and MAPE as scikit-learn computes them (R² of a constant target:
    1 if predicted exactly, else 0)."""
    n = sums["n"]
    with np.errstate(divide="ignore", invalid="ignore"):
        mse = sums["sq"] / n
        total = sums["yy"] - sums["y"] * sums["y"] / n
        r2 = np.where(total > 0, 1 - sums["sq"] / total, np.where(sums["sq"] == 0, 1.0, 0.0))
        return {
            "mae": sums["abs"] / n,
            "mse": mse,
            "rmse": np.sqrt(mse),
            "r2": r2,
            "mape": sums["ape"] / n,
        }


# --- the diff ----------------------------------------------------------------------------------


def compute_model_diff(
    paired: PairedPredictions, *, examples: int = 10, min_support: int = 30
) -> ModelDiff:
    """Metrics, per class, confusion matrices, changed examples and slices, base vs head."""
    diff = ModelDiff(
        task=paired.task,
        base=paired.base_label,
        head=paired.head_label,
        examples=Examples(head=paired.size, base=paired.size, paired=paired.size),
        min_support=min_support,
    )
    if paired.task == "regression":
        _regression(diff, paired, examples)
    else:
        _classification(diff, paired, examples)
    if paired.slices:
        diff.slices = slice_changes(paired, min_support, diff.notes)
    return diff


def predictions_metrics(paired: PairedPredictions) -> dict[str, float]:
    """The head's metrics alone (`mlci evaluate --predictions`): the model diff's numbers,
    which equal scikit-learn's."""
    diff = compute_model_diff(paired, examples=0)
    return {name: change.new for name, change in diff.metrics.items() if change.new is not None}


def metric_aliases(names: list[str], diff: ModelDiff) -> dict[str, str]:
    """Which metric-file metrics the model diff measures under its own name (`test_accuracy`
    -> `accuracy`)."""
    from mlci.checks.stats import statistic_for

    found = {}
    for name in names:
        key = name if name in diff.metrics else statistic_for(name)
        if key is not None and key in diff.metrics and key != name:
            found[name] = key
    return found


def head_only(diff: ModelDiff, reason: str) -> ModelDiff:
    """The diff of the head against itself turned into the head's numbers alone: no base side,
    nothing changed, and `notes` says why."""

    def alone(change: ValueChange) -> ValueChange:
        return ValueChange(old=None, new=change.new, diff=None, direction=change.direction)

    diff.base = f"no base predictions: {reason}"
    diff.examples = Examples(head=diff.examples.head, base=0, paired=0)
    diff.metrics = {name: alone(change) for name, change in diff.metrics.items()}
    for row in diff.per_class:
        row.precision, row.recall, row.f1 = alone(row.precision), alone(row.recall), alone(row.f1)
        row.predicted = alone(row.predicted) if row.predicted else None
    diff.confusion_matrix = None
    diff.changed = None
    for slice_row in diff.slices:
        slice_row.metrics = {name: alone(change) for name, change in slice_row.metrics.items()}
    diff.notes.insert(0, f"no base predictions to compare with ({reason}): the head's numbers only")
    return diff


def _changes(old: dict[str, Any], new: dict[str, Any]) -> dict[str, ValueChange]:
    return {
        name: ValueChange(
            old=_number(old[name]), new=_number(new[name]), direction=direction_of(name)
        )
        for name in new
        if name in old
    }


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(np.asarray(value).reshape(-1)[0])
    return None if np.isnan(number) else number


def _classification(diff: ModelDiff, paired: PairedPredictions, examples: int) -> None:
    k = len(paired.labels)
    target, head, base = paired.target, paired.head, paired.base
    base_matrix = confusion_matrix(target, base, k)
    head_matrix = confusion_matrix(target, head, k)
    positive = paired.positive if paired.task == "binary" else None
    old = confusion_metrics(ClassCounts.of(base_matrix), positive)
    new = confusion_metrics(ClassCounts.of(head_matrix), positive)
    old_auc = auc_metric(target, paired.base_proba, paired.base_score, paired)
    new_auc = auc_metric(target, paired.head_proba, paired.head_score, paired)
    if old_auc is not None and new_auc is not None:
        old["roc_auc"], new["roc_auc"] = np.array(old_auc), np.array(new_auc)
    elif paired.head_score is not None or paired.head_proba is not None:
        diff.notes.append("roc_auc left out: a class has no examples (or no other class does)")
    if paired.head_proba is not None and paired.base_proba is not None:
        old["log_loss"] = np.array(log_losses(target, paired.base_proba).mean())
        new["log_loss"] = np.array(log_losses(target, paired.head_proba).mean())
    diff.metrics = _changes(old, new)
    if positive is not None:
        diff.positive = paired.labels[positive]

    base_counts, head_counts = ClassCounts.of(base_matrix), ClassCounts.of(head_matrix)
    base_scores, head_scores = per_class_scores(base_counts), per_class_scores(head_counts)
    for code, label in enumerate(paired.labels):
        diff.per_class.append(
            ClassChange(
                label=label,
                support=int(head_counts.support[code]),
                precision=ValueChange(
                    float(base_scores[0][code]), float(head_scores[0][code]), direction="higher"
                ),
                recall=ValueChange(
                    float(base_scores[1][code]), float(head_scores[1][code]), direction="higher"
                ),
                f1=ValueChange(
                    float(base_scores[2][code]), float(head_scores[2][code]), direction="higher"
                ),
                predicted=ValueChange(
                    float(base_counts.predicted[code]), float(head_counts.predicted[code])
                ),
            )
        )
    diff.confusion_matrix = ConfusionMatrices(
        labels=list(paired.labels), base=base_matrix.tolist(), head=head_matrix.tolist()
    )
    base_right, head_right = base == target, head == target
    broken = base_right & ~head_right
    both_wrong = ~base_right & ~head_right
    diff.changed = ChangedPredictions(
        fixed=int(np.count_nonzero(~base_right & head_right)),
        broken=int(np.count_nonzero(broken)),
        both_wrong=int(np.count_nonzero(both_wrong)),
        changed_wrong=int(np.count_nonzero(both_wrong & (base != head))),
    )
    labels = paired.labels
    for row in np.flatnonzero(broken)[:examples]:
        diff.changed.examples.append(
            ChangedExample(
                id=_plain(paired.ids[row]),
                target=labels[target[row]],
                base=labels[base[row]],
                head=labels[head[row]],
                features=_features(paired, int(row)),
            )
        )


def _regression(diff: ModelDiff, paired: PairedPredictions, examples: int) -> None:
    target, head, base = paired.target, paired.head, paired.base
    old = regression_metrics(regression_sums(target, base))
    new = regression_metrics(regression_sums(target, head))
    diff.metrics = _changes(old, new)
    base_error, head_error = np.abs(base - target), np.abs(head - target)
    growth = head_error - base_error
    diff.changed = ChangedPredictions(
        fixed=int(np.count_nonzero(growth < 0)), broken=int(np.count_nonzero(growth > 0))
    )
    grown = np.flatnonzero(growth > 0)
    if examples and len(grown):
        top = grown[np.argsort(-growth[grown], kind="stable")[:examples]]
        for row in top:
            diff.changed.examples.append(
                ChangedExample(
                    id=_plain(paired.ids[row]),
                    target=float(target[row]),
                    base=float(base[row]),
                    head=float(head[row]),
                    base_error=float(base_error[row]),
                    head_error=float(head_error[row]),
                    features=_features(paired, int(row)),
                )
            )


def _features(paired: PairedPredictions, row: int) -> dict[str, Any]:
    if paired.features is None:
        return {}
    record = paired.features.iloc[row]
    return {str(name): _plain(value) for name, value in record.items()}


def _plain(value: Any) -> Any:
    """A JSON-able Python scalar (numpy scalars unwrapped, NaN kept as float)."""
    return value.item() if hasattr(value, "item") else value


# --- slices ------------------------------------------------------------------------------------


def slice_groups(
    values: NDArray[Any], min_support: int
) -> tuple[NDArray[np.intp], list[Any], list[list[Any] | None]]:
    """Codes of each example's slice, the slices' values, and for the `(other)` slice the values
    grouped into it (those with fewer than `min_support` examples)."""
    import pandas as pd

    codes, uniques = pd.factorize(values, sort=True)
    sizes = np.bincount(codes, minlength=len(uniques))
    small = sizes < min_support
    if not small.any():
        return codes.astype(np.intp), list(uniques), [None] * len(uniques)
    kept = np.flatnonzero(~small)
    remap = np.full(len(uniques), len(kept), dtype=np.intp)
    remap[kept] = np.arange(len(kept))
    names: list[Any] = [uniques[i] for i in kept] + [OTHER_SLICE]
    grouped: list[list[Any] | None] = [None] * len(kept) + [
        [uniques[i] for i in np.flatnonzero(small)]
    ]
    return remap[codes], names, grouped


def slice_changes(
    paired: PairedPredictions, min_support: int, notes: list[str]
) -> list[SliceChange]:
    rows = []
    for column, values in paired.slices.items():
        codes, names, grouped = slice_groups(values, min_support)
        size = len(names)
        support = np.bincount(codes, minlength=size)
        if paired.task == "regression":
            old = regression_metrics(regression_sums(paired.target, paired.base, codes, size))
            new = regression_metrics(regression_sums(paired.target, paired.head, codes, size))
        else:
            k = len(paired.labels)
            positive = paired.positive if paired.task == "binary" else None
            joint = codes * (k * k) + paired.target * k
            base_cells = np.bincount(joint + paired.base, minlength=size * k * k)
            head_cells = np.bincount(joint + paired.head, minlength=size * k * k)
            old = confusion_metrics(ClassCounts.of(base_cells.reshape(size, k, k)), positive)
            new = confusion_metrics(ClassCounts.of(head_cells.reshape(size, k, k)), positive)
            if paired.head_proba is not None and paired.base_proba is not None:
                for found, proba in ((old, paired.base_proba), (new, paired.head_proba)):
                    losses = log_losses(paired.target, proba)
                    found["log_loss"] = np.bincount(codes, weights=losses, minlength=size) / support
        for index, name in enumerate(names):
            metrics = {
                metric: ValueChange(
                    old=_number(old[metric][index]),
                    new=_number(new[metric][index]),
                    direction=direction_of(metric),
                )
                for metric in new
            }
            rows.append(
                SliceChange(
                    column=column,
                    value=_plain(name),
                    support=int(support[index]),
                    metrics=metrics,
                    grouped=[_plain(v) for v in grouped[index] or []] or None,
                )
            )
        if grouped[-1]:
            count = len(grouped[-1] or [])
            notes.append(
                f"slices of {column!r}: {count} value{'s' if count != 1 else ''} with fewer than "
                f"{min_support} examples grouped as {OTHER_SLICE}"
            )
    return rows
