"""`mlci mlflow`: log the head's results as an MLflow run; show which run the baseline is."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from mlci.cli.state import CliState, choice_format_option, pass_state

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
_PATH = click.Path(exists=True, path_type=Path)


@click.group(name="mlflow")
def mlflow_group() -> None:
    """Log results to MLflow and inspect MLflow baselines (needs mlci[mlflow])."""


@mlflow_group.command(name="log")
@click.option(
    "--metrics",
    "metric_files",
    multiple=True,
    type=_FILE,
    metavar="FILE",
    help="Metrics files (repeatable; default: mlci.yaml's and dvc.yaml's).",
)
@click.option(
    "--params",
    "param_files",
    multiple=True,
    type=_FILE,
    metavar="FILE",
    help="Params files (repeatable; default: mlci.yaml's and dvc.yaml's).",
)
@click.option(
    "--predictions",
    type=_FILE,
    metavar="FILE",
    help="Per-example predictions, logged under predictions/ for the significance gate.",
)
@click.option(
    "--model",
    "model_path",
    type=_PATH,
    metavar="PATH",
    help="Model file or directory, logged under model/ for `mlci promote --run`.",
)
@click.option(
    "--artifact",
    "artifacts",
    multiple=True,
    type=_PATH,
    metavar="PATH",
    help="More files or directories to log (repeatable).",
)
@click.option(
    "--run-name", metavar="NAME", help="Run name (default: mlflow.run_name, else MLflow's)."
)
@click.option(
    "--experiment",
    metavar="NAME",
    help="Experiment (default: mlflow.experiment, else the repository name).",
)
@click.option(
    "--tracking-uri",
    metavar="URI",
    help="Tracking URI (default: mlci.yaml, then MLFLOW_TRACKING_URI).",
)
@choice_format_option("text", "json")
@pass_state
def log(
    state: CliState,
    metric_files: tuple[Path, ...],
    param_files: tuple[Path, ...],
    predictions: Path | None,
    model_path: Path | None,
    artifacts: tuple[Path, ...],
    run_name: str | None,
    experiment: str | None,
    tracking_uri: str | None,
    output_format: str,
) -> int:
    """Record metrics, params, predictions and the model as one MLflow run, tagged with the
    commit (the PR head in a pull_request job), branch, PR number and mlci version."""
    from dataclasses import asdict

    from mlci.integrations.mlflow_log import configured_predictions, log_evaluation
    from mlci.pipeline.context import CheckContext
    from mlci.sources.git import Git
    from mlci.sources.metrics import FileSource, load_metrics

    config = state.config(required=False)
    cwd = Path.cwd()
    if metric_files or param_files:
        source = FileSource(
            root=cwd,
            files=tuple(os.path.relpath(path, cwd) for path in metric_files),
            params=tuple(os.path.relpath(path, cwd) for path in param_files),
            dvc=False,
        )
    else:
        source = CheckContext(config=config).source
    if predictions is None:
        found = configured_predictions(config)
        predictions = found if found is not None and found.exists() else None
    mlflow_options = config.config.mlflow
    if model_path is None and mlflow_options.model_path:
        model_path = config.resolve(mlflow_options.model_path)
    logged = log_evaluation(
        config,
        metrics=load_metrics(source, None, kind="metrics"),
        params=load_metrics(source, None, kind="params"),
        predictions=predictions,
        model=model_path,
        artifacts=[*(config.resolve(path) for path in mlflow_options.artifacts), *artifacts],
        run_name=run_name,
        env=dict(os.environ),
        git=Git(config.root),
        tracking_uri=tracking_uri,
        experiment=experiment,
    )
    if output_format == "json":
        click.echo(json.dumps(asdict(logged), indent=2))
    else:
        click.echo(
            f"logged run {logged.run_id} to experiment {logged.experiment!r} at "
            f"{logged.tracking_uri}: {len(logged.metrics)} metrics, {len(logged.params)} params"
            + (f", artifacts {', '.join(logged.artifacts)}" if logged.artifacts else "")
        )
    return 0


@mlflow_group.command()
@click.option(
    "--base",
    metavar="REV",
    help="Base commit whose run to find (default: the merge-base with the base branch).",
)
@choice_format_option("text", "json")
@pass_state
def baseline(state: CliState, base: str | None, output_format: str) -> int:
    """Show the MLflow run that `baseline: {source: mlflow}` resolves to, and its metrics."""
    from mlci.errors import ConfigError
    from mlci.pipeline.baseline import MlflowRunBaseline
    from mlci.pipeline.context import CheckContext

    config = state.config()
    if config.config.baseline.source != "mlflow":
        raise ConfigError(
            "baseline.source is not `mlflow`",
            path=config.path,
            hint="set `baseline: {source: mlflow, mlflow: {...}}`",
        )
    found = MlflowRunBaseline(CheckContext(config=config, base_override=base)).run()
    run = found.run
    if output_format == "json":
        data = {
            "label": found.label,
            "run_id": run.run_id,
            "experiment_id": run.experiment_id,
            "model_version": found.model_version.version if found.model_version else None,
            "commit": run.commit,
            "metrics": run.metrics,
            "params": run.params,
        }
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(f"{found.label}: run {run.run_id}")
        for name, value in sorted(run.metrics.items()):
            click.echo(f"  {name} = {value:g}")
    return 0
