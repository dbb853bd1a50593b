"""The `log` step (`mlflow: {log: true}`): the head's metrics, params, predictions, model and
artifacts become one MLflow run."""

from __future__ import annotations

from mlci.pipeline.context import CheckContext
from mlci.report.model import MlflowRunRef, Report


def run(context: CheckContext, report: Report) -> None:
    config = context.config
    options = config.config.mlflow
    if not options.log:
        return
    from mlci.integrations.mlflow_log import configured_predictions, log_evaluation

    predictions = configured_predictions(config)
    logged = log_evaluation(
        config,
        metrics=context.head_metrics(),
        params=context.head_metrics("params"),
        predictions=predictions if predictions is not None and predictions.exists() else None,
        model=config.resolve(options.model_path) if options.model_path else None,
        artifacts=[config.resolve(path) for path in options.artifacts],
        env=context.env,
        actions=context.actions,
        git=context.git,
    )
    report.mlflow_run = MlflowRunRef(
        run_id=logged.run_id, experiment=logged.experiment, tracking_uri=logged.tracking_uri
    )
