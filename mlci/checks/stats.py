"""Paired bootstrap confidence intervals of a metric difference (head - base), and McNemar's test.

Both models are scored on the same examples, so each example carries a pair of per-example
values (correct or not; an absolute or squared error). A bootstrap resample draws n examples with
replacement and keeps the pairs together, which is what makes the interval of the difference
much narrower than the intervals of the two metrics taken apart.

Two exact ways to draw the resamples, chosen by the statistic:

- accuracy and error rate depend only on how many drawn examples fall in each of the four
  (head right?, base right?) cells, and those counts of n draws with replacement are
  Multinomial(n, cell shares). Drawing the counts is the same distribution as drawing the
  indices, at O(resamples) cost.
- MAE, MSE and RMSE draw the indices, in blocks of resamples whose index matrix stays under
  `BLOCK_ELEMENTS`, on a few threads (numpy releases the GIL). Each block has its own generator
  spawned from the seed, so the result depends on the seed only, not on the number of threads.
"""

from __future__ import annotations

import math
import os
import re
from concurrent.futures import ThreadPoolExecutor
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
BLOCK_ELEMENTS = 1 << 22
"""Indices drawn per block of resamples (32 MiB of int64): memory stays bounded for any n."""

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
        differences = _binary_differences(head, base, resamples, seed)
        alpha = 1.0 - confidence
        low, high = np.quantile(differences, [alpha / 2, 1 - alpha / 2])
    else:
        from mlci.checks.resampling import mean_function_interval

        # Exact while it is quick; beyond, the same bootstrap's quantiles computed analytically
        # (mlci/checks/significance.py says how, and how close).
        if statistic == "rmse":
            columns, function = np.column_stack([head, base]), _root_difference
        else:
            columns, function = (head - base)[:, None], _first_mean
        low, high, _, _ = mean_function_interval(
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
    )


def _root_difference(means: FloatArray) -> FloatArray:
    return np.asarray(np.sqrt(means[..., 0]) - np.sqrt(means[..., 1]), dtype=np.float64)


def _first_mean(means: FloatArray) -> FloatArray:
    return np.asarray(means[..., 0], dtype=np.float64)


def _binary_differences(
    head: FloatArray, base: FloatArray, resamples: int, seed: int
) -> FloatArray:
    n = len(head)
    head_only = int(np.count_nonzero((head == 1) & (base == 0)))
    base_only = int(np.count_nonzero((head == 0) & (base == 1)))
    rest = n - head_only - base_only
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n, np.array([head_only, base_only, rest]) / n, size=resamples)
    return np.asarray((counts[:, 0] - counts[:, 1]) / n, dtype=np.float64)


def _indexed_differences(
    statistic: Statistic,
    head: FloatArray,
    base: FloatArray,
    resamples: int,
    seed: int,
    workers: int | None,
) -> FloatArray:
    n = len(head)
    per_block = max(1, BLOCK_ELEMENTS // n)
    starts = range(0, resamples, per_block)
    seeds = np.random.SeedSequence(seed).spawn(len(starts))
    # mean(head) - mean(base) = mean(head - base): one gather, unless the statistic is not
    # linear in the mean (RMSE), which needs both means of every resample.
    linear = statistic != "rmse"
    delta = np.ascontiguousarray(head - base) if linear else None
    differences = np.empty(resamples, dtype=np.float64)

    def block(index: int) -> None:
        start = starts[index]
        size = min(per_block, resamples - start)
        rng = np.random.Generator(np.random.SFC64(seeds[index]))
        drawn = rng.integers(0, n, size=size * n, dtype=np.intp)
        if delta is not None:
            means = np.take(delta, drawn).reshape(size, n).sum(axis=1) / n
            differences[start : start + size] = means
        else:
            head_means = np.take(head, drawn).reshape(size, n).sum(axis=1) / n
            base_means = np.take(base, drawn).reshape(size, n).sum(axis=1) / n
            differences[start : start + size] = np.sqrt(head_means) - np.sqrt(base_means)

    threads = workers or _available_cores()
    if threads == 1 or len(starts) == 1:
        for index in range(len(starts)):
            block(index)
    else:
        with ThreadPoolExecutor(max_workers=min(threads, len(starts))) as pool:
            list(pool.map(block, range(len(starts))))
    return differences


def _available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


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
