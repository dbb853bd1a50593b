"""The mlci extras a config needs, so that the action installs them (`mlci config extras`)."""

from __future__ import annotations

from mlci.config_file import ConfigFile

# extra -> a module it provides, to tell whether it is installed.
EXTRA_MODULES = {
    "data": "pandera",
    "polars": "polars",
    "spark": "pyspark",
    "sklearn": "sklearn",
    "mlflow": "mlflow",
    "dvc": "dvc",
}


def needed_extras(config: ConfigFile) -> list[str]:
    """The extras the checks of this config need (`mlflow.log: true` -> mlflow, a polars
    dataset -> polars, a DVC project -> dvc, ...), in a stable order."""

    needed: set[str] = set()
    root = config.root  # without a file: the project holding the current directory
    if (root / ".dvc").is_dir() or (root / "dvc.yaml").is_file():
        needed.add("dvc")  # DVC-tracked data and metrics at the base revision, from the remote
    if config.explicit:
        settings = config.config
        for dataset in settings.datasets:
            needed.add({"polars": "polars", "spark": "spark"}.get(dataset.engine, "data"))
        if settings.predictions is not None or any(
            gate.significance is not None for gate in settings.gates
        ):
            needed.add("data")  # the model diff and significance read predictions with pandas
        if settings.mlflow.log or settings.baseline.source == "mlflow":
            needed.add("mlflow")
        history = settings.history
        if history is not None and (
            history.store == "mlflow" or (history.store == "auto" and settings.mlflow.tracking_uri)
        ):
            needed.add("mlflow")  # the base-branch history is kept in MLflow
    return [extra for extra in EXTRA_MODULES if extra in needed]


def missing_extras(extras: list[str]) -> list[str]:
    """Those of `extras` whose packages cannot be imported here."""
    from importlib.util import find_spec

    return [extra for extra in extras if find_spec(EXTRA_MODULES[extra]) is None]
