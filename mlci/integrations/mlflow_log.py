"""Logging an evaluation to MLflow: metrics, params, the predictions file, the model and the tags
that tie the run to its commit and pull request. Used by `mlci evaluate --mlflow`,
`mlci mlflow log` and the `log` step of `mlci check`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from mlci.config_file import ConfigFile
from mlci.errors import InputFileError
from mlci.integrations.mlflow import (
    MODEL_DIR,
    PREDICTIONS_DIR,
    LoggedRun,
    experiment_for,
    metrics_to_log,
    mlflow_key,
    open_tracking,
    params_to_log,
    run_tags,
    tracking_uri_for,
)
from mlci.integrations.provenance import detect_provenance
from mlci.sources.git import Git
from mlci.sources.metric_files import Scalar
from mlci.sources.metrics import MetricSet


def log_evaluation(
    config: ConfigFile,
    *,
    metrics: MetricSet | Mapping[str, float],
    params: MetricSet | Mapping[str, Scalar] | None = None,
    predictions: Path | None = None,
    model: Path | None = None,
    artifacts: Sequence[Path] = (),
    run_name: str | None = None,
    env: Mapping[str, str],
    git: Git | None,
    tracking_uri: str | None = None,
    experiment: str | None = None,
    actions: Mapping[str, str] | None = None,
) -> LoggedRun:
    """Record one evaluation as a finished MLflow run and return what was logged.

    `actions`: the GitHub Actions environment already read (its event payload parsed), for the
    run's provenance; by default it is read from `env`.

    `metrics`/`params` are a MetricSet (keys as `mlci diff` shows them) or a flat mapping.
    The predictions file goes to `predictions/`, the model to `model/` (which `mlci promote`
    registers), and the run is tagged with the commit (the PR head in a pull_request job),
    branch, PR number and mlci version.
    """
    metric_values = metrics_to_log(metrics) if isinstance(metrics, MetricSet) else _flat(metrics)
    if params is None:
        param_values: dict[str, str] = {}
    elif isinstance(params, MetricSet):
        param_values = params_to_log(params)
    else:
        param_values = params_to_log(MetricSet(label="params", data={"params": dict(params)}))
    uploads: list[tuple[Path, str | None]] = []
    predictions_artifact = None
    if predictions is not None:
        _must_exist(predictions, "predictions file")
        uploads.append((predictions, PREDICTIONS_DIR))
        predictions_artifact = f"{PREDICTIONS_DIR}/{predictions.name}"
    if model is not None:
        _must_exist(model, "model")
        uploads.append((model, MODEL_DIR))
    for artifact in artifacts:
        _must_exist(artifact, "artifact")
        uploads.append((artifact, None))
    provenance = detect_provenance(actions if actions is not None else env, git)
    uri = tracking_uri or tracking_uri_for(config, env, git)
    with open_tracking(uri) as tracking:
        return tracking.log_run(
            experiment=experiment or experiment_for(config, env, git),
            run_name=run_name or config.config.mlflow.run_name,
            metrics=metric_values,
            params=param_values,
            tags=run_tags(provenance, predictions=predictions_artifact),
            artifacts=uploads,
        )


def estimator_params(model: object) -> dict[str, Scalar]:
    """A scikit-learn estimator's own hyperparameters (`get_params(deep=False)`) that are plain
    values, plus its class name: what `mlci evaluate --mlflow` logs as params."""
    params: dict[str, Scalar] = {"estimator": type(model).__name__}
    get_params = getattr(model, "get_params", None)
    if callable(get_params):
        for name, value in sorted(get_params(deep=False).items()):
            if value is None:
                params[str(name)] = "None"
            elif isinstance(value, bool | int | float | str):
                params[str(name)] = value
    return params


def _flat(metrics: Mapping[str, float]) -> dict[str, float]:
    values = {}
    for name, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        values[mlflow_key(name)] = float(value)
    return values


def _must_exist(path: Path, what: str) -> None:
    if not path.exists():
        raise InputFileError(f"{what} to log to MLflow does not exist", path=path)


def configured_predictions(config: ConfigFile) -> Path | None:
    """The head predictions file later PRs compare with: the `predictions:` section's, else the
    first significance gate's."""
    if config.config.predictions is not None:
        return config.resolve(config.config.predictions.path)
    for gate in config.config.gates:
        if gate.significance is not None:
            return config.resolve(gate.significance.predictions)
    return None
