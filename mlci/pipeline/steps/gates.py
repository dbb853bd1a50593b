"""The `gates` step: every gate of mlci.yaml (limits, the baseline, MLflow's rules,
significance) into `report.gates`."""

from __future__ import annotations

from mlci.checks.gates import iter_gate_results
from mlci.errors import MlciError
from mlci.pipeline.baseline import NoBaseline
from mlci.pipeline.context import CheckContext
from mlci.report.model import Problem, Report
from mlci.sources.metrics import MetricSet


def run(context: CheckContext, report: Report) -> None:
    """A gate that cannot be evaluated becomes a Problem while the other gates still run. With a
    model diff (the `model` step ran first) gates also read its metrics, apply to its slices,
    and a failed threshold within noise says so."""
    gates = context.config.config.gates
    if not gates:
        return
    from mlci.checks.model_gates import note_noise, slice_gate_results, with_model_metrics

    head = context.head_metrics()
    base: MetricSet | None = None
    unavailable = None
    try:
        base = context.base_metrics()
    except MlciError as error:
        unavailable = str(error)
    if base is not None and report.base is None:
        report.base = context.base_label()
    head = with_model_metrics(head, report.model, "new") or head
    base = with_model_metrics(base, report.model, "old")
    loader = context.predictions
    baseline = context.baseline
    no_base_yet = baseline.reason if isinstance(baseline, NoBaseline) else None
    for gate in gates:
        try:
            for result in iter_gate_results(
                gate,
                head,
                base,
                base_unavailable=unavailable,
                predictions=loader,
                no_base_yet=no_base_yet,
            ):
                report.gates.append(result)
            report.gates += slice_gate_results(gate, report.model)
        except MlciError as error:
            report.problems.append(
                Problem(check="gates", message=str(error), path=error.path, line=error.line)
            )
    note_noise(report.gates, report.model)
