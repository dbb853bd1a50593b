"""The model diff vs the same numbers from scikit-learn's functions, and the significance tests.

    python benchmarks/model_diff.py --runs 5

1,000,000 paired multiclass predictions (10 classes, 2 slice columns with 6 and 4 values), as
arrays in memory (reading the files is not timed, for either side). mlci: `compute_model_diff`.
scikit-learn: `classification_report`, `balanced_accuracy_score` and `confusion_matrix` for each
side, the same per slice value in a loop, and the fixed/broken counts with numpy. Before timing,
the script checks that both give the same numbers (to 1e-12). Then the significance tests on
100,000 paired examples x 10,000 resamples. Medians of interleaved runs; prints markdown.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import machine_line

from mlci.checks.model_diff import compute_model_diff
from mlci.checks.significance import paired_intervals
from mlci.sources.prediction_pairs import PairedPredictions

CLASSES = 10
METRICS = ("precision", "recall", "f1-score")


def paired(n: int, seed: int = 0, probabilities: bool = False) -> PairedPredictions:
    rng = np.random.default_rng(seed)
    shares = np.linspace(3, 1, CLASSES)
    target = rng.choice(CLASSES, size=n, p=shares / shares.sum())

    def model(right: float) -> np.ndarray:
        return np.where(rng.random(n) < right, target, rng.integers(0, CLASSES, n))

    head, base = model(0.86), model(0.85)
    region = np.array(["north", "south", "east", "west", "centre", "islands"], dtype=object)
    device = np.array(["phone", "tablet", "desktop", "tv"], dtype=object)
    found = PairedPredictions(
        task="multiclass",
        ids=np.arange(n),
        target=target.astype(np.intp),
        head=head.astype(np.intp),
        base=base.astype(np.intp),
        labels=list(range(CLASSES)),
        slices={
            "region": region[rng.choice(6, n, p=[0.3, 0.25, 0.2, 0.15, 0.07, 0.03])],
            "device": device[rng.choice(4, n, p=[0.5, 0.2, 0.25, 0.05])],
        },
    )
    if probabilities:
        for side in ("head", "base"):
            weights = rng.random((n, CLASSES))
            weights[np.arange(n), getattr(found, side)] += 4
            setattr(found, f"{side}_proba", weights / weights.sum(axis=1, keepdims=True))
    return found


def mlci_numbers(data: PairedPredictions) -> dict[str, Any]:
    diff = compute_model_diff(data, examples=10, min_support=30)
    found: dict[str, Any] = {}
    for name, change in diff.metrics.items():
        found[f"{name}/old"], found[f"{name}/new"] = change.old, change.new
    for row in diff.per_class:
        scores = (("precision", row.precision), ("recall", row.recall), ("f1-score", row.f1))
        for metric, change in scores:
            found[f"class {row.label} {metric}/old"] = change.old
            found[f"class {row.label} {metric}/new"] = change.new
        found[f"class {row.label} support"] = row.support
    assert diff.confusion_matrix is not None
    assert diff.changed is not None
    found["confusion/base"] = diff.confusion_matrix.base
    found["confusion/head"] = diff.confusion_matrix.head
    found["fixed"], found["broken"] = diff.changed.fixed, diff.changed.broken
    for row in diff.slices:
        for name, change in row.metrics.items():
            found[f"{row.column}={row.value} {name}/old"] = change.old
            found[f"{row.column}={row.value} {name}/new"] = change.new
        found[f"{row.column}={row.value} support"] = row.support
    return found


def sklearn_numbers(data: PairedPredictions) -> dict[str, Any]:
    from sklearn.metrics import balanced_accuracy_score, classification_report, confusion_matrix

    found: dict[str, Any] = {}

    def side_metrics(prefix: str, truth: np.ndarray, predicted: np.ndarray, key: str) -> None:
        report = classification_report(truth, predicted, output_dict=True, zero_division=0)
        found[f"{prefix}accuracy/{key}"] = report["accuracy"]
        found[f"{prefix}balanced_accuracy/{key}"] = balanced_accuracy_score(truth, predicted)
        for average in ("macro", "weighted"):
            for metric in METRICS:
                name = "f1" if metric == "f1-score" else metric
                found[f"{prefix}{name}_{average}/{key}"] = report[f"{average} avg"][metric]
        if not prefix:
            for label in range(CLASSES):
                row = report.get(str(label), {"precision": 0.0, "recall": 0.0, "f1-score": 0.0})
                for metric in METRICS:
                    found[f"class {label} {metric}/{key}"] = row[metric]
                found[f"class {label} support"] = int(np.count_nonzero(truth == label))

    target = data.target
    for key, predicted in (("old", data.base), ("new", data.head)):
        side_metrics("", target, predicted, key)
    labels = list(range(CLASSES))
    found["confusion/base"] = confusion_matrix(target, data.base, labels=labels).tolist()
    found["confusion/head"] = confusion_matrix(target, data.head, labels=labels).tolist()
    base_right, head_right = data.base == target, data.head == target
    found["fixed"] = int(np.count_nonzero(~base_right & head_right))
    found["broken"] = int(np.count_nonzero(base_right & ~head_right))
    for column, values in data.slices.items():
        for value in np.unique(values):
            mask = values == value
            for key, predicted in (("old", data.base), ("new", data.head)):
                side_metrics(f"{column}={value} ", target[mask], predicted[mask], key)
            found[f"{column}={value} support"] = int(mask.sum())
    return found


def same(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    missing = sorted(set(theirs) - set(ours))
    if missing:
        raise SystemExit(f"mlci lacks {len(missing)} numbers, e.g. {missing[:3]}")
    for key, value in theirs.items():
        mine = ours[key]
        if isinstance(value, list):
            if mine != value:
                raise SystemExit(f"{key}: mlci and scikit-learn differ")
        elif abs(mine - value) > 1e-12:
            raise SystemExit(f"{key}: mlci {mine!r} vs scikit-learn {value!r}")


def timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def cpu_timed(function: Callable[[], object]) -> tuple[float, float]:
    start, cpu = time.perf_counter(), time.process_time()
    function()
    return time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--examples", type=int, default=1_000_000)
    parser.add_argument(
        "--significance-only", action="store_true", help="skip the model diff comparison"
    )
    args = parser.parse_args()
    print(machine_line())
    if not args.significance_only:
        model_diff_table(args.examples, args.runs)
    significance_table(args.runs)


def model_diff_table(examples: int, runs: int) -> None:
    data = paired(examples)
    same(mlci_numbers(data), sklearn_numbers(data))
    print(f"\nSame numbers (to 1e-12): {len(sklearn_numbers(data))} values checked.\n")
    times: dict[str, list[float]] = {"mlci": [], "scikit-learn": []}
    for _ in range(runs):
        times["mlci"].append(timed(lambda: mlci_numbers(data)))
        times["scikit-learn"].append(timed(lambda: sklearn_numbers(data)))
    ours, theirs = (statistics.median(times[name]) for name in ("mlci", "scikit-learn"))
    print(
        f"Model diff of {examples:,} paired predictions, {CLASSES} classes, 2 slice "
        f"columns (median of {runs}):\n"
    )
    print("| computation | median | speed-up |\n| --- | ---: | ---: |")
    print(f"| scikit-learn functions + per-slice loops | {theirs:.2f} s | |")
    print(f"| mlci `compute_model_diff` | {ours:.2f} s | {theirs / ours:.1f}x |")


def significance_table(runs: int) -> None:
    small = paired(100_000, seed=1, probabilities=True)
    binary = paired(100_000, seed=2)
    binary.task, binary.positive = "binary", 1
    binary.target = (binary.target > 4).astype(np.intp)
    rng = np.random.default_rng(3)
    binary.head_score = binary.target + rng.normal(0, 1.0, binary.size)
    binary.base_score = binary.target + rng.normal(0, 1.1, binary.size)
    target = rng.normal(10, 3, 100_000)
    regression = PairedPredictions(
        task="regression",
        ids=np.arange(100_000),
        target=target,
        head=target + rng.normal(0, 1.0, 100_000),
        base=target + rng.normal(0, 1.02, 100_000),
    )
    everything = ["accuracy", "balanced_accuracy", "f1_macro", "f1_weighted", "precision_macro"]
    cases: list[tuple[str, Callable[[], object]]] = [
        ("accuracy, exact multinomial (4 cells)", lambda: paired_intervals(small, ["accuracy"])),
        ("f1_macro, 10 classes (auto: analytic)", lambda: paired_intervals(small, ["f1_macro"])),
        (
            "f1_macro, 10 classes, exact multinomial over 1,000 cells",
            lambda: paired_intervals(small, ["f1_macro"], method="exact"),
        ),
        ("5 confusion-matrix metrics at once (auto)", lambda: paired_intervals(small, everything)),
        ("roc_auc, binary, DeLong", lambda: paired_intervals(binary, ["roc_auc"])),
        ("roc_auc, 10 classes one-vs-rest, DeLong", lambda: paired_intervals(small, ["roc_auc"])),
        ("log_loss (auto: analytic)", lambda: paired_intervals(small, ["log_loss"])),
        ("mae (auto: analytic)", lambda: paired_intervals(regression, ["mae"])),
        ("rmse (auto: analytic)", lambda: paired_intervals(regression, ["rmse"])),
        (
            "mae, exact index bootstrap",
            lambda: paired_intervals(regression, ["mae"], method="exact"),
        ),
        (
            "rmse, exact index bootstrap",
            lambda: paired_intervals(regression, ["rmse"], method="exact"),
        ),
    ]
    print(f"\nSignificance, 100,000 paired examples, 10,000 resamples (median of {runs}):\n")
    # CPU time (user + system, every thread of this process) beside wall time: on a machine
    # shared with other work, wall time measures the others too.
    print("| test | median wall | median CPU |\n| --- | ---: | ---: |")
    for name, case in cases:
        found = [cpu_timed(case) for _ in range(runs if "exact index" not in name else 1)]
        wall = statistics.median(run[0] for run in found) * 1000
        cpu = statistics.median(run[1] for run in found) * 1000
        print(f"| {name} | {wall:,.0f} ms | {cpu:,.0f} ms |")


if __name__ == "__main__":
    main()
