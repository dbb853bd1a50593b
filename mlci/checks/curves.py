"""ROC, precision-recall and calibration curves, residual histograms and deciles, from arrays.

The raw curves match scikit-learn's `roc_curve(drop_intermediate=False)`,
`precision_recall_curve` and `calibration_curve` (tests/test_curves.py holds them to it), in
numpy alone so that a report needs no scikit-learn. `model_curves` resamples base and head onto
one grid of at most `MAX_POINTS` points, which is what a chart and its table show.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from mlci.report.curves import Curve, ModelCurves, Series

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike, NDArray

    from mlci.sources.prediction_pairs import PairedPredictions

    Floats = NDArray[np.float64]

MAX_POINTS = 50
CURVE_POINTS = 21
"""Points per resampled ROC/PR curve: every 0.05 of the rate, a 21-row table."""
CALIBRATION_BINS = 10
HISTOGRAM_BINS = 20
DECILES = 10


def _binary_clf_curve(y_true: ArrayLike, score: ArrayLike) -> tuple[Floats, Floats, Floats]:
    """False and true positives at each distinct score, from the highest score down."""
    import numpy as np

    truth = np.asarray(y_true, dtype=np.float64)
    scores = np.asarray(score, dtype=np.float64)
    order = np.argsort(scores, kind="mergesort")[::-1]
    scores, truth = scores[order], truth[order]
    distinct = np.flatnonzero(np.diff(scores))
    ends = np.r_[distinct, truth.size - 1]
    tps = np.cumsum(truth)[ends]
    fps = 1 + ends - tps
    return fps, tps, scores[ends]


def roc_curve(y_true: ArrayLike, score: ArrayLike) -> tuple[Floats, Floats, Floats]:
    """(false positive rate, true positive rate, thresholds), every threshold kept."""
    return _roc(*_binary_clf_curve(y_true, score))


def _roc(fps: Floats, tps: Floats, thresholds: Floats) -> tuple[Floats, Floats, Floats]:
    import numpy as np

    fps, tps = np.r_[0.0, fps], np.r_[0.0, tps]
    thresholds = np.r_[np.inf, thresholds]
    fpr = fps / fps[-1] if fps[-1] > 0 else np.full(fps.shape, np.nan)
    tpr = tps / tps[-1] if tps[-1] > 0 else np.full(tps.shape, np.nan)
    return fpr, tpr, thresholds


def precision_recall_curve(y_true: ArrayLike, score: ArrayLike) -> tuple[Floats, Floats, Floats]:
    """(precision, recall, thresholds) in scikit-learn's order: recall falling to 0."""
    return _precision_recall(*_binary_clf_curve(y_true, score))


def _precision_recall(
    fps: Floats, tps: Floats, thresholds: Floats
) -> tuple[Floats, Floats, Floats]:
    import numpy as np

    predicted = tps + fps
    precision = np.zeros_like(tps)
    np.divide(tps, predicted, out=precision, where=predicted != 0)
    recall = np.ones_like(tps) if tps[-1] == 0 else tps / tps[-1]
    return np.r_[precision[::-1], 1.0], np.r_[recall[::-1], 0.0], thresholds[::-1]


def area_under(x: Floats, y: Floats) -> float:
    """The trapezoidal area under y(x), for x sorted either way."""
    import numpy as np

    area = float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2))
    return abs(area)


def average_precision(precision: Floats, recall: Floats) -> float:
    """scikit-learn's average precision: the precision at each threshold weighted by the rise
    in recall."""
    import numpy as np

    return float(-np.sum(np.diff(recall) * precision[:-1]))


def calibration_bins(
    y_true: ArrayLike, probability: ArrayLike, bins: int = CALIBRATION_BINS
) -> tuple[Floats, Floats, NDArray[np.int64]]:
    """(fraction of positives, mean predicted probability, examples) for each of `bins` equal
    bins of [0, 1]; NaN where a bin is empty. The non-empty bins are scikit-learn's
    `calibration_curve(strategy="uniform")`."""
    import numpy as np

    truth = np.asarray(y_true, dtype=np.float64)
    probabilities = np.asarray(probability, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.searchsorted(edges[1:-1], probabilities)
    totals = np.bincount(index, minlength=bins)
    sums = np.bincount(index, weights=probabilities, minlength=bins)
    positives = np.bincount(index, weights=truth, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = np.where(totals > 0, positives / totals, np.nan)
        mean = np.where(totals > 0, sums / totals, np.nan)
    return fraction, mean, totals.astype(np.int64)


def expected_calibration_error(fraction: Floats, mean: Floats, counts: ArrayLike) -> float:
    """The examples-weighted mean gap between predicted and observed rate over the bins."""
    import numpy as np

    weights = np.asarray(counts, dtype=np.float64)
    total = weights.sum()
    if total == 0:
        return float("nan")
    gaps = np.where(weights > 0, np.abs(np.nan_to_num(fraction) - np.nan_to_num(mean)), 0.0)
    return float(np.sum(gaps * weights) / total)


def resample_roc(fpr: Floats, tpr: Floats, grid: Floats) -> Floats:
    """The true positive rate at each false positive rate of `grid`: linear between the curve's
    corners, the highest rate where the curve rises straight up."""
    import numpy as np

    last_of_run = np.r_[np.diff(fpr) != 0, True]
    return np.interp(grid, fpr[last_of_run], tpr[last_of_run])


def resample_pr(precision: Floats, recall: Floats, grid: Floats) -> Floats:
    """Interpolated precision at each recall of `grid`: the best precision at that recall or
    more (the usual reading of a PR curve, and never above the curve itself)."""
    import numpy as np

    order = np.argsort(recall, kind="mergesort")
    recall_sorted, precision_sorted = recall[order], precision[order]
    best_from_here = np.maximum.accumulate(precision_sorted[::-1])[::-1]
    position = np.searchsorted(recall_sorted, grid, side="left")
    position = np.minimum(position, recall_sorted.size - 1)
    return best_from_here[position]


def histogram(values: Sequence[Floats], bins: int = HISTOGRAM_BINS) -> tuple[Floats, list[Floats]]:
    """One set of bin edges over every array of `values`, and each array's counts in them."""
    import numpy as np

    finite = [v[np.isfinite(v)] for v in values]
    joined = np.concatenate(finite) if finite else np.array([])
    if joined.size == 0:
        edges = np.linspace(0.0, 1.0, bins + 1)
    else:
        low, high = float(joined.min()), float(joined.max())
        if low == high:
            low, high = low - 0.5, high + 0.5
        edges = np.linspace(low, high, bins + 1)
    return edges, [np.histogram(v, bins=edges)[0].astype(np.float64) for v in finite]


def deciles(actual: Floats, predicted: Floats, groups: int = DECILES) -> tuple[Floats, Floats]:
    """(mean predicted, mean actual) in each of `groups` equal groups of examples ordered by
    their prediction."""
    import numpy as np

    order = np.argsort(predicted, kind="mergesort")
    parts = np.array_split(order, groups)
    mean_predicted = np.array([predicted[p].mean() if p.size else np.nan for p in parts])
    mean_actual = np.array([actual[p].mean() if p.size else np.nan for p in parts])
    return mean_predicted, mean_actual


# --- the curves of a model diff ----------------------------------------------------------------


def _values(array: Floats) -> list[float | None]:
    import math

    return [float(v) if math.isfinite(v) else None for v in array.tolist()]


def _rounded(array: Floats, digits: int = 4) -> list[float]:
    return [round(float(v), digits) for v in array.tolist()]


def _sides(head: Floats, base: Floats | None) -> list[tuple[Literal["base", "head"], Floats]]:
    sides: list[tuple[Literal["base", "head"], Floats]] = []
    if base is not None:
        sides.append(("base", base))
    sides.append(("head", head))
    return sides


def classification_curves(
    y_true: ArrayLike,
    head: ArrayLike,
    base: ArrayLike | None = None,
    *,
    classes: Sequence[object] | None = None,
    points: int = CURVE_POINTS,
    bins: int = CALIBRATION_BINS,
) -> ModelCurves:
    """ROC, PR and calibration curves of head (and base) scores on the same examples.

    Binary: `head`/`base` are the positive class's scores, `y_true` is 0/1 (or booleans).
    Multiclass: they are (examples, classes) probability matrices whose columns follow
    `classes`; ROC and PR are then micro-averaged over one-vs-rest, and calibration is the
    top label's (confidence of the predicted class vs how often it is right).
    """
    import numpy as np

    points = max(2, min(points, MAX_POINTS))
    head_scores = np.asarray(head, dtype=np.float64)
    base_scores = None if base is None else np.asarray(base, dtype=np.float64)
    truth = np.asarray(y_true)
    multiclass = head_scores.ndim == 2
    note = None
    if multiclass:
        labels = list(classes) if classes is not None else list(range(head_scores.shape[1]))
        onehot = (truth[:, None] == np.asarray(labels, dtype=object)[None, :]).astype(np.float64)
        positives = onehot.ravel()
        ranked = {side: s.ravel() for side, s in _sides(head_scores, base_scores)}
        top = {
            side: (s.max(axis=1), (np.asarray(labels, dtype=object)[s.argmax(axis=1)] == truth))
            for side, s in _sides(head_scores, base_scores)
        }
        note = (
            f"{len(labels)} classes: ROC and precision-recall micro-averaged over one-vs-rest; "
            "calibration of the predicted class's probability"
        )
    else:
        positives = truth.astype(np.float64)
        ranked = dict(_sides(head_scores, base_scores))
        top = {side: (s, positives) for side, s in ranked.items()}
    grid = np.linspace(0.0, 1.0, points)
    roc = Curve(
        kind="roc",
        title="ROC curve",
        x_label="false positive rate",
        y_label="true positive rate",
        x=_rounded(grid),
    )
    pr = Curve(
        kind="pr",
        title="Precision-recall curve",
        x_label="recall",
        y_label="precision",
        x=_rounded(grid),
    )
    edges = np.linspace(0.0, 1.0, bins + 1)
    calibration = Curve(
        kind="calibration",
        title="Calibration (reliability)",
        x_label="predicted probability" if not multiclass else "confidence of the predicted class",
        y_label="fraction positive" if not multiclass else "fraction correct",
        x=_rounded((edges[:-1] + edges[1:]) / 2),
        x_edges=_rounded(edges),
    )
    for side, scores in ranked.items():
        cumulative = _binary_clf_curve(positives, scores)  # one sort for both curves
        fpr, tpr, _ = _roc(*cumulative)
        roc.series.append(Series(side, _values(resample_roc(fpr, tpr, grid)), side=side))
        roc.summary[f"{side} AUC"] = area_under(fpr, tpr) if np.isfinite(fpr[-1]) else None
        precision, recall, _ = _precision_recall(*cumulative)
        pr.series.append(Series(side, _values(resample_pr(precision, recall, grid)), side=side))
        pr.summary[f"{side} AP"] = average_precision(precision, recall)
    for side, (confidence, correct) in top.items():
        fraction, mean, counts = calibration_bins(correct, confidence, bins)
        calibration.series.append(Series(side, _values(fraction), side=side))
        calibration.counts[side] = [int(c) for c in counts]
        calibration.summary[f"{side} ECE"] = expected_calibration_error(fraction, mean, counts)
    task: Literal["binary", "multiclass"] = "multiclass" if multiclass else "binary"
    return ModelCurves(task=task, curves=[roc, pr, calibration], note=note)


def regression_curves(
    y_true: ArrayLike,
    head: ArrayLike,
    base: ArrayLike | None = None,
    *,
    bins: int = HISTOGRAM_BINS,
    groups: int = DECILES,
) -> ModelCurves:
    """The residuals (prediction - target) histogram of head and base on one set of bins, and
    mean prediction vs mean target in each decile of the predictions."""
    import numpy as np

    actual = np.asarray(y_true, dtype=np.float64)
    sides = _sides(
        np.asarray(head, dtype=np.float64),
        None if base is None else np.asarray(base, dtype=np.float64),
    )
    edges, counts = histogram([predicted - actual for _, predicted in sides], bins)
    residuals = Curve(
        kind="residuals",
        title="Residuals (prediction - target)",
        x_label="residual",
        y_label="examples",
        x=_rounded((edges[:-1] + edges[1:]) / 2, 6),
        x_edges=_rounded(edges, 6),
    )
    for (side, predicted), count in zip(sides, counts, strict=True):
        residuals.series.append(Series(side, _values(count), side=side))
        residuals.counts[side] = [int(c) for c in count]
        residuals.summary[f"{side} mean residual"] = float(np.mean(predicted - actual))
    by_decile = Curve(
        kind="deciles",
        title="Predicted vs actual by decile of the prediction",
        x_label="decile",
        y_label="mean value",
        x=[float(i) for i in range(1, groups + 1)],
    )
    for side, predicted in sides:
        mean_predicted, mean_actual = deciles(actual, predicted, groups)
        by_decile.series.append(Series(f"{side} predicted", _values(mean_predicted), side=side))
        by_decile.series.append(Series(f"{side} actual", _values(mean_actual), side=side))
        by_decile.counts[side] = [len(p) for p in np.array_split(np.arange(actual.size), groups)]
    return ModelCurves(task="regression", curves=[residuals, by_decile])


def curves_from_pairs(paired: PairedPredictions, *, with_base: bool = True) -> ModelCurves | None:
    """The curves of paired predictions: ROC, PR and calibration from the binary score or the
    class probabilities (none from labels alone), residuals and deciles for regression.
    `with_base=False` (no base predictions yet) draws the head alone."""
    import numpy as np

    if paired.task == "regression":
        target = np.asarray(paired.target, dtype=np.float64)
        base = paired.base if with_base else None
        return regression_curves(target, paired.head, base)
    if paired.task == "binary" and paired.head_score is not None and paired.positive is not None:
        positives = (np.asarray(paired.target) == paired.positive).astype(np.float64)
        base_score = paired.base_score if with_base else None
        return classification_curves(positives, paired.head_score, base_score)
    if paired.head_proba is not None:
        codes = list(range(len(paired.labels)))
        base_proba = paired.base_proba if with_base else None
        found = classification_curves(paired.target, paired.head_proba, base_proba, classes=codes)
        found.task = "multiclass" if paired.task == "multiclass" else found.task
        return found
    return None
