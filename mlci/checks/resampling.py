"""Paired resampling machinery shared by the significance tests: the blocked index bootstrap of
functions of column means, and the same bootstrap's quantiles computed analytically
(influence values and the Cornish-Fisher expansion) when drawing would take long.

Why the analytic quantiles may stand in for the drawn ones, and how close they are:
mlci/checks/significance.py and docs/gates.md ("Large inputs").
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
Method = Literal["auto", "exact", "approximate"]
EXACT_DRAWS = 50_000_000
"""Index draws (examples x resamples) above which means use the analytic bootstrap quantiles
(about 0.3 s of exact resampling on 2 cores)."""
BLOCK_ELEMENTS = 1 << 22
"""Indices drawn per block of resamples (32 MiB of int64): memory stays bounded for any n."""
MeanFunction = Callable[[FloatArray], FloatArray]
"""Resampled means (..., p) -> the difference head - base."""


def mean_function_interval(
    columns: FloatArray,
    function: MeanFunction,
    *,
    resamples: int,
    confidence: float,
    seed: int,
    method: Method = "auto",
    workers: int | None = None,
) -> tuple[float, float, str, bool]:
    """Interval of `function(column means)` over paired resamples of the rows of `columns`:
    exact (indices drawn) or analytic (Cornish-Fisher); returns (low, high, method, exact)."""
    analytic = analytic_interval(
        columns, function, resamples=resamples, confidence=confidence, method=method
    )
    if analytic is not None:
        return analytic[0], analytic[1], ANALYTIC, False
    differences = index_bootstrap(columns, function, resamples, seed, workers)
    low, high, name = drawn_interval(differences, columns, function, confidence)
    return low, high, name, True


ANALYTIC = "paired bootstrap quantiles by Cornish-Fisher from influence values"
DRAWN = "paired bootstrap"
WIDENED = "paired bootstrap, widened to the normal interval (heavy-tailed values)"


def analytic_interval(
    columns: FloatArray,
    function: MeanFunction,
    *,
    resamples: int,
    confidence: float,
    method: Method,
) -> tuple[float, float] | None:
    """The bootstrap's quantiles computed analytically, where they are asked for (`approximate`)
    or where drawing would take long (`auto` beyond EXACT_DRAWS) and the influence values are
    well behaved; None where indices must be drawn. The one place that decides which."""
    n = len(columns)
    if method == "exact" or (method == "auto" and n * resamples <= EXACT_DRAWS):
        return None
    center, influence = influence_values(columns, function)
    if method == "approximate" or well_behaved(influence, n):
        return cornish_fisher(center, influence, confidence, n)
    return None


def drawn_interval(
    differences: FloatArray, columns: FloatArray, function: MeanFunction, confidence: float
) -> tuple[float, float, str]:
    """Percentile interval of the drawn `differences` of `function(column means)`, and its
    method. Where the influence values are heavy-tailed (not `well_behaved`) the interval is
    widened to contain the normal interval of the same standard error: a few extreme values
    then dominate the mean, the bootstrap distribution is lumpy and leans towards them (a
    resample draws each 0, 1, 2... times), and its percentile interval reaches too little to the
    other side — 2.8% one-sided false alarms at 95% for a MAPE with targets near 0, where the
    normal interval stays under 2.5% (docs/gates.md, "Calibration")."""
    low, high = percentiles(differences, confidence)
    n = len(columns)
    center, influence = influence_values(columns, function)
    if well_behaved(influence, n):
        return low, high, DRAWN
    from scipy.special import ndtri

    reach = float(ndtri((1 + confidence) / 2)) * math.sqrt(float(np.mean(influence**2)) / n)
    return min(low, center - reach), max(high, center + reach), WIDENED


def influence_values(columns: FloatArray, function: MeanFunction) -> tuple[float, FloatArray]:
    """`function` at the column means, and each row's influence on it (the gradient at the
    means times the row's deviation from them): the statistic's linear approximation."""
    means = columns.mean(axis=0)
    center = float(function(means[None, :])[0])
    return center, (columns - means) @ mean_gradient(function, means)


def mean_gradient(function: MeanFunction, means: FloatArray) -> FloatArray:
    size = len(means)
    step = np.maximum(np.abs(means), 1e-12) * 1e-6
    batch = np.repeat(means[None, :], 2 * size, axis=0)
    index = np.arange(size)
    batch[index, index] += step
    batch[size + index, index] -= step
    values = function(batch)
    return np.asarray((values[:size] - values[size:]) / (2 * step), dtype=np.float64)


def index_bootstrap(
    columns: FloatArray,
    function: MeanFunction,
    resamples: int,
    seed: int,
    workers: int | None = None,
    outputs: int = 0,
) -> FloatArray:
    """`function` of the column means of `resamples` paired resamples, drawn in blocks of at
    most BLOCK_ELEMENTS indices, one generator per block spawned from `seed` (the result does
    not depend on the number of threads). With `outputs`, `function` gives that many values per
    resample, and the result is (resamples, outputs)."""
    n, width = columns.shape
    per_block = max(1, BLOCK_ELEMENTS // n)
    starts = range(0, resamples, per_block)
    seeds = np.random.SeedSequence(seed).spawn(len(starts))
    shape = (resamples, outputs) if outputs else (resamples,)
    differences = np.empty(shape, dtype=np.float64)
    contiguous = [np.ascontiguousarray(columns[:, j]) for j in range(width)]

    def block(index: int) -> None:
        start = starts[index]
        size = min(per_block, resamples - start)
        rng = np.random.Generator(np.random.SFC64(seeds[index]))
        drawn = rng.integers(0, n, size=size * n, dtype=np.intp)
        means = np.column_stack(
            [np.take(column, drawn).reshape(size, n).sum(axis=1) / n for column in contiguous]
        )
        differences[start : start + size] = function(means)

    threads = workers or available_cores()
    if threads == 1 or len(starts) == 1:
        for index in range(len(starts)):
            block(index)
    else:
        with ThreadPoolExecutor(max_workers=min(threads, len(starts))) as pool:
            list(pool.map(block, range(len(starts))))
    return differences


# --- confusion-matrix cells: smoothing, and accuracy's four cells ---------------------------


SMOOTHING = 0.5
"""Pseudo-count added to every cell where the two models disagree and to its mirror (head and
base swapped), as Agresti & Min (2005) add 0.5 to the cells of a paired 2x2 table: with few
disagreements the plain bootstrap is too sure of the difference."""


def smoothed_cells(
    cells: NDArray[np.int64], counts: FloatArray, k: int
) -> tuple[NDArray[np.int64], FloatArray]:
    if SMOOTHING == 0:
        return cells, counts
    truth, base, head = cells // (k * k), (cells // k) % k, cells % k
    discordant = base != head
    mirrors = (truth[discordant] * k + head[discordant]) * k + base[discordant]
    every = np.union1d(cells, mirrors)
    found = np.zeros(len(every))
    found[np.searchsorted(every, cells)] = counts
    found[np.searchsorted(every, cells[discordant])] += SMOOTHING
    found[np.searchsorted(every, mirrors)] += SMOOTHING
    return every, found


CELLS_2X2 = "exact multinomial bootstrap over the (head right, base right) cells, smoothed"


def accuracy_differences(
    head_right: NDArray[np.bool_], base_right: NDArray[np.bool_], resamples: int, seed: int
) -> FloatArray:
    """`resamples` draws of accuracy(head) - accuracy(base) under the paired bootstrap: the
    counts of the four (head right?, base right?) cells are Multinomial(n, cell shares), the
    shares smoothed as every confusion-matrix statistic's are (`SMOOTHING`). The one method for
    accuracy and error rate, in the model diff and in the gate (`mlci.checks.stats`)."""
    n = len(head_right)
    joint = (2 + base_right.astype(np.intp)) * 2 + head_right.astype(np.intp)
    cells, observed = np.unique(joint, return_counts=True)
    cells, counts = smoothed_cells(cells, observed.astype(np.float64), 2)
    shares = counts / counts.sum()
    gain = (cells % 2).astype(np.float64) - ((cells // 2) % 2).astype(np.float64)
    rng = np.random.default_rng(seed)
    per_block = max(1, BLOCK_ELEMENTS // len(cells))
    differences = np.empty(resamples)
    for start in range(0, resamples, per_block):
        size = min(per_block, resamples - start)
        drawn = rng.multinomial(n, shares, size=size).astype(np.float64)
        differences[start : start + size] = drawn @ gain / n
    return differences


# --- the analytic bootstrap quantiles ----------------------------------------------------------


SHAPE_LIMIT = 0.1
"""Largest |skewness| and |excess kurtosis| of the resampled mean for which the analytic
quantiles are used: the expansion's next terms are then under 0.001 standard errors. Heavier
tails (a MAPE with targets near 0) get the exact bootstrap, however long it takes."""


def well_behaved(influence: FloatArray, n: int, weights: FloatArray | None = None) -> bool:
    skew, kurtosis = _shape(influence, n, weights)
    return abs(skew) <= SHAPE_LIMIT and abs(kurtosis) <= SHAPE_LIMIT


def _shape(influence: FloatArray, n: int, weights: FloatArray | None) -> tuple[float, float]:
    """Skewness and excess kurtosis of the mean of n resampled influence values."""
    w = np.full(len(influence), 1 / len(influence)) if weights is None else weights
    centered = influence - float(w @ influence)
    m2 = float(w @ centered**2)
    if m2 <= 0:
        return 0.0, 0.0
    m3, m4 = float(w @ centered**3), float(w @ centered**4)
    return m3 / m2**1.5 / math.sqrt(n), (m4 / m2**2 - 3) / n


def cornish_fisher(
    center: float,
    influence: FloatArray,
    confidence: float,
    n: int,
    weights: FloatArray | None = None,
) -> tuple[float, float]:
    """Quantiles `(1 -+ confidence) / 2` of `center + mean of n resampled influence values`.

    The resampled mean's cumulants are exact: variance m2/n, third cumulant m3/n², fourth
    (m4 - 3 m2²)/n³ (m_j: central moments of the influence values, weighted by `weights` when
    the values are per cell); Cornish-Fisher's expansion to O(1/n) turns them into quantiles.
    """
    from scipy.special import ndtri

    w = np.full(len(influence), 1 / len(influence)) if weights is None else weights
    centered = influence - float(w @ influence)
    m2 = float(w @ centered**2)
    if m2 <= 0:
        return center, center
    se = math.sqrt(m2 / n)
    skew, kurtosis = _shape(influence, n, weights)
    ends = []
    for p in ((1 - confidence) / 2, (1 + confidence) / 2):
        z = float(ndtri(p))
        w_z = (
            z
            + (z * z - 1) * skew / 6
            + (z**3 - 3 * z) * kurtosis / 24
            - (2 * z**3 - 5 * z) * skew * skew / 36
        )
        ends.append(center + se * w_z)
    return ends[0], ends[1]


def percentiles(values: FloatArray, confidence: float) -> tuple[float, float]:
    alpha = 1.0 - confidence
    low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
