"""Paired confidence intervals of `metric(head) - metric(base)` for every common metric.

Three ways, chosen by the metric and the size of the work (docs/gates.md, "Method"):

- **Confusion-matrix metrics** (accuracy, error rate, balanced accuracy, precision, recall and
  F1: macro, weighted, binary): a resample changes them only through how many drawn examples
  fall in each joint (target, base prediction, head prediction) cell, and those counts are
  Multinomial(n, cell shares) — the exact distribution of an index bootstrap, drawn at the cost
  of the non-empty cells instead of the examples. One draw serves every metric. Each cell where
  the models disagree, and its mirror, gets a pseudo-count of 0.5 (`resampling.SMOOTHING`): with few
  disagreements the plain bootstrap is too sure (3-5% false alarms instead of 2.5% in
  benchmarks/calibration.py).
- **Means and smooth functions of means** (MAE, MSE, RMSE, log loss, MAPE, R²): the paired index
  bootstrap, in blocks on a few threads, as `mlci.checks.stats` does; where the values are
  heavy-tailed (a MAPE with targets near 0) its percentile interval is widened to contain the
  normal one (`resampling.drawn_interval`).
- **ROC AUC**: DeLong's test for two correlated ROC curves (placement values from mid-ranks,
  O(n log n)); for several classes, the one-vs-rest macro average with DeLong's structural
  components summed per example.

When the exact draw would be slow (`n x resamples` above `EXACT_DRAWS` index draws, or
`cells x resamples` above `EXACT_CELL_DRAWS` multinomial draws) the interval is the quantiles of
the same bootstrap distribution computed analytically instead of by Monte Carlo: the statistic's
influence values (its gradient at the observed cell shares or means, by central differences)
give the bootstrap distribution's exact variance, skewness and kurtosis, and the Cornish-Fisher
expansion turns them into quantiles. Its error is O(n^-1) in units of the standard error, while
10,000 Monte Carlo resamples place the 2.5% quantile with a standard error of 0.027 standard
errors; `tests/unit/test_significance_methods.py` measures the two side by side.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from mlci.checks.direction import Direction
from mlci.checks.model_diff import (
    BINARY_METRICS,
    CONFUSION_METRICS,
    ClassCounts,
    confusion_metrics,
    direction_of,
    log_losses,
    percentage_errors,
)
from mlci.checks.resampling import (
    ANALYTIC,
    BLOCK_ELEMENTS,
    CELLS_2X2,
    FloatArray,
    MeanFunction,
    Method,
    accuracy_differences,
    analytic_interval,
    cornish_fisher,
    drawn_interval,
    index_bootstrap,
    percentiles,
    smoothed_cells,
    well_behaved,
)

if TYPE_CHECKING:
    from mlci.config import Significance
    from mlci.report.model import GateResult
    from mlci.report.model_diff import ModelDiff
    from mlci.sources.prediction_pairs import PairedPredictions
    from mlci.sources.predictions import Predictions

EXACT_CELL_DRAWS = 3_000_000
"""Multinomial draws (non-empty cells x resamples) above which confusion-matrix metrics use the
analytic bootstrap quantiles (about 0.3 s)."""
CONFUSION_STATISTICS = (*CONFUSION_METRICS, *BINARY_METRICS, "error_rate")
MEAN_STATISTICS = ("mae", "mse", "rmse", "r2", "mape", "log_loss")
STATISTICS = (*CONFUSION_STATISTICS, "roc_auc", *MEAN_STATISTICS)


@dataclass(frozen=True)
class PairedInterval:
    """The paired interval of `statistic(head) - statistic(base)` on the same examples."""

    statistic: str
    direction: Direction
    examples: int
    head: float
    base: float
    difference: float
    low: float
    high: float
    confidence: float
    resamples: int
    seed: int
    method: str
    """How the interval was computed, in words (shown in the gate details)."""

    def significantly_worse(self, tolerance: float = 0.0) -> bool:
        """Whether the whole interval lies beyond `tolerance` on the bad side of zero."""
        if self.direction == "higher":
            return self.high < -tolerance
        return self.low > tolerance


def direction(statistic: str) -> Direction:
    return "lower" if statistic == "error_rate" else direction_of(statistic)


def available(paired: PairedPredictions) -> list[str]:
    """The statistics these predictions can be compared on."""
    if paired.task == "regression":
        return list(MEAN_STATISTICS[:-1])
    found = ["accuracy", "error_rate", *CONFUSION_METRICS[1:]]
    if paired.task == "binary":
        found += list(BINARY_METRICS)
    if paired.head_score is not None or paired.head_proba is not None:
        found.append("roc_auc")
    if paired.head_proba is not None and paired.base_proba is not None:
        found.append("log_loss")
    return found


def paired_intervals(
    paired: PairedPredictions,
    statistics: Sequence[str] | None = None,
    *,
    resamples: int = 10_000,
    confidence: float = 0.95,
    seed: int = 0,
    method: Method = "auto",
) -> dict[str, PairedInterval]:
    """Intervals of every statistic asked for (default: all these predictions allow); the
    confusion-matrix statistics share one draw of resamples, the means another. A statistic that
    is undefined on these examples (ROC AUC with one class) is left out."""
    wanted = [s for s in (statistics or available(paired)) if s in available(paired)]
    found: dict[str, PairedInterval] = {}
    common = {"resamples": resamples, "confidence": confidence, "seed": seed, "method": method}
    confusion = [s for s in wanted if s in CONFUSION_STATISTICS]
    if confusion:
        found.update(_confusion_intervals(paired, confusion, **common))  # type: ignore[arg-type]
    means = [s for s in wanted if s in MEAN_STATISTICS]
    if means:
        found.update(_mean_intervals(paired, means, **common))  # type: ignore[arg-type]
    if "roc_auc" in wanted:
        interval = delong_interval(paired, confidence=confidence)
        if interval is not None:
            found["roc_auc"] = interval
    return {s: found[s] for s in wanted if s in found}


# --- confusion-matrix statistics: exact multinomial over joint cells ---------------------------


def _confusion_intervals(
    paired: PairedPredictions,
    statistics: list[str],
    *,
    resamples: int,
    confidence: float,
    seed: int,
    method: Method,
) -> dict[str, PairedInterval]:
    """Accuracy and error rate from their own four cells, every other confusion-matrix
    statistic from the joint cells: a statistic's interval never depends on which others are
    asked for with it (the gate asks for one, the model diff for all)."""
    point_head, point_base = _point_values(paired, statistics)
    results: dict[str, PairedInterval] = {}
    counted = [s for s in statistics if s in ("accuracy", "error_rate")]
    if counted:
        gains = accuracy_differences(
            paired.head == paired.target, paired.base == paired.target, resamples, seed
        )
        for s in counted:
            low, high = percentiles(gains if s == "accuracy" else -gains, confidence)
            interval = _interval(s, paired, point_head[s], point_base[s], low, high, CELLS_2X2)
            results[s] = _with(interval, resamples=resamples, seed=seed, confidence=confidence)
    rest = [s for s in statistics if s not in counted]
    if rest:
        results.update(
            _joint_cell_intervals(
                paired,
                rest,
                point_head,
                point_base,
                resamples=resamples,
                confidence=confidence,
                seed=seed,
                method=method,
            )
        )
    return {s: results[s] for s in statistics}


def _joint_cell_intervals(
    paired: PairedPredictions,
    statistics: list[str],
    point_head: dict[str, float],
    point_base: dict[str, float],
    *,
    resamples: int,
    confidence: float,
    seed: int,
    method: Method,
) -> dict[str, PairedInterval]:
    k = len(paired.labels)
    n = paired.size
    joint = (paired.target * k + paired.base) * k + paired.head
    cells, observed = np.unique(joint, return_counts=True)
    cells, counts = smoothed_cells(cells, observed.astype(np.float64), k)
    truth, base, head = cells // (k * k), (cells // k) % k, cells % k
    positive = paired.positive if paired.task == "binary" else None
    one_hot = np.eye(k)
    # Cell counts (..., C) -> per-class counts of each side: sums over cells, by matrix products.
    support_map = one_hot[truth]
    head_maps = (one_hot[head] * (head == truth)[:, None], one_hot[head])
    base_maps = (one_hot[base] * (base == truth)[:, None], one_hot[base])

    def scores(cell_counts: FloatArray) -> dict[str, FloatArray]:
        support = cell_counts @ support_map
        sides = []
        for tp_map, predicted_map in (head_maps, base_maps):
            counts_of = ClassCounts(
                tp=cell_counts @ tp_map, predicted=cell_counts @ predicted_map, support=support
            )
            sides.append(confusion_metrics(counts_of, positive))
        return {s: sides[0][s] - sides[1][s] for s in statistics}

    shares = counts / counts.sum()
    # Analytic quantiles where the draw would be slow and the statistic is smooth enough; each
    # statistic decides alone, so its interval is the same whatever else is asked for.
    analytic: dict[str, FloatArray] = {}
    if method == "approximate" or (method == "auto" and len(cells) * resamples > EXACT_CELL_DRAWS):
        gradients = _gradients(scores, shares, statistics)
        for s in statistics:
            influence = gradients[s] - gradients[s] @ shares
            if method == "approximate" or well_behaved(influence, n, shares):
                analytic[s] = influence
    results = {}
    label = "bootstrap quantiles by Cornish-Fisher from influence values over joint cells"
    for s, influence in analytic.items():
        low, high = cornish_fisher(
            point_head[s] - point_base[s], influence, confidence, n, weights=shares
        )
        interval = _interval(s, paired, point_head[s], point_base[s], low, high, label)
        results[s] = _with(interval, resamples=0, seed=seed, confidence=confidence)
    drawn_statistics = [s for s in statistics if s not in analytic]
    if drawn_statistics:
        rng = np.random.default_rng(seed)
        per_block = max(1, BLOCK_ELEMENTS // len(cells))
        differences = {s: np.empty(resamples) for s in drawn_statistics}
        for start in range(0, resamples, per_block):
            size = min(per_block, resamples - start)
            drawn = rng.multinomial(n, shares, size=size).astype(np.float64)
            for name, values in scores(drawn).items():
                if name in differences:
                    differences[name][start : start + size] = values
        label = "exact multinomial bootstrap over the joint (target, base, head) cells"
        for s in drawn_statistics:
            low, high = percentiles(differences[s], confidence)
            interval = _interval(s, paired, point_head[s], point_base[s], low, high, label)
            results[s] = _with(interval, resamples=resamples, seed=seed, confidence=confidence)
    return results


def _point_values(
    paired: PairedPredictions, statistics: list[str]
) -> tuple[dict[str, float], dict[str, float]]:
    """Each side's value on all examples (the model diff's own numbers)."""
    k = len(paired.labels)
    positive = paired.positive if paired.task == "binary" else None
    found = []
    for predicted in (paired.head, paired.base):
        matrix = np.bincount(paired.target * k + predicted, minlength=k * k).reshape(k, k)
        values = confusion_metrics(ClassCounts.of(matrix), positive)
        values["error_rate"] = 1.0 - values["accuracy"]
        found.append({s: float(values[s]) for s in statistics})
    return found[0], found[1]


def _gradients(
    function: Callable[[FloatArray], dict[str, FloatArray]],
    point: FloatArray,
    statistics: list[str],
) -> dict[str, FloatArray]:
    """Central differences of every statistic at `point`, all coordinates in one batch."""
    size = len(point)
    step = np.maximum(np.abs(point), 1e-12) * 1e-6
    batch = np.repeat(point[None, :], 2 * size, axis=0)
    index = np.arange(size)
    batch[index, index] += step
    batch[size + index, index] -= step
    values = function(batch)
    return {s: (values[s][:size] - values[s][size:]) / (2 * step) for s in statistics}


# --- means and smooth functions of means -------------------------------------------------------


def _mean_inputs(
    paired: PairedPredictions, statistic: str
) -> tuple[FloatArray, MeanFunction, float, float] | None:
    """Per-example columns whose means determine the statistic, the function of those means,
    and the two sides' values on all examples."""
    if statistic == "log_loss":
        if paired.head_proba is None or paired.base_proba is None:
            return None
        head = log_losses(paired.target, paired.head_proba)
        base = log_losses(paired.target, paired.base_proba)
        return (head - base)[:, None], lambda m: m[..., 0], float(head.mean()), float(base.mean())
    target = paired.target
    head_error, base_error = paired.head - target, paired.base - target
    if statistic == "mae":
        head, base = np.abs(head_error), np.abs(base_error)
    elif statistic in ("mse", "rmse"):
        head, base = head_error**2, base_error**2
    elif statistic == "mape":
        head = percentage_errors(target, paired.head)
        base = percentage_errors(target, paired.base)
    elif statistic == "r2":
        total = float(((target - target.mean()) ** 2).sum())
        if total == 0:
            return None
        head_sse, base_sse = float((head_error**2).sum()), float((base_error**2).sum())
        columns = np.column_stack([base_error**2 - head_error**2, target, target * target])

        def r2_difference(m: FloatArray) -> FloatArray:
            return np.asarray(m[..., 0] / (m[..., 2] - m[..., 1] ** 2), dtype=np.float64)

        return columns, r2_difference, 1 - head_sse / total, 1 - base_sse / total
    else:
        return None
    if statistic == "rmse":

        def rmse_difference(m: FloatArray) -> FloatArray:
            return np.asarray(
                np.sqrt(np.maximum(m[..., 0], 0)) - np.sqrt(np.maximum(m[..., 1], 0)),
                dtype=np.float64,
            )

        return (
            np.column_stack([head, base]),
            rmse_difference,
            math.sqrt(float(head.mean())),
            math.sqrt(float(base.mean())),
        )
    return (head - base)[:, None], lambda m: m[..., 0], float(head.mean()), float(base.mean())


def _mean_intervals(
    paired: PairedPredictions,
    statistics: list[str],
    *,
    resamples: int,
    confidence: float,
    seed: int,
    method: Method,
) -> dict[str, PairedInterval]:
    """Every mean-type statistic; those resampled exactly share one draw of indices."""
    found: dict[str, PairedInterval] = {}
    exact: list[tuple[str, FloatArray, MeanFunction, float, float]] = []
    for statistic in statistics:
        inputs = _mean_inputs(paired, statistic)
        if inputs is None:
            continue
        columns, function, head_value, base_value = inputs
        analytic = analytic_interval(
            columns, function, resamples=resamples, confidence=confidence, method=method
        )
        if analytic is not None:
            low, high = analytic
            interval = _interval(statistic, paired, head_value, base_value, low, high, ANALYTIC)
            found[statistic] = _with(interval, resamples=0, seed=seed, confidence=confidence)
            continue
        exact.append((statistic, columns, function, head_value, base_value))
    if exact:
        widths = np.cumsum([0, *(columns.shape[1] for _, columns, _, _, _ in exact)])
        functions = [function for _, _, function, _, _ in exact]

        def all_differences(averages: FloatArray) -> FloatArray:
            return np.column_stack(
                [
                    function(averages[..., widths[j] : widths[j + 1]])
                    for j, function in enumerate(functions)
                ]
            )

        combined = np.column_stack([columns for _, columns, _, _, _ in exact])
        differences = index_bootstrap(
            combined, all_differences, resamples, seed, outputs=len(exact)
        )
        for j, (statistic, columns, function, head_value, base_value) in enumerate(exact):
            low, high, name = drawn_interval(differences[:, j], columns, function, confidence)
            interval = _interval(statistic, paired, head_value, base_value, low, high, name)
            found[statistic] = _with(
                interval, resamples=resamples, seed=seed, confidence=confidence
            )
    return found


# --- ROC AUC: DeLong ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Placements:
    """DeLong's structural components of one score against one positive/negative split."""

    auc: float
    positive: FloatArray
    """V10: for each positive, the share of negatives it outranks (ties half)."""
    negative: FloatArray
    """V01: for each negative, the share of positives that outrank it (ties half)."""


def placements(truth: NDArray[np.bool_], score: FloatArray) -> Placements | None:
    """Placement values from one sort of the scores (Sun & Xu's fast DeLong): O(n log n).

    Examples with tied scores share their values, so they come from counts per run of ties: a
    positive's V10 is (negatives below its run + half the negatives in it) / n, a negative's V01
    (positives above its run + half the positives in it) / m. These are Sun & Xu's mid-rank
    formulas, from one sort instead of three rankings."""
    m = int(np.count_nonzero(truth))
    n = len(truth) - m
    if m == 0 or n == 0:
        return None
    order = np.argsort(score)  # the order within a run of ties does not matter
    ordered = score[order]
    first = np.empty(len(ordered), dtype=np.bool_)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    positives = np.add.reduceat(truth[order].astype(np.int64), starts)
    negatives = np.diff(np.append(starts, len(ordered))) - positives
    v10_of_run = (np.cumsum(negatives) - 0.5 * negatives) / n
    v01_of_run = (m - np.cumsum(positives) + 0.5 * positives) / m
    run = np.empty(len(ordered), dtype=np.intp)
    run[order] = np.cumsum(first) - 1
    v10 = v10_of_run[run[truth]]
    v01 = v01_of_run[run[~truth]]
    return Placements(auc=float(v10.mean()), positive=v10, negative=v01)


def delong_variance(head: Placements, base: Placements) -> float:
    """DeLong, DeLong & Clarke-Pearson (1988): Var(AUC_head - AUC_base) of two correlated
    curves on the same examples, from the covariances of the placement values."""
    m, n = len(head.positive), len(head.negative)
    s10 = np.cov(np.vstack([head.positive, base.positive])) if m > 1 else np.zeros((2, 2))
    s01 = np.cov(np.vstack([head.negative, base.negative])) if n > 1 else np.zeros((2, 2))
    contrast = np.array([1.0, -1.0])
    return float(contrast @ s10 @ contrast / m + contrast @ s01 @ contrast / n)


def delong_interval(
    paired: PairedPredictions, *, confidence: float = 0.95
) -> PairedInterval | None:
    """Normal interval of AUC_head - AUC_base with DeLong's variance (binary), or for several
    classes of the one-vs-rest macro average, whose variance sums each example's structural
    components over the classes (the binary case gives DeLong's variance exactly)."""
    from scipy.special import ndtri

    if paired.task == "binary":
        if paired.head_score is None or paired.base_score is None or paired.positive is None:
            return None
        truth = paired.target == paired.positive
        head, base = placements(truth, paired.head_score), placements(truth, paired.base_score)
        if head is None or base is None:
            return None
        variance = delong_variance(head, base)
        head_auc, base_auc = head.auc, base.auc
        label = "DeLong's test for two correlated ROC curves"
    else:
        if paired.head_proba is None or paired.base_proba is None:
            return None
        k = len(paired.labels)
        influence = np.zeros(paired.size)
        head_aucs, base_aucs = [], []
        for code in range(k):
            truth = paired.target == code
            head = placements(truth, paired.head_proba[:, code])
            base = placements(truth, paired.base_proba[:, code])
            if head is None or base is None:
                return None
            head_aucs.append(head.auc)
            base_aucs.append(base.auc)
            m, n = len(head.positive), len(head.negative)
            # Each example's share of the class's AUC error, as in DeLong's variance.
            influence[truth] += ((head.positive - head.auc) - (base.positive - base.auc)) / (
                k * math.sqrt(m * (m - 1)) if m > 1 else k * m
            )
            influence[~truth] += ((head.negative - head.auc) - (base.negative - base.auc)) / (
                k * math.sqrt(n * (n - 1)) if n > 1 else k * n
            )
        variance = float(influence @ influence)
        head_auc, base_auc = float(np.mean(head_aucs)), float(np.mean(base_aucs))
        label = "DeLong's structural components, one-vs-rest macro average"
    half = float(ndtri((1 + confidence) / 2)) * math.sqrt(max(variance, 0.0))
    difference = head_auc - base_auc
    interval = _interval(
        "roc_auc", paired, head_auc, base_auc, difference - half, difference + half, label
    )
    return _with(interval, resamples=0, seed=0, confidence=confidence)


# --- helpers -----------------------------------------------------------------------------------


def _interval(
    statistic: str,
    paired: PairedPredictions,
    head: float,
    base: float,
    low: float,
    high: float,
    method: str,
) -> PairedInterval:
    return PairedInterval(
        statistic=statistic,
        direction=direction(statistic),
        examples=paired.size,
        head=head,
        base=base,
        difference=head - base,
        low=low,
        high=high,
        confidence=0.0,
        resamples=0,
        seed=0,
        method=method,
    )


def _with(
    interval: PairedInterval, *, resamples: int, seed: int, confidence: float
) -> PairedInterval:
    from dataclasses import replace

    return replace(interval, resamples=resamples, seed=seed, confidence=confidence)


# --- the significance rule of a gate -----------------------------------------------------------


def gate_result(
    options: Significance,
    statistic: str,
    head: Predictions,
    base: Predictions,
    result: GateResult,
) -> GateResult:
    """The significance rule on a statistic that is not a mean of per-example values (F1, ROC
    AUC, log loss, R², ...): the interval on the paired predictions, into `result`."""
    from mlci.config import PredictionsOptions
    from mlci.errors import InputFileError
    from mlci.sources.prediction_pairs import pair_for_diff

    section = PredictionsOptions(
        path=options.predictions,
        id=options.id,
        target=options.target,
        prediction=options.prediction,
    )
    paired = pair_for_diff(head, base, section)
    found = paired_intervals(
        paired,
        [statistic],
        resamples=options.resamples,
        confidence=options.confidence,
        seed=options.seed,
    )
    if statistic not in found:
        why = {
            "roc_auc": "needs proba_<class> columns (or a score column for a binary task) and "
            "examples of every class",
            "log_loss": "needs proba_<class> columns",
            "r2": "is undefined when every target is the same",
        }.get(statistic, f"does not apply to a {paired.task} task")
        raise InputFileError(f"significance on {statistic}: {statistic} {why}", path=head.path)
    interval = found[statistic]
    worse = interval.significantly_worse(options.tolerance)
    result.observed, result.baseline = interval.head, interval.base
    result.details = {
        "statistic": statistic,
        "direction": interval.direction,
        "examples": interval.examples,
        "difference": interval.difference,
        "ci_low": interval.low,
        "ci_high": interval.high,
        "confidence": interval.confidence,
        "resamples": interval.resamples,
        "seed": interval.seed,
        "tolerance": options.tolerance,
        "method": interval.method,
        "head_predictions": head.label,
        "base_predictions": base.label,
    }
    tolerance = f" by more than {options.tolerance:.6g}" if options.tolerance else ""
    verdict = "significantly worse" if worse else "not significantly worse"
    result.reason = (
        f"{statistic} {interval.difference:+.4g}, {interval.confidence * 100:g}% CI "
        f"[{interval.low:+.4g}, {interval.high:+.4g}]: {verdict}{tolerance}"
    )
    result.status = "failed" if worse else "passed"
    return result


def add_intervals(
    diff: ModelDiff, paired: PairedPredictions, *, resamples: int, confidence: float, seed: int
) -> None:
    """The paired confidence interval of every metric's change in `diff` (same seed, same
    resamples for all)."""
    intervals = paired_intervals(
        paired, list(diff.metrics), resamples=resamples, confidence=confidence, seed=seed
    )
    for name, interval in intervals.items():
        change = diff.metrics[name]
        change.ci_low, change.ci_high = interval.low, interval.high
        change.significant = interval.low > 0 or interval.high < 0
    diff.confidence, diff.resamples, diff.seed = confidence, resamples, seed
