"""One entry for `mlci train`: DVC's repro in a DVC repository, the inputs hash otherwise."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlci.training.cache import OutputsCache
from mlci.training.run import (
    Echo,
    TrainOutcome,
    plan_training,
    run_training,
    train_settings,
    uses_dvc,
)

if TYPE_CHECKING:
    from mlci.config_file import ConfigFile


def train_project(
    config: ConfigFile, *, force: bool = False, echo: Echo | None = None
) -> TrainOutcome:
    settings = train_settings(config)
    if uses_dvc(config, settings):
        from mlci.training.dvc import dvc_repro

        outcome = dvc_repro(config.root, force=force, echo=echo)
        cache = OutputsCache(config.resolve(settings.cache_dir))
        cache.write_last_run(outcome.record, skipped=outcome.skipped)
        return outcome
    return run_training(plan_training(config), force=force, echo=echo)
