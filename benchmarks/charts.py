"""The cost of the charts: mlci's curves vs scikit-learn computing the same numbers, and the
time to render the markdown (Mermaid) and HTML (SVG) reports that draw them.

    python benchmarks/charts.py --runs 5 --examples 1000000

Prints a markdown table of medians of interleaved runs. The data are synthetic paired binary
scores (base and head on the same examples).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    average_precision_score,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import machine_line

from mlci.checks.curves import classification_curves
from mlci.report.html import render_html
from mlci.report.markdown import render_comment
from mlci.report.model import Report
from mlci.report.render import RenderOptions


def scores(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, n)
    base = np.clip(rng.normal(0.4 + 0.2 * y, 0.25), 0, 1)
    head = np.clip(base + 0.1 * (y - 0.5) + rng.normal(0, 0.05, n), 0, 1)
    return y, head, base


def sklearn_curves(y: np.ndarray, head: np.ndarray, base: np.ndarray) -> None:
    """The same numbers with scikit-learn: the raw curves, AUC, AP and calibration, each side."""
    for scores_ in (base, head):
        fpr, tpr, _ = roc_curve(y, scores_, drop_intermediate=False)
        np.interp(np.linspace(0, 1, 21), fpr, tpr)
        precision_recall_curve(y, scores_)
        roc_auc_score(y, scores_)
        average_precision_score(y, scores_)
        calibration_curve(y, scores_, n_bins=10)


def median_seconds(jobs: dict[str, Callable[[], object]], runs: int) -> dict[str, float]:
    seconds: dict[str, list[float]] = {name: [] for name in jobs}
    for round_number in range(runs + 1):
        for name, job in jobs.items():
            start = time.perf_counter()
            job()
            if round_number:  # the first round warms caches and imports
                seconds[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in seconds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--examples", type=int, default=1_000_000)
    args = parser.parse_args()
    y, head, base = scores(args.examples)
    report = Report(title="bench", curves=classification_curves(y, head, base))
    options = RenderOptions()
    timed = median_seconds(
        {
            "curves (mlci)": lambda: classification_curves(y, head, base),
            "curves (scikit-learn)": lambda: sklearn_curves(y, head, base),
            "markdown comment with 3 Mermaid charts": lambda: render_comment(report, options),
            "HTML report with 3 SVG charts": lambda: render_html(report, options),
        },
        args.runs,
    )
    print(f"{args.examples:,} paired binary examples, {args.runs} runs; {machine_line()}\n")
    print("| what | median |")
    print("| --- | ---: |")
    for name, value in timed.items():
        print(f"| {name} | {value * 1000:.0f} ms |")
    ratio = timed["curves (scikit-learn)"] / timed["curves (mlci)"]
    print(f"\nmlci computes the same curves {ratio:.2f}x as fast as scikit-learn")
    print(f"comment: {len(render_comment(report, options).encode()):,} bytes; ", end="")
    print(f"HTML: {len(render_html(report, options).encode()):,} bytes")


if __name__ == "__main__":
    main()
