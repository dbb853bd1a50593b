"""Gates: every rule's verdict, limit and reason; required, severity and direction; `mlci gate`
on real git repos; and the exact message of every bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import GitRepo, Invoker

from mlci.checks.gates import GateError, evaluate_gates
from mlci.config import Gate
from mlci.report.model import GateResult
from mlci.sources.metrics import MetricSet

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def metrics(label: str, **values: Any) -> MetricSet:
    return MetricSet(label, {"metrics.json": values})


def rows(results: list[GateResult]) -> list[tuple[Any, ...]]:
    return [(r.rule, r.status, r.observed, r.baseline, r.limit, r.reason) for r in results]


def test_every_rule_of_mlci_passing() -> None:
    gate = Gate(
        metric="accuracy",
        min=0.9,
        max=1,
        max_drop=0.02,
        max_increase=0.1,
        max_drop_pct=5,
        max_increase_pct=10,
    )
    results = evaluate_gates([gate], metrics("head", accuracy=0.93), metrics("base", accuracy=0.94))
    assert rows(results) == [
        ("min", "passed", 0.93, 0.94, 0.9, "0.93 >= min 0.9"),
        ("max", "passed", 0.93, 0.94, 1.0, "0.93 <= max 1"),
        (
            "max_drop",
            "passed",
            0.93,
            0.94,
            0.9199999999999999,
            "dropped 0.01 from the baseline, max_drop 0.02",
        ),
        (
            "max_increase",
            "passed",
            0.93,
            0.94,
            1.04,
            "dropped 0.01 from the baseline, max_increase 0.1",
        ),
        (
            "max_drop_pct",
            "passed",
            0.93,
            0.94,
            0.8929999999999999,
            "dropped 1.06383% from the baseline, max_drop_pct 5%",
        ),
        (
            "max_increase_pct",
            "passed",
            0.93,
            0.94,
            1.034,
            "dropped 1.06383% from the baseline, max_increase_pct 10%",
        ),
    ]


def test_every_rule_of_mlci_failing() -> None:
    gates = [
        Gate(metric="accuracy", min=0.9, max_drop=0.02, max_drop_pct=5),
        Gate(metric="loss", max=0.3, max_increase=0.05, max_increase_pct=10),
    ]
    results = evaluate_gates(
        gates, metrics("head", accuracy=0.8, loss=0.5), metrics("base", accuracy=0.9, loss=0.4)
    )
    assert rows(results) == [
        ("min", "failed", 0.8, 0.9, 0.9, "0.8 < min 0.9"),
        ("max_drop", "failed", 0.8, 0.9, 0.88, "dropped 0.1 from the baseline, max_drop 0.02"),
        (
            "max_drop_pct",
            "failed",
            0.8,
            0.9,
            0.855,
            "dropped 11.1111% from the baseline, max_drop_pct 5%",
        ),
        ("max", "failed", 0.5, 0.4, 0.3, "0.5 > max 0.3"),
        ("max_increase", "failed", 0.5, 0.4, 0.45, "rose 0.1 from the baseline, max_increase 0.05"),
        (
            "max_increase_pct",
            "failed",
            0.5,
            0.4,
            0.44000000000000006,
            "rose 25% from the baseline, max_increase_pct 10%",
        ),
    ]


def test_a_value_exactly_at_the_limit_passes_despite_float_rounding() -> None:
    assert 0.3 + 0.6 < 0.9  # what a naive `value <= baseline + max_increase` would trip on
    gates = [Gate(metric="m", max_increase=0.6), Gate(metric="m", max_drop_pct=10)]
    results = evaluate_gates(gates, metrics("head", m=0.9), metrics("base", m=0.3))
    assert [r.status for r in results] == ["passed", "passed"]
    results = evaluate_gates(
        [Gate(metric="m", max_drop_pct=10)], metrics("head", m=0.27), metrics("base", m=0.3)
    )
    assert rows(results) == [
        (
            "max_drop_pct",
            "passed",
            0.27,
            0.3,
            0.27,
            "dropped 10% from the baseline, max_drop_pct 10%",
        )
    ]


def test_percentages_are_of_the_baseline_magnitude_and_a_zero_baseline_allows_no_change() -> None:
    gates = [Gate(metric="r2", max_drop_pct=50), Gate(metric="delta", max_increase_pct=50)]
    results = evaluate_gates(
        gates, metrics("head", r2=-0.6, delta=0.001), metrics("base", r2=-0.5, delta=0)
    )
    assert rows(results) == [
        (
            "max_drop_pct",
            "passed",
            -0.6,
            -0.5,
            -0.75,
            "dropped 20% from the baseline, max_drop_pct 50%",
        ),
        (
            "max_increase_pct",
            "failed",
            0.001,
            0.0,
            0.0,
            "rose 0.001 (baseline 0) from the baseline, max_increase_pct 50%",
        ),
    ]


def test_mlflow_rules_follow_the_direction_inferred_from_the_name() -> None:
    gates = [
        Gate(metric="val_loss", threshold=0.5, min_absolute_change=0.01),
        Gate(metric="f1", threshold=0.8, min_relative_change=0.05),
    ]
    results = evaluate_gates(
        gates, metrics("head", val_loss=0.45, f1=0.84), metrics("base", val_loss=0.5, f1=0.8)
    )
    assert rows(results) == [
        ("threshold", "passed", 0.45, 0.5, 0.5, "0.45 <= threshold 0.5 (lower is better)"),
        (
            "min_absolute_change",
            "passed",
            0.45,
            0.5,
            0.49,
            "improved by 0.05 on the baseline, min_absolute_change 0.01",
        ),
        ("threshold", "passed", 0.84, 0.8, 0.8, "0.84 >= threshold 0.8 (higher is better)"),
        (
            "min_relative_change",
            "failed",
            0.84,
            0.8,
            0.8400000000000001,
            "improved by 5% of |baseline|, min_relative_change 0.05 (5%)",
        ),
    ]


def test_an_unknown_direction_is_an_input_error_for_mlflow_rules_only() -> None:
    head, base = metrics("head", throughput_ratio=2.0, widgets=3), metrics("base")
    assert rows(evaluate_gates([Gate(metric="widgets", min=2)], head, base)) == [
        ("min", "passed", 3.0, None, 2.0, "3 >= min 2")
    ]
    with pytest.raises(GateError) as error:
        evaluate_gates([Gate(metric="widgets", threshold=2)], head, base)
    assert str(error.value) == (
        "gate on 'widgets': rule threshold needs to know whether higher or lower is better, and "
        "the metric's name does not say (set `direction: higher` or `direction: lower` on the gate)"
    )
    explicit = Gate(metric="widgets", threshold=2, direction="lower")
    assert [r.status for r in evaluate_gates([explicit], head, base)] == ["failed"]


def test_missing_metrics_fail_when_required_and_are_skipped_otherwise() -> None:
    head, base = metrics("head", accuracy=0.9), metrics("abc123", loss=0.2)
    gates = [
        Gate(metric="loss", max=0.3),
        Gate(metric="loss", max=0.3, required=False),
        Gate(metric="accuracy", min=0.8, max_drop=0.01),
        Gate(metric="accuracy", max_drop=0.01, required=False),
    ]
    assert rows(evaluate_gates(gates, head, base)) == [
        ("max", "failed", None, 0.2, None, "missing from the head metrics"),
        (
            "max",
            "skipped",
            None,
            0.2,
            None,
            "skipped: missing from the head metrics (required: false)",
        ),
        ("min", "passed", 0.9, None, 0.8, "0.9 >= min 0.8"),
        ("max_drop", "failed", 0.9, None, None, "missing from the baseline (abc123)"),
        (
            "max_drop",
            "skipped",
            0.9,
            None,
            None,
            "skipped: missing from the baseline (abc123) (required: false)",
        ),
    ]


def test_no_baseline_at_all_fails_or_skips_the_baseline_rules_and_says_why() -> None:
    gates = [
        Gate(metric="accuracy", min=0.8, max_drop=0.01),
        Gate(metric="accuracy", max_drop=0.01, required=False),
    ]
    results = evaluate_gates(
        gates, metrics("head", accuracy=0.9), None, base_unavailable="base branch 'main' not found"
    )
    assert [(r.rule, r.status, r.reason) for r in results] == [
        ("min", "passed", "0.9 >= min 0.8"),
        ("max_drop", "failed", "no baseline: base branch 'main' not found"),
        (
            "max_drop",
            "skipped",
            "skipped: no baseline: base branch 'main' not found (required: false)",
        ),
    ]


def test_warning_severity_warns_and_never_fails() -> None:
    gate = Gate(metric="loss", max=0.1, min=0.0, severity="warning", name="loss budget")
    results = evaluate_gates([gate], metrics("head", loss=0.2), metrics("base", loss=0.2))
    assert [(r.rule, r.status, r.severity, r.gate) for r in results] == [
        ("min", "passed", "warning", "loss budget"),
        ("max", "warned", "warning", "loss budget"),
    ]


def test_nan_fails_every_rule() -> None:
    gate = Gate(metric="accuracy", min=0.5, threshold=0.5, max_drop=0.1)
    results = evaluate_gates(
        [gate], metrics("head", accuracy=float("nan")), metrics("b", accuracy=0.9)
    )
    assert [(r.status, r.reason) for r in results] == [("failed", "the head value is NaN")] * 3


def test_a_text_value_under_a_numeric_rule_is_an_input_error() -> None:
    with pytest.raises(GateError) as error:
        evaluate_gates([Gate(metric="model", min=1)], metrics("h", model="resnet"), None)
    assert str(error.value) == (
        "metrics.json: gate on 'model': rule min needs a number, but the head value is 'resnet' (str)"
    )
    with pytest.raises(GateError) as error:
        evaluate_gates([Gate(metric="ok", max_drop=1)], metrics("h", ok=1), metrics("b", ok=True))
    assert str(error.value) == (
        "metrics.json: gate on 'ok': rule max_drop needs a number, but the base value is True (true/false)"
    )


def test_a_metric_in_several_files_needs_a_path() -> None:
    head = MetricSet("head", {"a.json": {"auc": 0.9}, "b.json": {"auc": 0.8}})
    with pytest.raises(GateError) as error:
        evaluate_gates([Gate(metric="auc", min=0.5)], head, None)
    assert str(error.value) == (
        "gate on 'auc': the head metrics define it in several files (a.json, b.json) "
        "(say which file with `path:` on the gate)"
    )
    results = evaluate_gates([Gate(metric="auc", min=0.85, path="b.json")], head, None)
    assert [(r.status, r.observed) for r in results] == [("failed", 0.8)]


# --- `mlci gate` ---------------------------------------------------------------------------------

CONFIG = """\
metrics:
  files: [metrics.json]
gates:
  - metric: accuracy
    min: 0.8
    max_drop: 0.01
  - metric: loss
    max_increase_pct: 10
    severity: warning
"""


@pytest.fixture
def pr(git_repo: GitRepo) -> GitRepo:
    git_repo.write("mlci.yaml", CONFIG)
    git_repo.write("metrics.json", '{"accuracy": 0.90, "loss": 0.40}')
    git_repo.commit("base")
    git_repo.git("checkout", "-q", "-b", "feature")
    return git_repo


def test_gate_passes_against_the_merge_base(mlci: Invoker, pr: GitRepo) -> None:
    pr.write("metrics.json", '{"accuracy": 0.895, "loss": 0.41}')
    result = mlci("gate", cwd=pr.path)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "mlci report: PASSED: gates 3 passed",
        "compared with: merge-base(HEAD, main)",
        "",
        "Gates",
        "Metric    Rule              Observed  Baseline  Limit  Verdict  Why",
        "--------  ----------------  --------  --------  -----  -------  -------------------------------------------------",
        "accuracy  min                  0.895       0.9    0.8  pass     0.895 >= min 0.8",
        "accuracy  max_drop             0.895       0.9   0.89  pass     dropped 0.005 from the baseline, max_drop 0.01",
        "loss      max_increase_pct      0.41       0.4   0.44  pass     rose 2.5% from the baseline, max_increase_pct 10%",
    ]


def test_gate_fails_with_exit_1_and_warnings_do_not(mlci: Invoker, pr: GitRepo) -> None:
    pr.write("metrics.json", '{"accuracy": 0.85, "loss": 0.8}')
    result = mlci("gate", "--format", "json", cwd=pr.path)
    assert result.exit_code == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["status"] == "failed"
    assert report["counts"]["gates"] == {"passed": 1, "failed": 1, "warned": 1, "skipped": 0}
    assert [(g["metric"], g["rule"], g["status"]) for g in report["gates"]] == [
        ("accuracy", "min", "passed"),
        ("accuracy", "max_drop", "failed"),
        ("loss", "max_increase_pct", "warned"),
    ]
    pr.write("metrics.json", '{"accuracy": 0.9, "loss": 0.8}')
    assert mlci("gate", cwd=pr.path).exit_code == 0


def test_gate_markdown_to_a_file_and_base_option(
    mlci: Invoker, pr: GitRepo, tmp_path: Path
) -> None:
    pr.write("metrics.json", '{"accuracy": 0.95, "loss": 0.3}')
    pr.commit("better")
    pr.write("metrics.json", '{"accuracy": 0.94, "loss": 0.3}')
    out = tmp_path / "gates.md"
    result = mlci("gate", "--base", "HEAD", "-o", out, cwd=pr.path)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[:2] == [
        "mlci report: PASSED: gates 3 passed",
        "compared with: HEAD",
    ]
    assert (
        "| 0.94 | 0.95 | 0.94 | dropped 0.01 from the baseline, max\\_drop 0.01 |"
        in out.read_text()
    )
    pr.write("metrics.json", '{"accuracy": 0.93, "loss": 0.3}')
    result = mlci("gate", "--base", "HEAD", "--format", "markdown", cwd=pr.path)
    assert result.exit_code == 1
    assert (
        "| 0.93 | 0.95 | 0.94 | dropped 0.02 from the baseline, max\\_drop 0.01 |" in result.stdout
    )


def test_gate_without_a_base_branch_fails_required_baseline_rules(
    mlci: Invoker, git_repo: GitRepo
) -> None:
    git_repo.write("mlci.yaml", CONFIG.replace("severity: warning", "required: false"))
    git_repo.write("metrics.json", '{"accuracy": 0.90, "loss": 0.40}')
    git_repo.commit("only commit")
    git_repo.git("branch", "-m", "main", "trunk")
    result = mlci("gate", "--format", "json", cwd=git_repo.path)
    assert result.exit_code == 1, result.stderr
    why = (
        "no base branch found (tried origin/main, main, origin/master, master) (fetch it "
        "(`git fetch origin main`), set `baseline.branch`, or pass --base REV)"
    )
    assert [(g["rule"], g["status"], g["reason"]) for g in json.loads(result.stdout)["gates"]] == [
        ("min", "passed", "0.9 >= min 0.8"),
        ("max_drop", "failed", f"no baseline: {why}"),
        ("max_increase_pct", "skipped", f"skipped: no baseline: {why} (required: false)"),
    ]


def test_gate_on_an_unknown_metric_exits_2_with_did_you_mean(mlci: Invoker, pr: GitRepo) -> None:
    pr.write("mlci.yaml", CONFIG + "  - metric: acuracy\n    min: 0.5\n")
    result = mlci("gate", cwd=pr.path)
    assert result.exit_code == 2
    assert result.stderr == (
        "mlci: error: gate on 'acuracy': no such metric in the head or the base metrics "
        "(did you mean 'accuracy'?)\n"
    )
    assert "accuracy  max_drop" in result.stdout  # the other gates still ran


def test_gate_on_a_text_metric_exits_2(mlci: Invoker, pr: GitRepo) -> None:
    pr.write("metrics.json", '{"accuracy": "high", "loss": 0.4}')
    result = mlci("gate", cwd=pr.path)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        "mlci: error: metrics.json: gate on 'accuracy': rule min needs a number, but the head "
        "value is 'high' (str)"
    )


@pytest.mark.parametrize(
    ("gate", "message"),
    [
        (
            "min: 0.9\n    max: 0.8",
            "mlci.yaml:2:5: gates[0]: gate on 'accuracy': min 0.9 > max 0.8",
        ),
        (
            "max_drop: -0.1",
            "mlci.yaml:2:5: gates[0]: gate on 'accuracy': max_drop must not be negative",
        ),
        (
            "threshold: 0.9\n    direction: lower\n    greater_is_better: true",
            "mlci.yaml:2:5: gates[0]: gate on 'accuracy': direction 'lower' contradicts greater_is_better true",
        ),
        (
            "direction: up\n    min: 1",
            "mlci.yaml:3:16: gates[0].direction: 'up' is not one of: higher, lower (allowed: higher, lower)",
        ),
        (
            "severity: fatal\n    min: 1",
            "mlci.yaml:3:15: gates[0].severity: 'fatal' is not one of: error, warning (allowed: error, warning)",
        ),
        (
            "required: false",
            "mlci.yaml:2:5: gates[0]: gate on 'accuracy' has no rule (min, max, max_drop, ...)",
        ),
    ],
)
def test_contradictory_or_invalid_gates_are_refused_by_the_config(
    mlci: Invoker, tmp_path: Path, gate: str, message: str
) -> None:
    (tmp_path / "mlci.yaml").write_text(f"gates:\n  - metric: accuracy\n    {gate}\n")
    result = mlci("gate", cwd=tmp_path)
    assert result.exit_code == 2
    assert result.stderr == f"mlci: error: {message}\n"


def test_check_on_the_iris_example_shows_gate_rows(
    mlci: Invoker, tmp_path: Path, trained_iris: Path
) -> None:
    example = shutil.copytree(trained_iris, tmp_path / "iris")
    result = mlci("-C", example, "check", "--format", "json")
    assert result.exit_code == 0, result.stdout + result.stderr
    gates = json.loads(result.stdout)["gates"]
    assert [(g["metric"], g["rule"], g["status"]) for g in gates] == [
        ("accuracy", "min", "passed"),
        ("accuracy", "max_drop", "passed"),
        ("accuracy", "significance", "passed"),
        ("f1_macro", "min", "passed"),
        ("log_loss", "max_increase_pct", "passed"),
    ]
    assert gates[2]["details"]["mcnemar_p_value"] == 0.5


def test_an_unknown_metric_without_a_baseline_says_the_baseline_is_missing_too() -> None:
    with pytest.raises(GateError) as error:
        evaluate_gates(
            [Gate(metric="auc", min=0.5)], metrics("h", loss=1), None, base_unavailable="no git"
        )
    assert str(error.value) == (
        "gate on 'auc': no such metric in the head metrics (and no baseline: no git) "
        "(the metrics are: loss)"
    )
