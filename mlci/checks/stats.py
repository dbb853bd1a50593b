"""Paired bootstrap confidence intervals of a metric difference (head - base), and McNemar's test.

Both models are scored on the same examples, so each example carries a pair of per-example
values (correct or not; an absolute or squared error). A bootstrap resample draws n examples with
replacement and keeps the pairs together, which is what makes the interval of the difference
much narrower than the intervals of the two metrics taken apart.

The resamples are drawn by the same functions as the model diff's intervals
(`mlci.checks.significance`, `mlci.checks.resampling`), so a gate and the model diff give the
same interval for the same metric, seed and resamples:

- accuracy and error rate depend only on how many drawn examples fall in each of the four
  (head right?, base right?) cells, and those counts of n draws with replacement are
  Multinomial(n, cell shares) (smoothed where the models disagree: `resampling.SMOOTHING`),
  at O(resamples) cost.
- MAE, MSE and RMSE draw the indices, in blocks of resamples whose index matrix stays under
  `resampling.BLOCK_ELEMENTS`, on a few threads (numpy releases the GIL). Each block has its own
  generator spawned from the seed, so the result depends on the seed only, not on the number of
  threads. Beyond `resampling.EXACT_DRAWS` index draws, the same bootstrap's quantiles are
  computed analytically.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from mlci.checks.direction import Direction
from mlci.config import STATISTICS, Statistic

DIRECTIONS: dict[Statistic, Direction] = {
    statistic: "lower"
    if statistic in ("error_rate", "mae", "mse", "rmse", "log_loss", "mape")
    else "higher"
    for statistic in STATISTICS
}
CLASSIFICATION: tuple[Statistic, ...] = ("accuracy", "error_rate")
PER_EXAMPLE: tuple[Statistic, ...] = ("accuracy", "error_rate", "mae", "mse", "rmse")
"""Statistics that are means of per-example values (`paired_bootstrap`); the others are compared
on the paired predictions themselves (`mlci.checks.significance`)."""
# Metric names (last dotted part, lower case, `-` and spaces as `_`) -> what significance compares.
_NAMES: dict[str, Statistic] = {
    "accuracy": "accuracy",
    "acc": "accuracy",
    "accuracy_score": "accuracy",
    "error_rate": "error_rate",
    "error": "error_rate",
    "err": "error_rate",
    "misclassification_rate": "error_rate",
    "mae": "mae",
    "mean_absolute_error": "mae",
    "mse": "mse",
    "mean_squared_error": "mse",
    "rmse": "rmse",
    "root_mean_squared_error": "rmse",
    "balanced_accuracy": "balanced_accuracy",
    "balanced_accuracy_score": "balanced_accuracy",
    "f1_macro": "f1_macro",
    "macro_f1": "f1_macro",
    "f1_weighted": "f1_weighted",
    "weighted_f1": "f1_weighted",
    "f1": "f1",
    "f1_score": "f1",
    "precision_macro": "precision_macro",
    "macro_precision": "precision_macro",
    "precision_weighted": "precision_weighted",
    "weighted_precision": "precision_weighted",
    "precision": "precision",
    "precision_score": "precision",
    "recall_macro": "recall_macro",
    "macro_recall": "recall_macro",
    "recall_weighted": "recall_weighted",
    "weighted_recall": "recall_weighted",
    "recall": "recall",
    "recall_score": "recall",
    "roc_auc": "roc_auc",
    "auc": "roc_auc",
    "auroc": "roc_auc",
    "roc_auc_score": "roc_auc",
    "log_loss": "log_loss",
    "logloss": "log_loss",
    "cross_entropy": "log_loss",
    "r2": "r2",
    "r2_score": "r2",
    "r_squared": "r2",
    "mape": "mape",
    "mean_absolute_percentage_error": "mape",
}
_SEPARATORS = re.compile(r"[^a-z0-9]+")
_PREFIXES = ("test_", "val_", "valid_", "validation_", "eval_", "holdout_")

FloatArray = NDArray[np.float64]


def statistic_for(metric: str) -> Statistic | None:
    """The statistic a metric name stands for (`test_accuracy` -> accuracy); None if unknown."""
    name = _SEPARATORS.sub("_", metric.rsplit(".", 1)[-1].lower()).strip("_")
    for prefix in _PREFIXES:
        if name.startswith(prefix) and name[len(prefix) :] in _NAMES:
            name = name[len(prefix) :]
    return _NAMES.get(name)


@dataclass(frozen=True)
class BootstrapResult:
    """The paired bootstrap of `statistic(head) - statistic(base)`."""

    statistic: Statistic
    examples: int
    head: float
    """The statistic of the head on all examples."""
    base: float
    difference: float
    """head - base on all examples."""
    low: float
    """Lower end of the percentile confidence interval of the difference."""
    high: float
    confidence: float
    resamples: int
    seed: int
    method: str = "paired bootstrap"
    """How the interval was computed, in words (shown in the gate details)."""


@dataclass(frozen=True)
class McNemarResult:
    """McNemar's exact test: do the two classifiers err on the same examples as often?"""

    head_only: int
    """Examples the head gets right and the base gets wrong."""
    base_only: int
    """Examples the base gets right and the head gets wrong."""
    p_value: float
    """Two-sided exact binomial p-value of head_only among head_only + base_only at 1/2."""


def per_example_values(
    statistic: Statistic, target: NDArray[np.generic], prediction: NDArray[np.generic]
) -> FloatArray:
    """What the statistic averages: 1/0 for right (accuracy) or wrong (error rate), else the
    absolute (MAE) or squared (MSE, RMSE) error. Classification inputs are boolean `correct`."""
    if statistic == "accuracy":
        return np.asarray(prediction == target, dtype=np.float64)
    if statistic == "error_rate":
        return np.asarray(prediction != target, dtype=np.float64)
    error = np.asarray(prediction, dtype=np.float64) - np.asarray(target, dtype=np.float64)
    return np.abs(error) if statistic == "mae" else error * error


def summarise(statistic: Statistic, values: FloatArray) -> float:
    """The statistic from its per-example values (RMSE is the root of the mean)."""
    mean = float(values.mean())
    return math.sqrt(mean) if statistic == "rmse" else mean


def paired_bootstrap(
    statistic: Statistic,
    head: FloatArray,
    base: FloatArray,
    *,
    resamples: int = 10_000,
    confidence: float = 0.95,
    seed: int = 0,
    workers: int | None = None,
) -> BootstrapResult:
    """Percentile interval of statistic(head) - statistic(base) over paired resamples.

    `head` and `base` are per-example values (`per_example_values`) of the same examples, in
    the same order. The same `seed` gives the same interval on every machine and thread count.
    """
    if head.shape != base.shape or head.ndim != 1:
        raise ValueError("head and base must be 1-d arrays of the same length")
    n = len(head)
    if n == 0:
        raise ValueError("no examples to resample")
    if statistic not in PER_EXAMPLE:
        raise ValueError(f"{statistic} is not a mean of per-example values")
    if statistic in CLASSIFICATION:
        # The model diff's method, from the same function: the same interval in both places.
        from mlci.checks.resampling import CELLS_2X2, accuracy_differences, percentiles

        right = 1.0 if statistic == "accuracy" else 0.0
        gains = accuracy_differences(head == right, base == right, resamples, seed)
        low, high = percentiles(gains if statistic == "accuracy" else -gains, confidence)
        method = CELLS_2X2
    else:
        from mlci.checks.resampling import mean_function_interval

        # Exact while it is quick; beyond, the same bootstrap's quantiles computed analytically
        # (mlci/checks/significance.py says how, and how close).
        if statistic == "rmse":
            columns, function = np.column_stack([head, base]), _root_difference
        else:
            columns, function = (head - base)[:, None], _first_mean
        low, high, method, _ = mean_function_interval(
            columns,
            function,
            resamples=resamples,
            confidence=confidence,
            seed=seed,
            workers=workers,
        )
    head_value, base_value = summarise(statistic, head), summarise(statistic, base)
    return BootstrapResult(
        statistic=statistic,
        examples=n,
        head=head_value,
        base=base_value,
        difference=head_value - base_value,
        low=float(low),
        high=float(high),
        confidence=confidence,
        resamples=resamples,
        seed=seed,
        method=method,
    )


def _root_difference(means: FloatArray) -> FloatArray:
    return np.asarray(np.sqrt(means[..., 0]) - np.sqrt(means[..., 1]), dtype=np.float64)


def _first_mean(means: FloatArray) -> FloatArray:
    return np.asarray(means[..., 0], dtype=np.float64)


def mcnemar(head_correct: FloatArray, base_correct: FloatArray) -> McNemarResult:
    """McNemar's exact test on paired right/wrong outcomes (1 = right)."""
    from scipy.stats import binomtest

    head_only = int(np.count_nonzero((head_correct == 1) & (base_correct == 0)))
    base_only = int(np.count_nonzero((head_correct == 0) & (base_correct == 1)))
    discordant = head_only + base_only
    if discordant == 0:
        return McNemarResult(head_only=0, base_only=0, p_value=1.0)
    p_value = float(binomtest(head_only, discordant, 0.5, alternative="two-sided").pvalue)
    return McNemarResult(head_only=head_only, base_only=base_only, p_value=min(1.0, p_value))


def significantly_worse(
    result: BootstrapResult, direction: Direction, tolerance: float = 0.0
) -> bool:
    """Whether the whole interval lies beyond `tolerance` on the bad side of zero."""
    if direction == "higher":
        return result.high < -tolerance
    return result.low > tolerance
