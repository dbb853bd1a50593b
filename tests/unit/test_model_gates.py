"""Gates and the model diff: its metrics fill in for missing metric files, slice rules name the
worst slice, and a failed threshold within noise says so."""

from __future__ import annotations

import pytest

from mlci.checks.gates import GateError, iter_gate_results
from mlci.checks.model_gates import note_noise, slice_gate_results, with_model_metrics
from mlci.config import Gate
from mlci.report.model_diff import Examples, ModelDiff, SliceChange, ValueChange
from mlci.sources.metrics import MetricSet


def model() -> ModelDiff:
    def change(old: float, new: float) -> ValueChange:
        return ValueChange(old=old, new=new, direction="higher")

    diff = ModelDiff(
        task="multiclass",
        base="base.csv",
        head="predictions.csv",
        examples=Examples(head=500, base=500, paired=500),
        metrics={
            "accuracy": ValueChange(
                0.90, 0.885, ci_low=-0.04, ci_high=0.01, significant=False, direction="higher"
            ),
            "f1_macro": change(0.80, 0.82),
        },
        confidence=0.95,
    )
    diff.slices = [
        SliceChange("region", "north", 300, {"accuracy": change(0.90, 0.93)}),
        SliceChange("region", "east", 150, {"accuracy": change(0.92, 0.85)}),
        SliceChange("region", "(other)", 50, {"accuracy": change(0.80, 0.79)}, grouped=["a", "b"]),
    ]
    return diff


def test_model_metrics_fill_in_only_what_no_metrics_file_has() -> None:
    files = MetricSet(label="abc123", data={"metrics.json": {"accuracy": 0.5}})
    head = with_model_metrics(files, model(), "new")
    assert head is not None
    assert head.data == {"metrics.json": {"accuracy": 0.5}, "predictions": {"f1_macro": 0.82}}
    assert with_model_metrics(None, model(), "old") is None  # no baseline stays no baseline
    (result,) = iter_gate_results(
        Gate(metric="f1_macro", max_drop=0.0),
        head,
        with_model_metrics(MetricSet(label="base"), model(), "old"),
    )
    assert result.status == "passed"
    assert result.baseline == 0.80


def test_slice_rules_report_the_worst_slice_by_name() -> None:
    gate = Gate(metric="test_accuracy", min=0.8, max_drop=0.02, slices=True)
    found = {result.rule: result for result in slice_gate_results(gate, model())}
    assert set(found) == {"min (slices)", "max_drop (slices)"}
    drop = found["max_drop (slices)"]
    assert drop.status == "failed"
    assert drop.reason.startswith("1 of 3 slices fail (region=east); worst region=east (n=150)")
    assert drop.details["failing_slices"] == [{"column": "region", "value": "east", "support": 150}]
    minimum = found["min (slices)"]
    assert minimum.status == "failed"  # (other) is at 0.79, under the min of 0.8
    assert "region=(other: 2 values)" in minimum.reason
    warning = Gate(metric="accuracy", max_drop=0.02, slices=["region"], severity="warning")
    (warned,) = slice_gate_results(warning, model())
    assert warned.status == "warned"


def test_slices_need_a_metric_the_model_diff_has_per_slice() -> None:
    with pytest.raises(GateError, match="computes per slice"):
        slice_gate_results(Gate(metric="latency_ms", max=3, slices=True), model())


def test_a_failed_threshold_within_noise_says_so() -> None:
    head = MetricSet(label="head", data={"m.json": {"accuracy": 0.885}})
    base = MetricSet(label="base", data={"m.json": {"accuracy": 0.90}})
    results = list(iter_gate_results(Gate(metric="accuracy", max_drop=0.01), head, base))
    note_noise(results, model())
    (result,) = results
    assert result.status == "failed"
    assert result.reason.endswith(
        "; the change is within noise on the paired predictions (95% CI [-0.04, +0.01])"
    )
    assert result.details["within_noise"] is True
