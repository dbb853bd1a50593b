"""Questions the calibration table (benchmarks/calibration.py) raises, answered by simulation.

    python benchmarks/calibration_limits.py --null 4000 --power 1000
    python benchmarks/calibration_limits.py --only mape --null 4000 --power 1000
    python benchmarks/calibration_limits.py --only log_loss_seeds --null 4000 --seeds 1 2 ... 11

1. **Log loss.** Does the percentile bootstrap of the mean per-example log-loss difference
   need a skewness correction (BCa, studentized)? On the binary no-change pull requests it
   compares, on the same simulated data: the percentile bootstrap with 1,000 resamples (what
   the table runs), the same bootstrap's exact quantiles (Cornish-Fisher from the influence
   values: the limit that 10,000 resamples approach), BCa with 1,000 resamples, Hall's
   skewness-corrected studentized interval, and the plain normal interval.
2. **Binary recall.** Can any test calibrated at 2.5% catch a 2-point drop of recall 80% of
   the time on these pull requests? Recall depends on the positives alone, and a positive only
   informs the difference when the two models disagree on it. The most powerful test at the
   least favourable null (the same share of disagreeing positives, split evenly) against the
   true alternative is the Neyman-Pearson test on the counts of (head only right, base only
   right) positives: its power, computed exactly, bounds every calibrated test's. Beside it:
   the same bound's normal approximation, McNemar's exact test on the disagreeing positives,
   and mlci's test, by simulation.
3. **MAPE.** Targets near 0 make the per-example MAPE differences heavy-tailed: is the
   percentile bootstrap of their mean calibrated, and what does widening it cost? On the
   regression no-change pull requests (both tails counted: the models are exchangeable) and on
   2-point drops of R²: the percentile bootstrap with 1,000 resamples, the normal interval, the
   basic (reversed percentile) and studentized bootstrap intervals from the same draws, and
   mlci's interval (`resampling.drawn_interval`: the percentile interval, widened to contain
   the normal one where the influence values are not `well_behaved`).
4. **Log loss on many pull requests.** Its false-alarm rate moves by a few tenths of a point
   from one seed's 4,000 pull requests to another's. On calibration.py's own no-change pull
   requests of each seed, the interval from the bootstrap's exact quantiles (Cornish-Fisher,
   the limit 10,000 resamples approach: on seed 1 they agree within 0.01 points) costs
   milliseconds instead of 0.7 s, so many seeds can be pooled.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from calibration import (
    EXAMPLES,
    RESAMPLES,
    SCENARIOS,
    binary,
    damage_for,
    regression,
    values,
)
from scipy.special import gammaln, ndtri
from scipy.stats import binom, binomtest, norm

from mlci.checks.model_diff import log_losses, percentage_errors
from mlci.checks.resampling import drawn_interval, index_bootstrap, percentiles
from mlci.checks.significance import paired_intervals

Z = float(ndtri(0.975))


def log_loss_null(simulations: int, seed: int) -> dict[str, float]:
    """False-alarm rate of each interval for log loss on no-change pull requests."""
    rng = np.random.default_rng(seed)
    alarms = dict.fromkeys(
        ["percentile, 1,000 resamples", "percentile, exact quantiles", "BCa, 1,000 resamples",
         "studentized, skewness-corrected", "normal"], 0)  # fmt: skip
    for index in range(simulations):
        paired = binary(rng, 0.0, EXAMPLES)
        assert paired.head_proba is not None
        assert paired.base_proba is not None
        d = log_losses(paired.target, paired.head_proba) - log_losses(
            paired.target, paired.base_proba
        )
        n, mean = len(d), float(d.mean())
        se = float(d.std(ddof=1)) / math.sqrt(n)
        centered = d - mean
        skew = float((centered**3).mean() / (centered**2).mean() ** 1.5)
        draws = index_bootstrap(d[:, None], lambda m: m[..., 0], RESAMPLES, index)
        alarms["percentile, 1,000 resamples"] += percentiles(draws, 0.95)[0] > 0
        exact = paired_intervals(paired, ["log_loss"], method="approximate")["log_loss"]
        alarms["percentile, exact quantiles"] += exact.low > 0
        bias = float(ndtri(np.clip(np.mean(draws < mean), 1e-6, 1 - 1e-6)))
        acceleration = skew / (6 * math.sqrt(n))
        shifted = bias + (bias - Z) / (1 - acceleration * (bias - Z))
        alarms["BCa, 1,000 resamples"] += np.quantile(draws, norm.cdf(shifted)) > 0
        # Hall (1992): the studentized mean's 97.5% quantile, z - skew (2 z² + 1) / (6 sqrt n).
        t_high = Z - skew * (2 * Z * Z + 1) / (6 * math.sqrt(n))
        alarms["studentized, skewness-corrected"] += mean - se * t_high > 0
        alarms["normal"] += mean - Z * se > 0
    return {name: count / simulations for name, count in alarms.items()}


def mape_intervals(simulations: int, damage: float, seed: int) -> dict[str, float]:
    """Share of pull requests each interval calls significantly worse or better (no change: the
    mean of the two, each a one-sided false-alarm rate) or significantly worse (a drop)."""
    rng = np.random.default_rng(seed)
    names = [
        "percentile, 1,000 resamples",
        "normal",
        "basic, 1,000 resamples",
        "studentized, 1,000 resamples",
        "mlci: percentile, widened if heavy-tailed",
    ]
    calls = dict.fromkeys(names, 0.0)

    def first(means: np.ndarray) -> np.ndarray:
        return np.asarray(means[..., 0], dtype=np.float64)

    for index in range(simulations):
        paired = regression(rng, damage, EXAMPLES)
        target = paired.target
        d = percentage_errors(target, paired.head) - percentage_errors(target, paired.base)
        n, mean = len(d), float(d.mean())
        se = float(d.std()) / math.sqrt(n)
        resampled = d[np.random.default_rng(index).integers(0, n, size=(RESAMPLES, n))]
        draws = resampled.mean(axis=1)
        low, high = percentiles(draws, 0.95)
        t = (draws - mean) / (resampled.std(axis=1) / math.sqrt(n))
        t_low, t_high = np.quantile(t, [0.025, 0.975])
        widened = drawn_interval(draws, d[:, None], first, 0.95)
        ends = {
            names[0]: (low, high),
            names[1]: (mean - Z * se, mean + Z * se),
            names[2]: (2 * mean - high, 2 * mean - low),
            names[3]: (mean - t_high * se, mean - t_low * se),
            names[4]: widened[:2],
        }
        for name, (low_end, high_end) in ends.items():
            worse, better = low_end > 0, high_end < 0
            calls[name] += (worse + better) / 2 if damage == 0.0 else worse
    return {name: count / simulations for name, count in calls.items()}


def log_loss_seeds(simulations: int, seeds: list[int]) -> list[tuple[int, float, float]]:
    """(seed, share called worse, share called better) of calibration.py's binary no-change
    pull requests of each seed, by the log-loss interval's exact bootstrap quantiles."""
    scenario = SCENARIOS[1]
    found = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        worse = better = 0
        for _ in range(simulations):
            paired = scenario.simulate(rng, 0.0, EXAMPLES)
            interval = paired_intervals(paired, ["log_loss"], method="approximate")["log_loss"]
            worse += interval.low > 0
            better += interval.high < 0
        found.append((seed, worse / simulations, better / simulations))
    return found


def recall_power(simulations: int, seed: int) -> dict[str, float]:
    """Power for an exact 2-point drop of binary recall: the bound, McNemar, mlci."""
    scenario = SCENARIOS[1]
    # Positives' logits are N(signal - 0.8, 1 + 0.2²): recall = Φ((signal - 0.8) / sqrt(1.04)),
    # so the exact damage of a 2-point drop is known.
    scale = math.sqrt(1.04)
    base_recall = float(norm.cdf(1.2 / scale))
    damage = 1.2 - scale * float(norm.ppf(base_recall - 0.02))
    large = scenario.simulate(np.random.default_rng(7), damage, 4_000_000)
    positive = large.target == 1
    head_only = float(np.mean((large.head[positive] == 1) & (large.base[positive] == 0)))
    base_only = float(np.mean((large.head[positive] == 0) & (large.base[positive] == 1)))
    even = (head_only + base_only) / 2
    bound = neyman_pearson_power(head_only, base_only, even)
    variance = head_only + base_only - (head_only - base_only) ** 2
    found = {
        "Neyman-Pearson bound (exact)": bound,
        "known-variance z test, 900 positives": float(
            norm.cdf(0.02 / math.sqrt(variance / 900) - Z)
        ),
    }
    rng = np.random.default_rng(seed)
    caught = {"McNemar exact, disagreeing positives": 0, "mlci": 0}
    for index in range(simulations):
        paired = scenario.simulate(rng, damage, EXAMPLES)
        positives = paired.target == 1
        gained = int(np.sum(positives & (paired.head == 1) & (paired.base == 0)))
        lost = int(np.sum(positives & (paired.head == 0) & (paired.base == 1)))
        if gained + lost:
            test = binomtest(lost, gained + lost, 0.5, alternative="greater")
            caught["McNemar exact, disagreeing positives"] += test.pvalue < 0.025
        interval = paired_intervals(paired, ["recall"], resamples=RESAMPLES, seed=index)
        caught["mlci"] += interval["recall"].significantly_worse()
    found.update({name: count / simulations for name, count in caught.items()})
    simulated = damage_for(scenario, "recall", examples=2_000_000)
    head, base = values(scenario.simulate(np.random.default_rng(7), simulated, 2_000_000), "recall")
    print(
        f"Exact damage {damage:.4f} (recall {base_recall:.4f} -> {base_recall - 0.02:.4f}); "
        f"per positive: head only right {head_only:.4f}, base only right {base_only:.4f} "
        f"(~{900 * (head_only + base_only):.0f} disagreeing positives of ~900). "
        f"calibration.py's bisection gives damage {simulated:.4f}, a drop of {base - head:.4f}."
    )
    return found


def neyman_pearson_power(head_only: float, base_only: float, even: float) -> float:
    """Exact power of the randomised most powerful test at size 2.5% of H0: both cells `even`
    against H1: (head_only, base_only), over N ~ Bin(3000, 0.3) positives."""
    counts = np.arange(700, 1101)
    weights = binom.pmf(counts, EXAMPLES, 0.3)
    weights /= weights.sum()
    size = 170
    gained, lost = np.arange(size)[:, None], np.arange(size)[None, :]
    statistic = lost * math.log(base_only / even) + gained * math.log(head_only / even)

    def joint(p_gained: float, p_lost: float) -> np.ndarray:
        total = np.zeros((size, size))
        for n, weight in zip(counts, weights, strict=True):
            rest = n - gained - lost
            valid = rest >= 0
            rest = np.where(valid, rest, 0)
            log_p = (
                gammaln(n + 1) - gammaln(gained + 1) - gammaln(lost + 1) - gammaln(rest + 1)
                + gained * math.log(p_gained) + lost * math.log(p_lost)
                + rest * math.log(1 - p_gained - p_lost)
            )  # fmt: skip
            total += weight * np.where(valid, np.exp(log_p), 0.0)
        return total.ravel()

    order = np.argsort(-statistic, axis=None)
    null, alternative = joint(even, even)[order], joint(head_only, base_only)[order]
    under_null = np.cumsum(null)
    edge = int(np.searchsorted(under_null, 0.025))
    before = under_null[edge - 1] if edge else 0.0
    taken = (0.025 - before) / null[edge]  # randomised on the edge: size exactly 2.5%
    return float(alternative[:edge].sum() + taken * alternative[edge])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--null", type=int, default=4000, help="no-change pull requests")
    parser.add_argument("--power", type=int, default=1000, help="2-point-drop pull requests")
    parser.add_argument(
        "--only", choices=["log_loss", "recall", "mape", "log_loss_seeds"], help="one question"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3], help="log_loss_seeds")
    args = parser.parse_args()
    if args.only == "log_loss_seeds":
        print(f"Log loss, {args.null} no-change binary pull requests per seed, exact quantiles:\n")
        print("| seed | called worse | called better | false alarms |")
        print("| ---: | ---: | ---: | ---: |")
        rows = log_loss_seeds(args.null, args.seeds)
        for seed, worse, better in rows:
            print(f"| {seed} | {worse:.2%} | {better:.2%} | {(worse + better) / 2:.2%} |")
        pooled = sum(worse + better for _, worse, better in rows) / (2 * len(rows))
        error = math.sqrt(0.025 * 0.975 / (2 * args.null * len(rows)))
        print(f"| all | | | {pooled:.2%} (±{error:.2%}) |")
        return
    if args.only == "mape":
        damage = damage_for(SCENARIOS[2], "r2", examples=2_000_000)
        print(f"MAPE, {EXAMPLES:,} examples, {RESAMPLES:,} resamples:\n")
        null = mape_intervals(args.null, 0.0, seed=103)
        caught = mape_intervals(args.power, damage, seed=104)
        print(
            f"| interval | false alarms, {args.null} no-change pull requests (nominal 2.5%) "
            f"| power, {args.power} 2-point drops of R² |\n| --- | ---: | ---: |"
        )
        for name, rate in null.items():
            print(f"| {name} | {rate * 100:.2f}% | {caught[name] * 100:.1f}% |")
        return
    if args.only in (None, "log_loss"):
        print(f"Log loss, {args.null} no-change binary pull requests, {EXAMPLES:,} examples:\n")
        print("| interval | false alarms (nominal 2.5%) |\n| --- | ---: |")
        for name, rate in log_loss_null(args.null, seed=101).items():
            print(f"| {name} | {rate * 100:.2f}% |")
    if args.only == "log_loss":
        return
    print(f"\nBinary recall, a 2-point drop, {EXAMPLES:,} examples:\n")
    rows = recall_power(args.power, seed=2)
    print(f"\n| test | power ({args.power} pull requests where simulated) |\n| --- | ---: |")
    for name, rate in rows.items():
        print(f"| {name} | {rate * 100:.1f}% |")


if __name__ == "__main__":
    main()
