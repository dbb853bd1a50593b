"""The `train` step: what `mlci train` did for these inputs (`train:` in mlci.yaml), and the
imports the declaration misses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlci.pipeline.context import CheckContext
from mlci.report.model import Report

if TYPE_CHECKING:
    from mlci.config_file import ConfigFile
    from mlci.report.model import TrainResult


def run(context: CheckContext, report: Report) -> None:
    report.train = train_result(context.config)


def train_result(config: ConfigFile) -> TrainResult | None:
    """None when mlci.yaml declares no training."""
    from mlci.report.model import TrainResult
    from mlci.training.cache import OutputsCache
    from mlci.training.imports import undeclared_imports
    from mlci.training.run import plan_training, uses_dvc

    settings = config.config.train if config.explicit else None
    if settings is None:
        return None
    if uses_dvc(config, settings):
        last = OutputsCache(config.resolve(settings.cache_dir)).last_run()
        if last is None:
            return None
        record, skipped = last
        return TrainResult(
            skipped=skipped, inputs_hash=record.inputs_hash, commit=record.commit, engine="dvc"
        )
    plan = plan_training(config)
    missing = undeclared_imports(
        settings.command, plan.root, [item.path for item in plan.inputs.files]
    )
    last = plan.cache.last_run()
    if last is None or last[0].inputs_hash != plan.inputs_hash:
        # Trained by hand, or not since the inputs changed: say so rather than guess.
        return TrainResult(
            skipped=False, inputs_hash=plan.inputs_hash, stale=True, undeclared_imports=missing
        )
    record, skipped = last
    return TrainResult(
        skipped=skipped,
        inputs_hash=record.inputs_hash,
        commit=record.commit,
        seconds=record.seconds,
        undeclared_imports=missing,
    )
