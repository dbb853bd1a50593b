"""Calibration of every significance test by simulated pull requests.

    python benchmarks/calibration.py --null 4000 --power 300   # --resamples 10000, 2 processes

Each simulated pull request scores a base model and a head model on the same n = 3,000 examples.
*No change*: the two models are exchangeable (same error rate, errors partly shared, as two
versions of one model are); a test's false-alarm rate is how often it calls the head
significantly worse (one-sided, nominal 2.5% at 95% confidence). The models being exchangeable,
calling the head significantly better is exactly as likely: the table shows both shares and
their mean, the estimate with twice the simulations behind it. *A 2-point drop*: the head is
worse by 0.02 of the metric in expectation — for regression, by 2 points of R² (its errors
explain 2% less of the target's variance), which every regression metric is then tested on;
power is how often the test says so. The drop is set per metric by bisection on a large sample.

Prints the markdown table of docs/gates.md. Intervals use mlci's default 10,000 resamples: with
1,000 the Monte Carlo error of the 2.5% quantile alone adds a few tenths of a point of false
alarms (benchmarks/calibration_limits.py). `tests/unit/test_significance_calibration.py` runs
the same simulations, smaller (200 and 40 pull requests, 1,000 resamples).
"""

from __future__ import annotations

import argparse
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mlci.checks.model_diff import (
    ClassCounts,
    confusion_metrics,
    log_losses,
    regression_metrics,
    regression_sums,
    roc_auc,
)
from mlci.checks.significance import paired_intervals
from mlci.sources.prediction_pairs import PairedPredictions

EXAMPLES = 3_000
NOMINAL = 0.025
RESAMPLES = 1_000
MULTICLASS = (
    "accuracy",
    "balanced_accuracy",
    "f1_macro",
    "f1_weighted",
    "precision_macro",
    "recall_macro",
    "precision_weighted",
    "recall_weighted",
)
BINARY = ("f1", "precision", "recall", "roc_auc", "log_loss")
REGRESSION = ("mae", "mse", "rmse", "r2", "mape")


@dataclass(frozen=True)
class Scenario:
    name: str
    statistics: tuple[str, ...]
    simulate: Callable[[np.random.Generator, float, int], PairedPredictions]
    """(generator, damage, n) -> a pull request; damage 0 = no change."""


def multiclass(rng: np.random.Generator, damage: float, n: int) -> PairedPredictions:
    """3 classes (50/30/20%); the base is right on 85%; the head re-decides 10% of the examples,
    right on them as often as the base minus `damage`."""
    k = 3
    truth = rng.choice(k, size=n, p=[0.5, 0.3, 0.2])

    def predictions(right_rate: float, size: int, wanted: np.ndarray) -> np.ndarray:
        right = rng.random(size) < right_rate
        return np.where(right, wanted, (wanted + rng.integers(1, k, size)) % k)

    base = predictions(0.85, n, truth)
    head = base.copy()
    redo = rng.random(n) < 0.10
    head[redo] = predictions(0.85 - damage, int(redo.sum()), truth[redo])
    if damage == 0:  # exchangeable: the base re-decides its share too
        base[redo] = predictions(0.85, int(redo.sum()), truth[redo])
    return PairedPredictions(
        task="multiclass",
        ids=np.arange(n),
        target=truth.astype(np.intp),
        head=head.astype(np.intp),
        base=base.astype(np.intp),
        labels=[0, 1, 2],
    )


def binary(rng: np.random.Generator, damage: float, n: int) -> PairedPredictions:
    """30% positives; scores are a logistic of signal + shared noise + own noise (the two
    models' noises correlate at 0.96, as two versions of one model do); the head's signal is
    smaller by `damage`."""
    truth = (rng.random(n) < 0.3).astype(np.intp)
    shared = rng.normal(0, 1.0, n)
    probabilities = []
    for signal in (2.0 - damage, 2.0):
        logit = signal * (2 * truth - 1) + shared + rng.normal(0, 0.2, n) - 0.8
        probabilities.append(1 / (1 + np.exp(-logit)))
    head, base = probabilities
    return PairedPredictions(
        task="binary",
        ids=np.arange(n),
        target=truth,
        head=(head > 0.5).astype(np.intp),
        base=(base > 0.5).astype(np.intp),
        labels=[0, 1],
        head_proba=np.column_stack([1 - head, head]),
        base_proba=np.column_stack([1 - base, base]),
        head_score=head,
        base_score=base,
        positive=1,
    )


def regression(rng: np.random.Generator, damage: float, n: int) -> PairedPredictions:
    """Targets around 10 (sd 3); errors share a component (sd 1) and have their own (sd 0.3,
    the two models' errors correlate at 0.92); the head's own errors are `1 + damage` times
    larger."""
    target = rng.normal(10, 3, n)
    shared = rng.normal(0, 1.0, n)
    head = target + shared + (1 + damage) * rng.normal(0, 0.3, n)
    base = target + shared + rng.normal(0, 0.3, n)
    return PairedPredictions(
        task="regression", ids=np.arange(n), target=target, head=head, base=base
    )


SCENARIOS = (
    Scenario("multiclass", MULTICLASS, multiclass),
    Scenario("binary", BINARY, binary),
    Scenario("regression", REGRESSION, regression),
)


def values(paired: PairedPredictions, statistic: str) -> tuple[float, float]:
    """(head, base) values of a statistic on all examples."""
    if paired.task == "regression":
        found = [
            regression_metrics(regression_sums(paired.target, side))[statistic][0]
            for side in (paired.head, paired.base)
        ]
        return float(found[0]), float(found[1])
    if statistic == "roc_auc":
        assert paired.head_score is not None
        assert paired.base_score is not None
        truth = paired.target == paired.positive
        head, base = roc_auc(truth, paired.head_score), roc_auc(truth, paired.base_score)
        assert head is not None
        assert base is not None
        return head, base
    if statistic == "log_loss":
        assert paired.head_proba is not None
        assert paired.base_proba is not None
        return (
            float(log_losses(paired.target, paired.head_proba).mean()),
            float(log_losses(paired.target, paired.base_proba).mean()),
        )
    k = len(paired.labels)
    positive = paired.positive if paired.task == "binary" else None
    found = []
    for predicted in (paired.head, paired.base):
        matrix = np.bincount(paired.target * k + predicted, minlength=k * k).reshape(k, k)
        found.append(float(confusion_metrics(ClassCounts.of(matrix), positive)[statistic]))
    return found[0], found[1]


@functools.lru_cache(maxsize=64)
def damage_for(
    scenario: Scenario, statistic: str, target: float = 0.02, examples: int = 200_000
) -> float:
    """The damage giving an expected drop of `target` (bisection on one large sample of
    `examples`); for regression a drop of R², whatever the statistic tested. The sample's own
    noise moves the drop: binary recall, measured on the positives alone, came out 1.96 points
    with 200,000 examples; the table uses 2,000,000."""
    if scenario.name == "regression":
        statistic = "r2"
    low, high = 0.0, 1.5
    for _ in range(16):
        middle = (low + high) / 2
        paired = scenario.simulate(np.random.default_rng(12345), middle, examples)
        head, base = values(paired, statistic)
        if base - head < target:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def outcomes(
    scenario: Scenario,
    simulations: int,
    damage: float,
    statistics: tuple[str, ...],
    seed: int,
    confidence: float = 0.95,
    resamples: int = RESAMPLES,
) -> dict[str, tuple[float, float]]:
    """(share called significantly worse, share called significantly better) per test. With no
    change the two models are exchangeable, so both shares estimate the same one-sided
    false-alarm rate: their mean has twice the simulations behind it."""
    worse = dict.fromkeys(statistics, 0)
    better = dict.fromkeys(statistics, 0)
    rng = np.random.default_rng(seed)
    for index in range(simulations):
        paired = scenario.simulate(rng, damage, EXAMPLES)
        found = paired_intervals(
            paired, list(statistics), resamples=resamples, confidence=confidence, seed=index
        )
        for statistic in statistics:
            interval = found[statistic]
            worse[statistic] += interval.significantly_worse()
            good = interval.low > 0 if interval.direction == "higher" else interval.high < 0
            better[statistic] += good
    return {s: (worse[s] / simulations, better[s] / simulations) for s in statistics}


def calibration(
    null: int,
    power: int,
    resamples: int = RESAMPLES,
    workers: int = 1,
    examples: int = 2_000_000,
    seeds: tuple[int, ...] = (1,),
    only: frozenset[str] | None = None,
) -> list[tuple[str, str, float, float, float | None]]:
    """(scenario, statistic, no-change share called worse, called better, power) of every test
    (of `only`'s, when given). The no-change shares pool `null` pull requests per seed of
    `seeds`; power is None when `power` is 0. Statistics whose 2-point drop is the same pull
    request (every regression statistic: a drop of R²) share their simulations; each
    statistic's interval does not depend on which others are computed."""
    from concurrent.futures import ProcessPoolExecutor

    jobs: list[tuple[Scenario, int, float, tuple[str, ...], int]] = []
    for scenario in SCENARIOS:
        chosen = tuple(s for s in scenario.statistics if only is None or s in only)
        if not chosen:
            continue
        jobs += [(scenario, null, 0.0, chosen, seed) for seed in seeds]
        groups: dict[float, list[str]] = {}
        for statistic in chosen if power else ():
            damage = damage_for(scenario, statistic, examples=examples)
            groups.setdefault(damage, []).append(statistic)
        for damage, statistics in groups.items():
            jobs.append((scenario, power, damage, tuple(statistics), 2))
    # The longest jobs first (regression's no-change runs), so that the processes end together.
    jobs.sort(key=lambda job: (job[0].name != "regression", job[2] != 0.0))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [
            pool.submit(outcomes, scenario, runs, damage, statistics, seed, 0.95, resamples)
            for scenario, runs, damage, statistics, seed in jobs
        ]
        found = [future.result() for future in futures]
    null_shares: dict[tuple[str, str], list[float]] = {}
    caught: dict[tuple[str, str], float] = {}
    for (scenario, _, damage, _, _), rates in zip(jobs, found, strict=True):
        for statistic, (worse, better) in rates.items():
            if damage == 0.0:
                shares = null_shares.setdefault((scenario.name, statistic), [0.0, 0.0])
                shares[0] += worse / len(seeds)
                shares[1] += better / len(seeds)
            else:
                caught[scenario.name, statistic] = worse
    return [
        (scenario.name, s, *null_shares[scenario.name, s], caught.get((scenario.name, s)))
        for scenario in SCENARIOS
        for s in scenario.statistics
        if (scenario.name, s) in null_shares
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--null", type=int, default=2000, help="no-change pull requests per seed")
    parser.add_argument("--power", type=int, default=500, help="2-point-drop pull requests")
    parser.add_argument(
        "--resamples", type=int, default=10_000, help="bootstrap resamples (mlci's default)"
    )
    parser.add_argument("--workers", type=int, default=2, help="processes")
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[1], help="seeds of the no-change pull requests"
    )
    parser.add_argument("--only", nargs="+", help="these statistics only")
    args = parser.parse_args()
    runs = args.null * len(args.seeds)
    print(
        f"{EXAMPLES:,} paired examples, {args.resamples:,} resamples, 95% confidence; "
        f"{runs} no-change pull requests (seeds {', '.join(map(str, args.seeds))}) and "
        f"{args.power} 2-point-drop pull requests per test\n"
    )
    error = 100 * math.sqrt(NOMINAL * (1 - NOMINAL) / (2 * runs))
    print(
        "| task | statistic | no change: called worse | called better "
        f"| false alarms (nominal 2.5%, ±{error:.2f}) | power, 2-point drop |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    only = frozenset(args.only) if args.only else None
    rows = calibration(
        args.null, args.power, args.resamples, args.workers, seeds=tuple(args.seeds), only=only
    )
    for task, statistic, worse, better, caught in rows:
        power = "-" if caught is None else f"{caught * 100:.0f}%"
        print(
            f"| {task} | `{statistic}` | {worse * 100:.1f}% | {better * 100:.1f}% "
            f"| {(worse + better) * 50:.2f}% | {power} |"
        )


if __name__ == "__main__":
    main()
