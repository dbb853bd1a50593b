"""Paired bootstrap speed: mlci's significance statistics vs scipy.stats.bootstrap (paired,
vectorised, percentile), on the same paired data, medians of interleaved repeated runs.

    python benchmarks/bootstrap.py --runs 5

Prints a markdown table. The data are synthetic: 100,000 examples by default, 10,000 resamples.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import stats as scipy_stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import machine_line

from mlci.checks.stats import paired_bootstrap


def paired_data(n: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    right_head = (rng.random(n) < 0.90).astype(np.float64)
    right_base = (rng.random(n) < 0.89).astype(np.float64)
    error_head, error_base = rng.normal(0, 1.0, n), rng.normal(0, 1.02, n)
    return {
        "accuracy": (right_head, right_base),
        "mae": (np.abs(error_head), np.abs(error_base)),
        "rmse": (error_head**2, error_base**2),
    }


def scipy_case(
    statistic: str, head: np.ndarray, base: np.ndarray, resamples: int
) -> Callable[[], tuple[float, float]]:
    def difference(h: np.ndarray, b: np.ndarray, axis: int) -> np.ndarray:
        if statistic == "rmse":
            return np.sqrt(h.mean(axis=axis)) - np.sqrt(b.mean(axis=axis))
        return h.mean(axis=axis) - b.mean(axis=axis)

    def run() -> tuple[float, float]:
        interval = scipy_stats.bootstrap(
            (head, base),
            difference,
            paired=True,
            vectorized=True,
            n_resamples=resamples,
            batch=max(1, (1 << 22) // len(head)),  # the same memory bound as mlci's blocks
            method="percentile",
            rng=np.random.default_rng(1),
        ).confidence_interval
        return float(interval.low), float(interval.high)

    return run


def mlci_case(
    statistic: str, head: np.ndarray, base: np.ndarray, resamples: int
) -> Callable[[], tuple[float, float]]:
    def run() -> tuple[float, float]:
        result = paired_bootstrap(statistic, head, base, resamples=resamples, seed=1)  # type: ignore[arg-type]
        return result.low, result.high

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--examples", type=int, default=100_000)
    parser.add_argument("--resamples", type=int, default=10_000)
    parser.add_argument("--no-scipy", action="store_true", help="time mlci only")
    parser.add_argument("--statistics", default="accuracy,mae,rmse")
    args = parser.parse_args()

    data = paired_data(args.examples)
    cases: list[tuple[str, str, Callable[[], tuple[float, float]]]] = []
    for statistic in args.statistics.split(","):
        head, base = data[statistic]
        cases.append((statistic, "mlci", mlci_case(statistic, head, base, args.resamples)))
        if not args.no_scipy:
            cases.append((statistic, "scipy", scipy_case(statistic, head, base, args.resamples)))
    start_line = machine_line()
    seconds: dict[tuple[str, str], list[float]] = {(s, t): [] for s, t, _ in cases}
    intervals: dict[tuple[str, str], tuple[float, float]] = {}
    for _round in range(args.runs):
        for statistic, tool, run in cases:
            began = time.perf_counter()
            intervals[statistic, tool] = run()
            seconds[statistic, tool].append(time.perf_counter() - began)
    end_load = os.getloadavg()[0]

    print(
        f"Paired bootstrap, {args.examples:,} examples x {args.resamples:,} resamples, "
        f"median of {args.runs} interleaved runs; {start_line}, {end_load:.2f} at the end.\n"
    )
    print("| statistic | tool | median (s) | min (s) | 95% interval of head - base |")
    print("| --- | --- | ---: | ---: | --- |")
    for statistic, tool, _ in cases:
        timed = seconds[statistic, tool]
        low, high = intervals[statistic, tool]
        print(
            f"| {statistic} | {tool} | {statistics.median(timed):.3f} | {min(timed):.3f} "
            f"| [{low:+.5f}, {high:+.5f}] |"
        )


if __name__ == "__main__":
    main()
