"""`mlci evaluate`: scikit-learn metrics and per-example predictions of a saved model."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mlci.cli.state import CliState, choice_format_option, pass_state


@click.command()
@click.option(
    "--model",
    "model_path",
    type=click.Path(path_type=Path),
    metavar="PATH",
    help="A fitted scikit-learn estimator saved with joblib or pickle. Loading it runs code "
    "from the file: load only files you trust. Without it, --predictions is read instead.",
)
@click.option(
    "--data",
    "data_path",
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="Evaluation data (CSV, TSV, Parquet, JSON, JSON Lines); needed with --model.",
)
@click.option("--target", required=True, metavar="COL", help="Column with the true value.")
@click.option(
    "--prediction",
    "prediction_column",
    default="prediction",
    show_default=True,
    metavar="COL",
    help="Without --model: the column with the model's prediction.",
)
@click.option(
    "--id",
    "id_column",
    metavar="COL",
    help="Column identifying each example (default: the row number).",
)
@click.option(
    "--task",
    type=click.Choice(["classification", "regression", "binary", "multiclass"]),
    default=None,
    help="Default: from the estimator (is_classifier / is_regressor), or without --model from "
    "the predictions (probabilities or labels that are not numbers mean classification).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="Write the metrics to FILE as JSON (a metrics file for `mlci diff` and the gates).",
)
@click.option(
    "--predictions",
    "predictions_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="With --model: write per-example predictions (id, target, prediction, proba_<class>) "
    "to FILE (.parquet or .csv), for the significance gate and the model diff. Without --model: "
    "read them from FILE (CSV, TSV, Parquet, JSON Lines) and score them; any framework can "
    "write it.",
)
@choice_format_option("text", "json")
@click.option(
    "--mlflow",
    "log_to_mlflow",
    is_flag=True,
    help="Also log the metrics, the model's params, the predictions and the model file as an "
    "MLflow run tagged with the commit and PR (needs mlci[mlflow]; tracking URI from mlci.yaml "
    "or MLFLOW_TRACKING_URI).",
)
@pass_state
def evaluate(
    state: CliState,
    model_path: Path | None,
    data_path: Path | None,
    target: str,
    prediction_column: str,
    id_column: str | None,
    task: str | None,
    output: Path | None,
    predictions_path: Path | None,
    output_format: str,
    log_to_mlflow: bool,
) -> int:
    """Score a scikit-learn model, or a predictions file written by any framework.

    With `--model` and `--data`: the model's predictions on the data, scored with
    scikit-learn's metrics. With `--predictions FILE` and no `--model`: the predictions in the
    file (id, target, prediction, optional proba_<class> columns), no code loaded.

    Classification: accuracy, balanced_accuracy, precision/recall/f1 (macro and weighted), and
    roc_auc (one-vs-rest macro) and log_loss when the model has predict_proba (or the file has
    proba_<class> columns). Regression: rmse, mae, r2, mape. A model needs
    `pip install 'mlci[sklearn]'`; a predictions file needs `mlci[data]`.

    WARNING: a pickle or joblib file can run any code when it is loaded. Evaluate only model
    files you trust (your own training job's output, not a file from a pull request of a fork).
    """
    from mlci.cli.state import write_output

    if model_path is None:
        if predictions_path is None:
            raise click.UsageError("give --model PATH --data FILE, or --predictions FILE")
        if data_path is not None:
            raise click.UsageError("--data needs --model (without it, --predictions is scored)")
        if log_to_mlflow:
            raise click.UsageError("--mlflow needs --model")
        return _evaluate_predictions(
            predictions_path,
            target=target,
            prediction=prediction_column,
            id_column=id_column,
            task=task,
            output=output,
            output_format=output_format,
        )
    if data_path is None:
        raise click.UsageError("--model needs --data FILE to score it on")
    from mlci.integrations.sklearn_eval import evaluate_model, load_model, write_predictions
    from mlci.sources.data_files import open_data_file, read_frame

    model = load_model(model_path)
    frame = read_frame(open_data_file(data_path))
    result = evaluate_model(
        model,
        frame,
        target=target,
        id_column=id_column,
        task=task,  # type: ignore[arg-type]
        data_path=data_path,
    )
    metrics_json = json.dumps(result.metrics, indent=2) + "\n"
    if output is not None:
        write_output(output, metrics_json)
    if predictions_path is not None:
        write_predictions(result.predictions, predictions_path)
    logged_run = None
    if log_to_mlflow:
        import os

        from mlci.integrations.mlflow_log import estimator_params, log_evaluation
        from mlci.sources.git import Git

        config = state.config(required=False)
        logged_run = log_evaluation(
            config,
            metrics=result.metrics,
            params={"task": result.task, "data": str(data_path), **estimator_params(model)},
            predictions=predictions_path,
            model=model_path,
            env=dict(os.environ),
            git=Git(config.root),
        )
    if output_format == "json":
        click.echo(metrics_json, nl=False)
        if logged_run is not None:
            click.echo(f"logged MLflow run {logged_run.run_id}", err=True)
        return 0
    click.echo(f"{result.model} on {data_path} ({result.examples} examples, {result.task})")
    width = max(len(name) for name in result.metrics)
    for name, value in result.metrics.items():
        click.echo(f"  {name.ljust(width)}  {value:.6g}")
    for path, what in ((output, "metrics"), (predictions_path, "predictions")):
        if path is not None:
            click.echo(f"wrote {what} to {path}")
    if logged_run is not None:
        click.echo(
            f"logged MLflow run {logged_run.run_id} to experiment {logged_run.experiment!r} "
            f"at {logged_run.tracking_uri}"
        )
    return 0


def _evaluate_predictions(
    path: Path,
    *,
    target: str,
    prediction: str,
    id_column: str | None,
    task: str | None,
    output: Path | None,
    output_format: str,
) -> int:
    from mlci.checks.model_diff import predictions_metrics
    from mlci.cli.state import write_output
    from mlci.config import PredictionsOptions
    from mlci.errors import InputFileError
    from mlci.sources.prediction_pairs import pair_for_diff
    from mlci.sources.predictions import read_predictions

    predictions = read_predictions(path)
    frame = predictions.frame
    for option, column in (("--target", target), ("--prediction", prediction), ("--id", id_column)):
        if column is not None and column not in frame.columns:
            raise InputFileError(
                f"predictions have no column {column!r} "
                f"(columns: {', '.join(map(str, frame.columns))})",
                path=path,
                hint=f"name the column with {option} COL",
            )
    if id_column is None:  # the row number, as `--predictions` writes it without --id
        id_column = "__row__"
        frame[id_column] = range(len(frame))

    def options(chosen: str | None) -> PredictionsOptions:
        return PredictionsOptions(
            path=str(path),
            id=id_column,
            target=target,
            prediction=prediction,
            task=chosen,  # type: ignore[arg-type]
        )

    paired = pair_for_diff(
        predictions, predictions, options(None if task == "classification" else task)
    )
    if task == "classification" and paired.task == "regression":
        paired = pair_for_diff(predictions, predictions, options("multiclass"))
    metrics = predictions_metrics(paired)
    metrics_json = json.dumps(metrics, indent=2) + "\n"
    if output is not None:
        write_output(output, metrics_json)
    if output_format == "json":
        click.echo(metrics_json, nl=False)
        return 0
    click.echo(f"{path} ({paired.size} examples, {paired.task})")
    width = max(len(name) for name in metrics)
    for name, value in metrics.items():
        click.echo(f"  {name.ljust(width)}  {value:.6g}")
    if output is not None:
        click.echo(f"wrote metrics to {output}")
    return 0
