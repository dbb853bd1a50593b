"""The `train` step: what `mlci train` did for these inputs (`train:` in mlci.yaml)."""

from __future__ import annotations

from mlci.pipeline.context import CheckContext
from mlci.report.model import Report


def run(context: CheckContext, report: Report) -> None:
    from mlci.training.step import train_step as report_training

    report_training(context.config, report)
