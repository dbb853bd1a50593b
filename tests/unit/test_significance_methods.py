"""The significance methods against independent computations: DeLong against its definition,
the multinomial over joint cells against a plain index bootstrap, the analytic bootstrap
quantiles against the Monte Carlo bootstrap they stand in for."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics

from mlci.checks import resampling
from mlci.checks.model_diff import ClassCounts, confusion_metrics
from mlci.checks.significance import (
    delong_interval,
    delong_variance,
    paired_intervals,
    placements,
)
from mlci.sources.prediction_pairs import PairedPredictions


def delong_by_definition(truth: np.ndarray, head: np.ndarray, base: np.ndarray) -> float:
    """DeLong et al. (1988) written out: the kernel over every (positive, negative) pair."""
    positives, negatives = truth, ~truth
    components = []
    for score in (head, base):
        x, y = score[positives][:, None], score[negatives][None, :]
        kernel = (x > y) + 0.5 * (x == y)
        components.append((kernel.mean(axis=1), kernel.mean(axis=0)))
    m, n = positives.sum(), negatives.sum()
    s10 = np.cov(np.vstack([components[0][0], components[1][0]]))
    s01 = np.cov(np.vstack([components[0][1], components[1][1]]))
    return float(
        (s10[0, 0] + s10[1, 1] - 2 * s10[0, 1]) / m + (s01[0, 0] + s01[1, 1] - 2 * s01[0, 1]) / n
    )


def binary_pair(n: int, seed: int, head_signal: float, base_signal: float) -> PairedPredictions:
    rng = np.random.default_rng(seed)
    truth = (rng.random(n) < 0.35).astype(np.intp)
    shared = rng.normal(size=n)
    scores = []
    for signal in (head_signal, base_signal):
        # Rounded: many ties, which DeLong counts half.
        scores.append(np.round(signal * truth + shared + 0.7 * rng.normal(size=n), 1))
    return PairedPredictions(
        task="binary",
        ids=np.arange(n),
        target=truth,
        head=(scores[0] > 0.5).astype(np.intp),
        base=(scores[1] > 0.5).astype(np.intp),
        labels=[0, 1],
        head_score=scores[0],
        base_score=scores[1],
        positive=1,
    )


def test_delong_equals_its_definition_and_sklearn_auc() -> None:
    paired = binary_pair(700, seed=4, head_signal=1.0, base_signal=0.8)
    truth = paired.target == 1
    assert paired.head_score is not None
    assert paired.base_score is not None
    head, base = placements(truth, paired.head_score), placements(truth, paired.base_score)
    assert head is not None
    assert base is not None
    assert head.auc == pytest.approx(metrics.roc_auc_score(truth, paired.head_score), abs=1e-12)
    assert base.auc == pytest.approx(metrics.roc_auc_score(truth, paired.base_score), abs=1e-12)
    expected = delong_by_definition(truth, paired.head_score, paired.base_score)
    assert delong_variance(head, base) == pytest.approx(expected, rel=1e-9)
    interval = delong_interval(paired)
    assert interval is not None
    half = 1.959963984540054 * math.sqrt(expected)
    assert interval.low == pytest.approx(interval.difference - half, rel=1e-9)
    assert interval.high == pytest.approx(interval.difference + half, rel=1e-9)


def placements_by_ranks(truth: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sun & Xu (2014) as written: placement values from three mid-rankings (scipy's)."""
    from scipy.stats import rankdata

    m, n = truth.sum(), (~truth).sum()
    ranks = rankdata(score)
    v10 = (ranks[truth] - rankdata(score[truth])) / n
    v01 = 1.0 - (ranks[~truth] - rankdata(score[~truth])) / m
    return v10, v01


@pytest.mark.parametrize("decimals", [1, 3, 12])
def test_placements_from_one_sort_equal_the_mid_rank_formulas(decimals: int) -> None:
    rng = np.random.default_rng(decimals)
    truth = rng.random(5000) < 0.3
    score = np.round(truth * 0.8 + rng.normal(size=5000), decimals)  # ties at 1 and 3 decimals
    found = placements(truth, score)
    assert found is not None
    v10, v01 = placements_by_ranks(truth, score)
    np.testing.assert_allclose(found.positive, v10, rtol=0, atol=1e-12)
    np.testing.assert_allclose(found.negative, v01, rtol=0, atol=1e-12)
    assert found.auc == pytest.approx(metrics.roc_auc_score(truth, score), abs=1e-12)


def ovr_variance_by_definition(
    target: np.ndarray, head: np.ndarray, base: np.ndarray
) -> tuple[float, float, float]:
    """(macro AUC head, macro AUC base, Var of the difference): every class's DeLong
    components from the kernel over every (positive, negative) pair, each example's share of
    the macro average's error summed over the classes."""
    k = head.shape[1]
    influence = np.zeros(len(target))
    aucs = np.zeros((2, k))
    for c in range(k):
        truth = target == c
        m, n = truth.sum(), (~truth).sum()
        parts = []
        for side, proba in enumerate((head, base)):
            x, y = proba[truth, c][:, None], proba[~truth, c][None, :]
            kernel = (x > y) + 0.5 * (x == y)
            aucs[side, c] = kernel.mean()
            parts.append((kernel.mean(axis=1) - aucs[side, c], kernel.mean(axis=0) - aucs[side, c]))
        influence[truth] += (parts[0][0] - parts[1][0]) / (k * math.sqrt(m * (m - 1)))
        influence[~truth] += (parts[0][1] - parts[1][1]) / (k * math.sqrt(n * (n - 1)))
    return float(aucs[0].mean()), float(aucs[1].mean()), float(influence @ influence)


def test_one_vs_rest_delong_equals_its_definition_and_sklearn_auc() -> None:
    rng = np.random.default_rng(12)
    n, k = 900, 4
    target = rng.choice(k, size=n, p=[0.4, 0.3, 0.2, 0.1])
    shared = rng.normal(size=(n, k))
    probas = []
    for signal in (1.2, 1.0):
        logits = signal * np.eye(k)[target] + shared + 0.5 * rng.normal(size=(n, k))
        proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        probas.append(np.round(proba, 2))  # ties, counted half
    paired = PairedPredictions(
        task="multiclass",
        ids=np.arange(n),
        target=target.astype(np.intp),
        head=probas[0].argmax(axis=1),
        base=probas[1].argmax(axis=1),
        labels=list(range(k)),
        head_proba=probas[0],
        base_proba=probas[1],
    )
    interval = delong_interval(paired)
    assert interval is not None
    head_auc, base_auc, variance = ovr_variance_by_definition(target, probas[0], probas[1])
    assert interval.head == pytest.approx(head_auc, abs=1e-12)
    assert interval.base == pytest.approx(base_auc, abs=1e-12)
    onehot = np.eye(k)[target]
    assert interval.head == pytest.approx(
        metrics.roc_auc_score(onehot, probas[0], average="macro"), abs=1e-12
    )
    half = 1.959963984540054 * math.sqrt(variance)
    assert interval.low == pytest.approx(interval.difference - half, abs=1e-12)
    assert interval.high == pytest.approx(interval.difference + half, abs=1e-12)


def multiclass_pair(n: int, seed: int, k: int = 4) -> PairedPredictions:
    rng = np.random.default_rng(seed)
    truth = rng.choice(k, size=n, p=np.linspace(2, 1, k) / np.linspace(2, 1, k).sum())
    base = np.where(rng.random(n) < 0.8, truth, rng.integers(0, k, n))
    changed = rng.random(n) < 0.1
    head = np.where(changed, np.where(rng.random(n) < 0.75, truth, rng.integers(0, k, n)), base)
    return PairedPredictions(
        task="multiclass",
        ids=np.arange(n),
        target=truth.astype(np.intp),
        head=head.astype(np.intp),
        base=base.astype(np.intp),
        labels=list(range(k)),
    )


def index_bootstrap_f1(paired: PairedPredictions, resamples: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    k, n = len(paired.labels), paired.size
    found = np.empty(resamples)
    for r in range(resamples):
        drawn = rng.integers(0, n, n)
        values = []
        for predicted in (paired.head, paired.base):
            matrix = np.bincount(
                paired.target[drawn] * k + predicted[drawn], minlength=k * k
            ).reshape(k, k)
            values.append(confusion_metrics(ClassCounts.of(matrix))["f1_macro"])
        found[r] = values[0] - values[1]
    return found


def test_multinomial_over_joint_cells_is_the_index_bootstrap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(resampling, "SMOOTHING", 0.0)  # the plain bootstrap, unsmoothed
    paired = multiclass_pair(600, seed=5)
    interval = paired_intervals(paired, ["f1_macro"], resamples=4000, seed=1, method="exact")[
        "f1_macro"
    ]
    plain = index_bootstrap_f1(paired, 4000, seed=2)
    se = plain.std()
    low, high = np.quantile(plain, [0.025, 0.975])
    # Two Monte Carlo estimates of the same quantiles: each off by about 0.04 se at 4000 draws.
    assert abs(interval.low - low) < 0.15 * se
    assert abs(interval.high - high) < 0.15 * se
    expected = metrics.f1_score(paired.target, paired.head, average="macro") - metrics.f1_score(
        paired.target, paired.base, average="macro"
    )
    assert interval.difference == pytest.approx(expected, abs=1e-12)


def regression_pair(n: int, seed: int) -> PairedPredictions:
    rng = np.random.default_rng(seed)
    target = rng.gamma(2.0, 2.0, n) + 1.0
    shared = rng.standard_t(5, n)
    head = target + shared + 0.5 * rng.standard_t(5, n)
    base = target + shared + 0.55 * rng.standard_t(5, n)
    return PairedPredictions(
        task="regression", ids=np.arange(n), target=target, head=head, base=base
    )


@pytest.mark.parametrize("statistic", ["mae", "mse", "rmse", "r2", "mape"])
def test_analytic_quantiles_match_the_bootstrap_they_replace(statistic: str) -> None:
    paired = regression_pair(20_000, seed=6)
    exact = paired_intervals(paired, [statistic], resamples=10_000, method="exact")[statistic]
    analytic = paired_intervals(paired, [statistic], method="approximate")[statistic]
    se = (exact.high - exact.low) / (2 * 1.959963984540054)
    # 10,000 resamples place each end with a standard error of about 0.03 se.
    assert abs(analytic.low - exact.low) < 0.1 * se, (analytic, exact)
    assert abs(analytic.high - exact.high) < 0.1 * se, (analytic, exact)
    assert analytic.difference == exact.difference
    assert analytic.resamples == 0
    assert exact.resamples == 10_000


def test_analytic_quantiles_over_joint_cells_match_the_multinomial_bootstrap() -> None:
    paired = multiclass_pair(20_000, seed=7, k=6)
    statistics = ["accuracy", "f1_macro", "balanced_accuracy", "precision_weighted"]
    exact = paired_intervals(paired, statistics, resamples=10_000, method="exact")
    analytic = paired_intervals(paired, statistics, method="approximate")
    for statistic in statistics:
        se = (exact[statistic].high - exact[statistic].low) / (2 * 1.959963984540054)
        assert abs(analytic[statistic].low - exact[statistic].low) < 0.1 * se, statistic
        assert abs(analytic[statistic].high - exact[statistic].high) < 0.1 * se, statistic


def test_heavy_tails_keep_the_exact_bootstrap() -> None:
    rng = np.random.default_rng(8)
    n = 6000
    target = rng.normal(0, 1, n)  # targets near 0: the percentage errors have no variance
    paired = PairedPredictions(
        task="regression",
        ids=np.arange(n),
        target=target,
        head=target + rng.normal(0, 1, n),
        base=target + rng.normal(0, 1, n),
    )
    interval = paired_intervals(paired, ["mape"], resamples=10_000)["mape"]
    assert interval.method == resampling.WIDENED
    assert interval.resamples == 10_000
    # Drawn, and widened to contain the normal interval of the same standard error.
    floor = np.finfo(np.float64).eps
    scale = np.maximum(np.abs(target), floor)
    values = (np.abs(paired.head - target) - np.abs(paired.base - target)) / scale
    reach = 1.959963984540054 * values.std() / math.sqrt(n)
    assert interval.low <= values.mean() - reach + 1e-9
    assert interval.high >= values.mean() + reach - 1e-9
    drawn = resampling.index_bootstrap(values[:, None], lambda m: m[..., 0], 10_000, seed=0)
    low, high = np.quantile(drawn, [0.025, 0.975])
    assert interval.low <= low + 1e-9
    assert interval.high >= high - 1e-9


def test_well_behaved_values_keep_the_percentile_interval() -> None:
    paired = regression_pair(3000, seed=9)
    interval = paired_intervals(paired, ["mae"], resamples=10_000)["mae"]
    assert interval.method == resampling.DRAWN


def test_smoothing_widens_the_interval_a_little_where_models_rarely_disagree() -> None:
    paired = multiclass_pair(3000, seed=9)
    smoothed = paired_intervals(paired, ["f1_macro"], resamples=4000, seed=1)["f1_macro"]
    significance_smoothing = resampling.SMOOTHING
    try:
        resampling.SMOOTHING = 0.0
        plain = paired_intervals(paired, ["f1_macro"], resamples=4000, seed=1)["f1_macro"]
    finally:
        resampling.SMOOTHING = significance_smoothing
    width, plain_width = smoothed.high - smoothed.low, plain.high - plain.low
    assert plain_width < width < 1.5 * plain_width
    assert smoothed.difference == plain.difference
