"""The `gates` step: every gate of mlci.yaml (limits, the baseline, MLflow's rules,
significance) into `report.gates`."""

from __future__ import annotations

from dataclasses import dataclass, field

from mlci.checks.gates import iter_gate_results
from mlci.config import Significance
from mlci.errors import MlciError
from mlci.pipeline.context import CheckContext
from mlci.report.model import Problem, Report
from mlci.sources.metrics import MetricSet
from mlci.sources.predictions import Predictions


@dataclass
class BaselinePredictions:
    """Loads the predictions of significance rules: the head from the work tree, the base from
    `base_predictions` when given, else from the baseline."""

    context: CheckContext
    _cache: dict[tuple[str, str], Predictions] = field(default_factory=dict)

    def __call__(self, options: Significance) -> tuple[Predictions, Predictions]:
        from mlci.sources.predictions import read_predictions

        config = self.context.config
        key = ("head", options.predictions)
        if key not in self._cache:
            self._cache[key] = read_predictions(
                config.resolve(options.predictions), label=options.predictions
            )
        head = self._cache[key]
        base_key = ("base", options.base_predictions or options.predictions)
        if base_key not in self._cache:
            if options.base_predictions:
                self._cache[base_key] = read_predictions(
                    config.resolve(options.base_predictions), label=options.base_predictions
                )
            else:
                self._cache[base_key] = self.context.baseline.predictions(options.predictions)
        return head, self._cache[base_key]


def run(context: CheckContext, report: Report) -> None:
    """A gate that cannot be evaluated becomes a Problem while the other gates still run."""
    gates = context.config.config.gates
    if not gates:
        return
    head = context.head_metrics()
    base: MetricSet | None = None
    unavailable = None
    try:
        base = context.base_metrics()
    except MlciError as error:
        unavailable = str(error)
    if base is not None and report.base is None:
        report.base = context.base_label()
    loader = BaselinePredictions(context)
    for gate in gates:
        try:
            for result in iter_gate_results(
                gate, head, base, base_unavailable=unavailable, predictions=loader
            ):
                report.gates.append(result)
        except MlciError as error:
            report.problems.append(
                Problem(check="gates", message=str(error), path=error.path, line=error.line)
            )
