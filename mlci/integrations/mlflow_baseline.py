"""Baselines from MLflow: the run logged for the base commit, a run id, the newest run matching a
search filter, or the model version behind a registry alias (`models:/NAME@champion`) — its
metrics and params for the diff and gates, its logged predictions for the significance gate."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mlci.config import BASELINE_RULES, Config, MlflowBaseline
from mlci.config_file import ConfigFile
from mlci.errors import ConfigError
from mlci.integrations.mlflow import (
    PREDICTIONS_DIR,
    PREDICTIONS_TAG,
    MlflowError,
    ModelVersion,
    Run,
    Tracking,
    commit_filter,
)
from mlci.sources.metrics import MetricSet

_MODEL_URI = re.compile(
    r"^(?:models:/)?(?P<name>[^@/]+?)(?:@(?P<alias>[\w\-]+)|/(?P<version>\d+))$"
)


@dataclass
class BaselineRun:
    run: Run
    label: str
    """Shown as: `models:/churn@champion (version 3)`, `mlflow run 1a2b (commit 9f8e)`."""
    model_version: ModelVersion | None = None


@dataclass(frozen=True)
class ModelReference:
    name: str
    alias: str | None = None
    version: str | None = None

    def __str__(self) -> str:
        return (
            f"models:/{self.name}@{self.alias}"
            if self.alias
            else f"models:/{self.name}/{self.version}"
        )


def parse_model_uri(text: str) -> ModelReference:
    """`models:/NAME@ALIAS`, `models:/NAME/VERSION` (the `models:/` prefix may be left out)."""
    match = _MODEL_URI.match(text.strip())
    if match is None:
        raise ConfigError(
            f"baseline.mlflow.model {text!r} is not a model URI",
            hint="write models:/NAME@ALIAS (like models:/churn@champion) or models:/NAME/VERSION",
        )
    return ModelReference(name=match["name"], alias=match["alias"], version=match["version"])


def resolve_model(tracking: Tracking, reference: ModelReference) -> ModelVersion:
    if reference.version is not None:
        return tracking.model_version(reference.name, reference.version)
    assert reference.alias is not None
    version = tracking.version_by_alias(reference.name, reference.alias)
    if version is None:
        raise MlflowError(
            f"registered model {reference.name!r} has no alias {reference.alias!r} at "
            f"{tracking.shown_uri}",
            hint=f"set it with `mlci promote --model {reference.name} --alias {reference.alias} "
            "--run RUN_ID`",
        )
    return version


def find_baseline_run(
    tracking: Tracking,
    options: MlflowBaseline,
    *,
    experiment: str,
    base_commit: Callable[[], str],
) -> BaselineRun:
    """The run the head is compared with, chosen by the first of model, run, filter given;
    by default the newest finished run tagged with the base commit."""
    if options.model:
        reference = parse_model_uri(options.model)
        version = resolve_model(tracking, reference)
        if version.run_id is None:
            raise MlflowError(
                f"{reference} (version {version.version}) has no run at {tracking.shown_uri}",
                hint="mlci reads a model's metrics from the run that produced it; "
                "register versions from runs",
            )
        return BaselineRun(
            run=tracking.get_run(version.run_id),
            label=f"{reference} (version {version.version})",
            model_version=version,
        )
    if options.run:
        run = tracking.get_run(options.run)
        return BaselineRun(run=run, label=run.label())
    experiment_id = tracking.experiment_id(experiment, create=False)
    if experiment_id is None:
        raise MlflowError(
            f"MLflow experiment {experiment!r} not found at {tracking.shown_uri}",
            hint="log a run on the base branch first, or set baseline.mlflow.experiment",
        )
    if options.filter:
        runs = tracking.search_runs([experiment_id], options.filter)
        if not runs:
            raise MlflowError(
                f"no MLflow run in experiment {experiment!r} matches {options.filter!r} "
                f"at {tracking.shown_uri}"
            )
        return BaselineRun(run=runs[0], label=runs[0].label())
    sha = base_commit()
    runs = tracking.search_runs(
        [experiment_id], f"{commit_filter(sha)} and attributes.status = 'FINISHED'"
    )
    if not runs:
        raise MlflowError(
            f"no MLflow run for the base commit {sha[:12]} in experiment {experiment!r} at "
            f"{tracking.shown_uri}",
            hint="log one on the base branch (`mlci evaluate --mlflow`, or `mlflow: {log: true}` "
            "with `mlci check`), or compare with a model: baseline.mlflow.model",
        )
    return BaselineRun(run=runs[0], label=runs[0].label())


def mlflow_options(config: Config) -> MlflowBaseline:
    options = config.baseline.mlflow
    if options is None:  # Baseline.__post_init__ requires it for `source: mlflow`
        raise ConfigError("baseline `source: mlflow` needs an `mlflow:` section")
    return options


def check_gated_metrics(
    config: ConfigFile, head: MetricSet, base: MetricSet, found: BaselineRun
) -> None:
    """A run that lacks a metric a required gate compares against is an input error (exit 2)."""
    for gate in config.config.gates:
        if not gate.required or all(getattr(gate, rule) is None for rule in BASELINE_RULES):
            continue
        if head.lookup(gate.metric, gate.path) and not base.lookup(gate.metric, gate.path):
            have = ", ".join(sorted(found.run.metrics)) or "none"
            raise MlflowError(
                f"{found.label} has no metric {gate.metric!r}, which a gate compares against "
                f"(it has: {have})",
                hint="log the metric in the baseline run, or choose another baseline",
            )


def download_predictions(tracking: Tracking, run: Run, directory: Path) -> Path | None:
    artifact = run.tags.get(PREDICTIONS_TAG)
    if artifact is None:
        listed = [
            path
            for path in tracking.list_artifacts(run.run_id, PREDICTIONS_DIR)
            if path != PREDICTIONS_DIR
        ]
        if len(listed) != 1:
            return None
        artifact = listed[0]
    return tracking.download_artifact(run.run_id, artifact, directory)
