"""MLflow's own `validate_evaluation_results` is the oracle for the rules mlci shares with it:
`threshold`, `min_absolute_change`, `min_relative_change` and `greater_is_better`, including a
missing metric on either side and a zero baseline."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from mlci.checks.gates import GateError, evaluate_gates
from mlci.config import Gate
from mlci.sources.metrics import MetricSet

mlflow = pytest.importorskip("mlflow")
from mlflow.models import MetricThreshold  # noqa: E402
from mlflow.models.evaluation import EvaluationResult  # noqa: E402
from mlflow.models.evaluation.validation import ModelValidationFailedException  # noqa: E402

MISSING = None
CANDIDATES = [0.9, 0.85, 0.8, 0.79, 0.0, 1e-11, -1e-11, -0.2, 1.2, MISSING]
BASELINES = [0.8, 0.75, 0.0, -0.5, 1.0, MISSING]
RULE_SETS: list[dict[str, Any]] = [
    {"threshold": 0.8},
    {"min_absolute_change": 0.05},
    {"min_relative_change": 0.1},
    {"min_relative_change": 0.0625},
    {"threshold": 0.8, "min_absolute_change": 0.05},
    {"threshold": 0.0, "min_absolute_change": 0.1, "min_relative_change": 0.5},
    {"min_absolute_change": 0.05, "min_relative_change": 1.0},
]
CASES = [
    (rules, greater, candidate, baseline)
    for rules, greater, candidate, baseline in itertools.product(
        RULE_SETS, [True, False], CANDIDATES, BASELINES
    )
    if not (candidate is MISSING and baseline is MISSING)
]


def mlflow_failures(
    rules: dict[str, Any], greater: bool, candidate: float | None, baseline: float | None
) -> set[str]:
    """Which rules MLflow fails, read from its failure message."""
    threshold = MetricThreshold(greater_is_better=greater, **rules)
    candidate_metrics = {"other": 1.0} | ({} if candidate is MISSING else {"m": candidate})
    # A baseline lacking the metric has no metrics at all here: with other metrics present,
    # MLflow raises KeyError for a threshold-only rule (mlci evaluates the threshold).
    baseline_metrics = {} if baseline is MISSING else {"other": 1.0, "m": baseline}
    try:
        mlflow.validate_evaluation_results(
            {"m": threshold},
            EvaluationResult(metrics=candidate_metrics, artifacts={}),
            EvaluationResult(metrics=baseline_metrics, artifacts={}),
        )
    except ModelValidationFailedException as failure:
        message = failure.message
    else:
        return set()
    if "missing from the evaluation result of the candidate model" in message:
        return set(rules)
    failed = set()
    if "value threshold check failed" in message:
        failed.add("threshold")
    if "missing from the evaluation result of the baseline model" in message:
        failed |= set(rules) & {"min_absolute_change", "min_relative_change"}
    if "minimum absolute change check failed" in message:
        failed.add("min_absolute_change")
    if "minimum relative change check failed" in message:
        failed.add("min_relative_change")
    return failed


def mlci_failures(
    rules: dict[str, Any], greater: bool, candidate: float | None, baseline: float | None
) -> set[str]:
    gate = Gate(metric="m", greater_is_better=greater, **rules)
    head = MetricSet("head", {"metrics.json": {} if candidate is MISSING else {"m": candidate}})
    base = MetricSet("base", {"metrics.json": {} if baseline is MISSING else {"m": baseline}})
    results = evaluate_gates([gate], head, base)
    assert [result.rule for result in results] == [r for r in Gate.__struct_fields__ if r in rules]
    return {result.rule for result in results if result.status == "failed"}


def test_the_grid_covers_the_edges() -> None:
    assert len(CASES) == 826
    assert sum(1 for case in CASES if mlflow_failures(*case)) > 300
    assert sum(1 for case in CASES if not mlflow_failures(*case)) > 150


@pytest.mark.parametrize(("rules", "greater", "candidate", "baseline"), CASES)
def test_pass_fail_equals_mlflow(
    rules: dict[str, Any], greater: bool, candidate: float | None, baseline: float | None
) -> None:
    assert mlci_failures(rules, greater, candidate, baseline) == mlflow_failures(
        rules, greater, candidate, baseline
    )


def test_no_baseline_run_at_all_fails_the_comparisons_as_mlflow_does() -> None:
    rules = {"threshold": 0.8, "min_absolute_change": 0.05}
    threshold = MetricThreshold(greater_is_better=True, **rules)
    with pytest.raises(ModelValidationFailedException) as failure:
        mlflow.validate_evaluation_results(
            {"m": threshold}, EvaluationResult(metrics={"m": 0.9}, artifacts={})
        )
    assert "missing from the evaluation result of the baseline model" in failure.value.message
    results = evaluate_gates(
        [Gate(metric="m", greater_is_better=True, **rules)],
        MetricSet("head", {"metrics.json": {"m": 0.9}}),
        None,
        base_unavailable="base branch 'main' not found",
    )
    assert [(r.rule, r.status, r.reason) for r in results] == [
        ("threshold", "passed", "0.9 >= threshold 0.8 (higher is better)"),
        ("min_absolute_change", "failed", "no baseline: base branch 'main' not found"),
    ]


def test_zero_baseline_falls_back_to_an_improvement_of_1e_10() -> None:
    gate = Gate(metric="m", min_relative_change=0.5, greater_is_better=False)
    rows = []
    for candidate in (-1e-11, -2e-10):
        assert mlflow_failures({"min_relative_change": 0.5}, False, candidate, 0.0) == (
            {"min_relative_change"} if candidate == -1e-11 else set()
        )
        [result] = evaluate_gates(
            [gate],
            MetricSet("head", {"metrics.json": {"m": candidate}}),
            MetricSet("base", {"metrics.json": {"m": 0}}),
        )
        rows.append((result.status, result.limit, result.reason))
    reason = "the baseline is 0: must improve on it by at least 1e-10 (as MLflow)"
    assert rows == [("failed", -1e-10, reason), ("passed", -1e-10, reason)]


def test_a_metric_in_neither_side_is_an_input_error_not_a_failure() -> None:
    """MLflow fails such a gate; mlci says the gate names no metric (a typo, most often)."""
    with pytest.raises(GateError) as error:
        evaluate_gates(
            [Gate(metric="acuracy", threshold=0.8, greater_is_better=True)],
            MetricSet("head", {"metrics.json": {"accuracy": 0.9}}),
            MetricSet("base", {"metrics.json": {"accuracy": 0.8}}),
        )
    assert str(error.value) == (
        "gate on 'acuracy': no such metric in the head or the base metrics "
        "(did you mean 'accuracy'?)"
    )
