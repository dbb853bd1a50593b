"""Gate-guarded promotion: the gates of mlci.yaml decide whether `mlci promote` may move a
registered model's alias (mlci/integrations/promote.py moves it)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from mlci.checks.gates import evaluate_gates
from mlci.config import BASELINE_RULES, Significance
from mlci.config_file import ConfigFile
from mlci.errors import BaselineUnavailable
from mlci.integrations.mlflow import MlflowError, Run, Tracking, run_metric_set
from mlci.integrations.mlflow_baseline import download_predictions
from mlci.integrations.promote import GateCheck
from mlci.report.model import GateResult
from mlci.sources.predictions import Predictions


def config_gate_check(
    config: ConfigFile, tracking: Tracking, *, model: str, alias: str
) -> GateCheck | None:
    """The gates of mlci.yaml over two runs; None when it declares none.

    The candidate's metrics are the head, the holder's the baseline; significance rules compare
    the predictions both runs logged. With no holder yet there is no baseline, and the rules
    that need one are skipped rather than failed: the first promotion has nothing to beat.
    """
    if not config.config.gates:
        return None
    known = list(config.config.metrics.files)

    def check(candidate: Run, holder: Run | None) -> list[GateResult]:
        head = run_metric_set(candidate.metrics, known, candidate.label())
        base = run_metric_set(holder.metrics, known, holder.label()) if holder else None
        with tempfile.TemporaryDirectory(prefix="mlci-promote-") as directory:
            loader = RunPredictions(tracking, candidate, holder, Path(directory))
            results = evaluate_gates(
                config,
                head,
                base,
                base_unavailable=f"no version holds {model}@{alias} yet",
                predictions=loader,
            )
        if holder is None:
            for result in results:
                if result.rule in (*BASELINE_RULES, "significance") and result.status != "passed":
                    result.status = "skipped"
                    result.reason = f"skipped: no version holds {model}@{alias} yet"
        return results

    return check


@dataclass
class RunPredictions:
    """Loads a significance rule's predictions from the two runs' `predictions/` artifacts."""

    tracking: Tracking
    candidate: Run
    holder: Run | None
    directory: Path

    def __call__(self, options: Significance) -> tuple[Predictions, Predictions]:
        from mlci.sources.predictions import read_predictions

        head_path = download_predictions(self.tracking, self.candidate, self.directory / "head")
        if head_path is None:
            raise MlflowError(
                f"{self.candidate.label()} logged no predictions, which the significance gate "
                f"on {options.predictions!r} needs",
                hint="log them with `mlci mlflow log --predictions FILE`",
            )
        if self.holder is None:
            raise BaselineUnavailable("no version holds the alias yet")
        base_path = download_predictions(self.tracking, self.holder, self.directory / "base")
        if base_path is None:
            raise BaselineUnavailable(f"{self.holder.label()} logged no predictions")
        return (
            read_predictions(head_path, label=f"predictions of {self.candidate.label()}"),
            read_predictions(base_path, label=f"predictions of {self.holder.label()}"),
        )
