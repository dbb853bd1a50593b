"""MLflow tracking and registry (extra `mlci[mlflow]`): one client facade whose every failure is a
one-line MlciError naming the tracking URI, logging runs, and mapping run metrics to MetricSets.

mlflow is imported only inside `open_tracking`, so importing this module stays cheap.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import math
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from mlci import __version__
from mlci.config_file import ConfigFile
from mlci.errors import GitError, MlciError
from mlci.extras import require
from mlci.integrations.provenance import Provenance
from mlci.sources.git import Git
from mlci.sources.metric_files import Scalar
from mlci.sources.metrics import MetricSet

T = TypeVar("T")

DEFAULT_DB = "mlflow.db"
COMMIT_TAG = "mlflow.source.git.commit"
BRANCH_TAG = "mlflow.source.git.branch"
REPO_TAG = "mlflow.source.git.repoURL"
PULL_REQUEST_TAG = "mlci.pull_request"
MERGE_COMMIT_TAG = "mlci.github.merge_commit"
RUN_URL_TAG = "mlci.github.run_url"
VERSION_TAG = "mlci.version"
PREDICTIONS_TAG = "mlci.predictions"
"""The artifact path of the predictions file, for the significance gate of later PRs."""
PREDICTIONS_DIR = "predictions"
MODEL_DIR = "model"

# Fail fast on an unreachable server (MLflow's defaults retry for minutes); quiet output that
# would corrupt `--format json`. Only applied where the user has not set them.
_CLIENT_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}
_PROBE_TIMEOUT = 10.0
_UNREACHABLE = re.compile(
    r"Max retries exceeded|Connection refused|Failed to establish a new connection|"
    r"NameResolutionError|Name or service not known|timed out|ConnectionError|RemoteDisconnected",
    re.IGNORECASE,
)
_BAD_KEY_CHARS = re.compile(r"[^/\w.\- ]")
# MLflow's per-request limits for log_batch.
_BATCH_METRICS, _BATCH_PARAMS = 1000, 100


_NOT_GIVEN: Any = object()


class MlflowError(MlciError):
    """The MLflow server or registry cannot be reached, or lacks what was asked for (exit 2)."""


def resolve_tracking_uri(
    configured: str | None, env: Mapping[str, str], root: Path, *, base: Path | None = None
) -> str:
    """The tracking URI: given (CLI or mlci.yaml), else MLFLOW_TRACKING_URI, else a SQLite file
    `mlflow.db` in the repository root. A relative `sqlite:///file` in mlci.yaml is relative to
    the config file's directory (`base`)."""
    if configured:
        if base is not None and configured.startswith("sqlite:///"):
            target = configured[len("sqlite:///") :]
            if target and not target.startswith("/") and ":memory:" not in target:
                return f"sqlite:///{(base / target).as_posix()}"
        return configured
    from_env = env.get("MLFLOW_TRACKING_URI")
    if from_env:
        return from_env
    return f"sqlite:///{(root / DEFAULT_DB).as_posix()}"


def repository_root(config: ConfigFile, git: Git | None) -> Path:
    """Where the default `mlflow.db` lives: the git top level, else the config's directory."""
    if git is not None:
        try:
            return git.toplevel
        except GitError:
            pass
    return config.root


def tracking_uri_for(config: ConfigFile, env: Mapping[str, str], git: Git | None) -> str:
    return resolve_tracking_uri(
        config.config.mlflow.tracking_uri, env, repository_root(config, git), base=config.root
    )


def experiment_for(config: ConfigFile, env: Mapping[str, str], git: Git | None) -> str:
    """The experiment mlci logs to: mlci.yaml `mlflow.experiment`, else MLFLOW_EXPERIMENT_NAME,
    else the name of the repository's directory (the repository name in GitHub Actions)."""
    configured = config.config.mlflow.experiment or env.get("MLFLOW_EXPERIMENT_NAME")
    if configured:
        return configured
    repository = env.get("GITHUB_REPOSITORY")
    if repository:
        return repository.rsplit("/", 1)[-1]
    return repository_root(config, git).name or "mlci"


def display_uri(uri: str) -> str:
    """The URI without any password or token in it, safe to print."""
    parts = urlsplit(uri)
    if parts.password is None and "@" not in parts.netloc:
        return uri
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


@dataclass
class Run:
    """What mlci needs of an MLflow run."""

    run_id: str
    experiment_id: str
    name: str | None
    status: str
    start_time: int | None
    metrics: dict[str, float]
    params: dict[str, str]
    tags: dict[str, str]
    artifact_uri: str

    @property
    def commit(self) -> str | None:
        return self.tags.get(COMMIT_TAG)

    def label(self) -> str:
        text = f"mlflow run {self.run_id[:12]}"
        if self.commit:
            text += f" (commit {self.commit[:12]})"
        return text


@dataclass
class ModelVersion:
    name: str
    version: str
    run_id: str | None
    source: str | None
    aliases: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class Tracking:
    """An MLflow client bound to one tracking URI. Every method turns MLflow's exceptions into
    MlflowError messages that name the URI; `None` stands for "does not exist" where that is an
    expected answer."""

    client: Any
    uri: str

    @property
    def shown_uri(self) -> str:
        return display_uri(self.uri)

    # --- runs ------------------------------------------------------------------------------

    def experiment_id(self, name: str, *, create: bool) -> str | None:
        experiment = self._call(
            "looking up the experiment", self.client.get_experiment_by_name, name
        )
        if experiment is not None:
            if getattr(experiment, "lifecycle_stage", "active") == "deleted":
                raise MlflowError(
                    f"MLflow experiment {name!r} is deleted at {self.shown_uri}",
                    hint="restore it in the MLflow UI, or set mlflow.experiment in mlci.yaml",
                )
            return str(experiment.experiment_id)
        if not create:
            return None
        return str(self._call("creating the experiment", self.client.create_experiment, name))

    def get_run(self, run_id: str) -> Run:
        found = self._call(
            "reading the run",
            self.client.get_run,
            run_id,
            missing=f"MLflow run {run_id!r} not found at {self.shown_uri}",
        )
        return _run(found)

    def search_runs(
        self, experiment_ids: Sequence[str], filter_string: str, *, max_results: int = 1
    ) -> list[Run]:
        found = self._call(
            "searching runs",
            self.client.search_runs,
            list(experiment_ids),
            filter_string,
            max_results=max_results,
            order_by=["attributes.start_time DESC"],
        )
        return [_run(run) for run in found]

    def log_run(
        self,
        *,
        experiment: str,
        run_name: str | None,
        metrics: Mapping[str, float],
        params: Mapping[str, str],
        tags: Mapping[str, str],
        artifacts: Sequence[tuple[Path, str | None]],
    ) -> LoggedRun:
        from mlflow.entities import Metric, Param

        experiment_id = self.experiment_id(experiment, create=True)
        assert experiment_id is not None
        created = self._call(
            "creating a run",
            self.client.create_run,
            experiment_id,
            tags=dict(tags),
            run_name=run_name,
        )
        run_id = str(created.info.run_id)
        logged: list[str] = []
        try:
            now = int(time.time() * 1000)
            param_items = [Param(key, value) for key, value in params.items()]
            metric_items = [Metric(key, value, now, 0) for key, value in metrics.items()]
            for start in range(0, len(param_items), _BATCH_PARAMS):
                chunk = param_items[start : start + _BATCH_PARAMS]
                self._call("logging params", self.client.log_batch, run_id, params=chunk)
            for start in range(0, len(metric_items), _BATCH_METRICS):
                batch = metric_items[start : start + _BATCH_METRICS]
                self._call("logging metrics", self.client.log_batch, run_id, metrics=batch)
            for local, artifact_path in artifacts:
                self._call(
                    "uploading an artifact",
                    self.client.log_artifact,
                    run_id,
                    str(local),
                    artifact_path,
                )
                logged.append(f"{artifact_path}/{local.name}" if artifact_path else local.name)
        except BaseException:
            self._quietly(self.client.set_terminated, run_id, "FAILED")
            raise
        self._call("finishing the run", self.client.set_terminated, run_id, "FINISHED")
        return LoggedRun(
            run_id=run_id,
            experiment_id=experiment_id,
            experiment=experiment,
            tracking_uri=self.shown_uri,
            metrics=dict(metrics),
            params=dict(params),
            tags=dict(tags),
            artifacts=logged,
        )

    def delete_run(self, run_id: str) -> None:
        self._call("deleting a run", self.client.delete_run, run_id)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[str]:
        found = self._call("listing artifacts", self.client.list_artifacts, run_id, path)
        return [str(item.path) for item in found]

    def download_artifact(self, run_id: str, path: str, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        local = self._call(
            "downloading an artifact",
            self.client.download_artifacts,
            run_id,
            path,
            str(directory),
            missing=f"MLflow run {run_id[:12]} has no artifact {path!r} at {self.shown_uri}",
        )
        return Path(local)

    # --- registry --------------------------------------------------------------------------

    def registered_model_exists(self, name: str) -> bool:
        found = self._call(
            "reading the registered model", self.client.get_registered_model, name, missing=None
        )
        return found is not None

    def require_registered_model(self, name: str) -> None:
        if not self.registered_model_exists(name):
            raise MlflowError(f"registered model {name!r} not found at {self.shown_uri}")

    def create_registered_model(self, name: str) -> None:
        self._call("registering the model", self.client.create_registered_model, name)

    def model_tags(self, name: str) -> dict[str, str]:
        model = self._call(
            "reading the registered model",
            self.client.get_registered_model,
            name,
            missing=f"registered model {name!r} not found at {self.shown_uri}",
        )
        return dict(model.tags or {})

    def model_version(self, name: str, version: str) -> ModelVersion:
        self.require_registered_model(name)
        found = self._call(
            "reading the model version",
            self.client.get_model_version,
            name,
            version,
            missing=f"registered model {name!r} has no version {version} at {self.shown_uri}",
        )
        return _model_version(found)

    def version_by_alias(self, name: str, alias: str) -> ModelVersion | None:
        """The version holding `alias`, None when no version holds it (the model must exist)."""
        self.require_registered_model(name)
        found = self._call(
            "resolving the alias",
            self.client.get_model_version_by_alias,
            name,
            alias,
            missing=None,
        )
        return _model_version(found) if found is not None else None

    def versions_of_run(self, name: str, run_id: str) -> list[ModelVersion]:
        found = self._call(
            "searching model versions",
            self.client.search_model_versions,
            f"name = '{_quote(name)}' and run_id = '{_quote(run_id)}'",
        )
        versions = [_model_version(item) for item in found]
        return sorted(versions, key=lambda item: int(item.version))

    def create_model_version(
        self, name: str, source: str, run_id: str, model_id: str | None = None
    ) -> ModelVersion:
        extra = {"model_id": model_id} if model_id else {}
        created = self._call(
            "registering the model version",
            self.client.create_model_version,
            name,
            source,
            run_id,
            await_creation_for=0,
            **extra,
        )
        return _model_version(created)

    def logged_model_of_run(self, experiment_id: str, run_id: str) -> tuple[str, str] | None:
        """(model_uri, model_id) of the newest MLflow 3 logged model the run produced."""
        if not hasattr(self.client, "search_logged_models"):
            return None
        found = self._call(
            "searching logged models",
            self.client.search_logged_models,
            experiment_ids=[experiment_id],
            filter_string=f"source_run_id = '{_quote(run_id)}'",
            order_by=[{"field_name": "creation_timestamp", "ascending": False}],
            max_results=1,
        )
        if not found:
            return None
        model = found[0]
        return str(model.model_uri), str(model.model_id)

    def set_alias(self, name: str, alias: str, version: str) -> None:
        self._call("moving the alias", self.client.set_registered_model_alias, name, alias, version)

    def set_model_tag(self, name: str, key: str, value: str) -> None:
        self._call(
            "tagging the registered model", self.client.set_registered_model_tag, name, key, value
        )

    def delete_model_tag(self, name: str, key: str) -> None:
        self._call(
            "untagging the registered model",
            self.client.delete_registered_model_tag,
            name,
            key,
            missing=None,
        )

    def set_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        self._call(
            "tagging the model version",
            self.client.set_model_version_tag,
            name,
            version,
            key,
            value,
        )

    # --- error translation -----------------------------------------------------------------

    def _call(
        self,
        doing: str,
        function: Callable[..., T],
        *args: Any,
        missing: Any = _NOT_GIVEN,
        **kwargs: Any,
    ) -> T:
        """Call the client; `missing` is the message for "does not exist" (None: return None)."""
        try:
            return function(*args, **kwargs)
        except Exception as exc:
            if _is_mlflow_exception(exc) and _is_missing(exc) and missing is not _NOT_GIVEN:
                if missing is None:
                    return None  # type: ignore[return-value]
                raise MlflowError(str(missing)) from None
            translated = self._translate(exc, doing)
            if translated is None:
                raise
            raise translated from None

    def _quietly(self, function: Callable[..., Any], *args: Any) -> None:
        # Best effort while another error propagates.
        with contextlib.suppress(Exception):
            function(*args)

    def _translate(self, exc: Exception, doing: str) -> MlciError | None:
        """The user-facing error for `exc`; None for a bug of ours, which must propagate."""
        text = str(exc)
        if _UNREACHABLE.search(text) or isinstance(exc, ConnectionError):
            return unreachable(self.uri)
        if isinstance(exc, ImportError) or "No module named" in text:
            return MlflowError(
                f"the tracking URI {self.shown_uri} needs the full mlflow package "
                f"({getattr(exc, 'name', None) or 'a store dependency'} is missing)",
                hint="pip install mlflow, or point MLFLOW_TRACKING_URI at a tracking server",
            )
        if not _is_mlflow_exception(exc):
            return None
        first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        return MlflowError(f"MLflow failed while {doing} at {self.shown_uri}: {first}")


@dataclass
class LoggedRun:
    """What `log_run` recorded (the JSON of `mlci mlflow log`)."""

    run_id: str
    experiment_id: str
    experiment: str
    tracking_uri: str
    metrics: dict[str, float]
    params: dict[str, str]
    tags: dict[str, str]
    artifacts: list[str]


def unreachable(uri: str) -> MlflowError:
    return MlflowError(
        f"cannot reach the MLflow tracking server at {display_uri(uri)}",
        hint="start it, or set MLFLOW_TRACKING_URI (or mlflow.tracking_uri in mlci.yaml) "
        "to a running server",
    )


_SCHEMES = frozenset(
    {"", "file", "http", "https", "sqlite", "postgresql", "mysql", "mssql"}
    | {"databricks", "databricks-uc", "uc"}
)
"""The tracking and registry stores MLflow opens (its own list, checked before importing it)."""


@contextmanager
def open_tracking(uri: str) -> Iterator[Tracking]:
    """A Tracking for `uri`, with short HTTP retries and MLflow's console output silenced.

    An http(s) server is probed first, so an unreachable one fails in seconds, naming the URI.
    """
    feature = "MLflow tracking needs the MLflow client"
    if importlib.util.find_spec("mlflow") is None:
        require("mlflow", "mlflow", feature=feature)
    scheme = urlsplit(uri).scheme.split("+")[0].lower()
    if scheme not in _SCHEMES and not (len(scheme) == 1 and os.name == "nt"):  # C:\\ paths
        raise MlflowError(
            f"MLflow tracking URI {display_uri(uri)} has a scheme MLflow cannot open ({scheme!r})",
            hint="use http(s)://, sqlite:///, postgresql://, mysql://, a file path or databricks",
        )
    # Probe before importing mlflow (seconds): a server that is down fails at once.
    _probe(uri)
    tracking_module = require("mlflow.tracking", "mlflow", feature=feature)
    saved = {name: os.environ.get(name) for name in _CLIENT_DEFAULTS}
    for name, value in _CLIENT_DEFAULTS.items():
        os.environ.setdefault(name, value)
    loggers = [logging.getLogger(name) for name in ("mlflow", "alembic")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        client = tracking_module.MlflowClient(tracking_uri=uri)
        yield Tracking(client=client, uri=uri)
    finally:
        for name, previous in saved.items():
            if previous is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = previous
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _probe(uri: str) -> None:
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https"):
        return
    # Credentials in the URI are MLflow's business; the probe only needs an answer of any kind.
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    probe = urlunsplit((parts.scheme, host, parts.path.rstrip("/") + "/health", "", ""))
    try:
        with urllib.request.urlopen(probe, timeout=_PROBE_TIMEOUT):
            return
    except urllib.error.HTTPError:
        return  # it answered: a proxy or auth layer may refuse /health, the server is there
    except (urllib.error.URLError, OSError, ValueError):
        raise unreachable(uri) from None


def _is_mlflow_exception(exc: BaseException) -> bool:
    return any(cls.__name__ == "MlflowException" for cls in type(exc).__mro__)


def _is_missing(exc: BaseException) -> bool:
    code = getattr(exc, "error_code", "")
    if code == "RESOURCE_DOES_NOT_EXIST":
        return True
    # An unknown alias is INVALID_PARAMETER_VALUE "... alias X not found."
    return code == "INVALID_PARAMETER_VALUE" and "not found" in str(exc).lower()


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _run(run: Any) -> Run:
    info, data = run.info, run.data
    return Run(
        run_id=str(info.run_id),
        experiment_id=str(info.experiment_id),
        name=getattr(info, "run_name", None),
        status=str(info.status),
        start_time=info.start_time,
        metrics={str(key): float(value) for key, value in (data.metrics or {}).items()},
        params={str(key): str(value) for key, value in (data.params or {}).items()},
        tags={str(key): str(value) for key, value in (data.tags or {}).items()},
        artifact_uri=str(info.artifact_uri),
    )


def _model_version(version: Any) -> ModelVersion:
    return ModelVersion(
        name=str(version.name),
        version=str(version.version),
        run_id=str(version.run_id) if version.run_id else None,
        source=str(version.source) if version.source else None,
        aliases=[str(alias) for alias in (getattr(version, "aliases", None) or [])],
        tags={str(key): str(value) for key, value in (version.tags or {}).items()},
    )


# --- metric names between mlci (path, name) and MLflow keys ----------------------------------


def mlflow_key(name: str) -> str:
    """A metric or param name MLflow accepts (it allows letters, digits, `_ - . / space`)."""
    return _BAD_KEY_CHARS.sub("_", name)


def metric_keys(metric_set: MetricSet) -> dict[tuple[str, str], str]:
    """(path, name) -> MLflow key: the bare name, qualified as `path/name` only where two files
    define the same name."""
    flat = metric_set.flat()
    owners: dict[str, int] = {}
    for values in flat.values():
        for name in values:
            owners[name] = owners.get(name, 0) + 1
    return {
        (path, name): mlflow_key(name if owners[name] == 1 else f"{path}/{name}")
        for path, values in flat.items()
        for name in values
    }


def metrics_to_log(metric_set: MetricSet) -> dict[str, float]:
    """The numeric metrics (MLflow has no string or boolean metrics), keyed for MLflow."""
    flat = metric_set.flat()
    logged: dict[str, float] = {}
    for (path, name), key in metric_keys(metric_set).items():
        value = flat[path][name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        logged[key] = float(value)
    return logged


def params_to_log(param_set: MetricSet) -> dict[str, str]:
    """Params as MLflow strings; non-strings as JSON so they read back with their type."""
    flat = param_set.flat()
    return {
        key: _param_text(flat[path][name]) for (path, name), key in metric_keys(param_set).items()
    }


def _param_text(value: Scalar) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return json.dumps(value)


def _param_value(text: str) -> Scalar:
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, bool | int | float) else text


def run_metric_set(
    values: Mapping[str, float] | Mapping[str, str],
    known_paths: Sequence[str],
    label: str,
    *,
    params: bool = False,
) -> MetricSet:
    """A run's metrics (or params) laid out on the head's files, so the diff lines them up:
    `path/name` keys go to that path, bare names to the single known file (else `mlflow`)."""
    data: dict[str, dict[str, Scalar]] = {}
    paths = sorted(known_paths, key=len, reverse=True)
    default = known_paths[0] if len(known_paths) == 1 else "mlflow"
    for key, raw in values.items():
        value: Scalar = _param_value(str(raw)) if params else raw
        for path in paths:
            if key.startswith(path + "/"):
                data.setdefault(path, {})[key[len(path) + 1 :]] = value
                break
        else:
            data.setdefault(default, {})[key] = value
    return MetricSet(label=label, data=dict(data))


def run_tags(provenance: Provenance, *, predictions: str | None = None) -> dict[str, str]:
    """The tags mlci puts on every run it logs (commit = the PR head, never a merge commit)."""
    tags = {VERSION_TAG: __version__}
    if provenance.commit:
        tags[COMMIT_TAG] = provenance.commit
    if provenance.branch:
        tags[BRANCH_TAG] = provenance.branch
    if provenance.pull_request is not None:
        tags[PULL_REQUEST_TAG] = str(provenance.pull_request)
    if provenance.merge_commit:
        tags[MERGE_COMMIT_TAG] = provenance.merge_commit
    if provenance.repository_url:
        tags[REPO_TAG] = provenance.repository_url
    if provenance.run_url:
        tags[RUN_URL_TAG] = provenance.run_url
    if predictions:
        tags[PREDICTIONS_TAG] = predictions
    return tags


def commit_filter(sha: str) -> str:
    return f"tags.`{COMMIT_TAG}` = '{_quote(sha)}'"
