"""The mlci.yaml model: one typed declaration that validates the file and exports its JSON Schema.

Every section is a msgspec Struct that rejects unknown keys. `load_config` turns any
problem into a ConfigError naming file:line:column, with a did-you-mean for misspelt keys.
"""

from __future__ import annotations

import math
import re
import types
import typing
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from mlci.config_file import DEFAULT_PRECISION, DEFAULT_REMOTE, ConfigFile
from mlci.errors import ConfigError

if TYPE_CHECKING:
    from mlci.yaml_source import PathKey, YamlDocument

CONFIG_VERSION = 1
MAX_RESAMPLES = 1_000_000
"""Bootstrap resamples at most: more changes nothing a gate decides and needs memory in
proportion (a billion would allocate tens of GiB)."""


Statistic = Literal[
    "accuracy",
    "error_rate",
    "mae",
    "mse",
    "rmse",
    "balanced_accuracy",
    "f1_macro",
    "f1_weighted",
    "f1",
    "precision_macro",
    "precision_weighted",
    "precision",
    "recall_macro",
    "recall_weighted",
    "recall",
    "roc_auc",
    "log_loss",
    "r2",
    "mape",
]
"""What a significance rule compares on paired predictions."""
STATISTICS: tuple[Statistic, ...] = typing.get_args(Statistic)


class _Section(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """Base of every config section: unknown keys are errors."""


class DatasetDrift(_Section, frozen=True):
    """Limits on how much a dataset may change against the base revision (gates; any left
    out is reported but not enforced)."""

    max_psi: float | None = None
    """Largest Population Stability Index allowed for a categorical column (0.2 is a common
    alarm level)."""
    max_ks: float | None = None
    """Largest Kolmogorov-Smirnov statistic allowed for a numeric column (0 to 1)."""
    max_null_rate_increase: float | None = None
    """Largest rise of a column's share of nulls, as a fraction (0.05 = 5 points)."""
    max_row_drop_pct: float | None = None
    """Largest fall of the row count, in percent of the base's rows."""
    columns: list[str] | None = None
    """Only these columns are held to the drift limits (default: every column)."""
    severity: Literal["error", "warning"] = "error"
    """`error` fails the run when a limit is exceeded; `warning` only reports it."""

    def __post_init__(self) -> None:
        for key in ("max_psi", "max_ks", "max_null_rate_increase", "max_row_drop_pct"):
            value = getattr(self, key)
            if value is not None and value < 0:
                raise ValueError(f"drift {key} must not be negative")
        if self.max_ks is not None and self.max_ks > 1:
            raise ValueError("drift max_ks is a statistic between 0 and 1")


class Dataset(_Section, frozen=True):
    """A dataset validated against a pandera schema."""

    path: str | None = None
    """A data file, a glob of files, or a directory of (partitioned) Parquet files, relative to
    the config file."""
    table: str | None = None
    """With `engine: spark`: a table of the Spark catalog (`db.name`) instead of `path`."""
    name: str | None = None
    """Name shown in reports; defaults to the path."""
    schema: str | None = None
    """A pandera schema: a YAML/JSON file as pandera writes it, or `module:attribute`."""
    format: Literal["csv", "tsv", "parquet", "json", "jsonl"] | None = None
    """Data format; by default taken from the file extension (`.gz` allowed)."""
    engine: Literal["pandas", "polars", "spark"] = "pandas"
    """The dataframe library pandera validates with (`spark`: pandera's PySpark backend, on the
    session of the `spark:` section)."""
    encoding: str = "utf-8"
    """Text encoding of CSV/TSV/JSON files."""
    chunksize: int | None = None
    """Validate CSV/JSON Lines in chunks of this many rows (files larger than memory)."""
    max_failures: int = 20
    """Failure cases kept per failing check."""
    compare_base: bool = True
    """Diff the schema and the data against the base revision."""
    forbid_breaking_changes: bool = False
    """Fail when the schema changed in a breaking way against the base revision (a column
    removed, a dtype changed, a check tightened, ...)."""
    drift: DatasetDrift | None = None
    """Limits on the data's change against the base revision: PSI, KS, null rates, rows."""

    def __post_init__(self) -> None:
        if self.chunksize is not None and self.chunksize < 1:
            raise ValueError("chunksize must be a positive number of rows")
        if self.max_failures < 0:
            raise ValueError("max_failures must not be negative")
        if (self.path is None) == (self.table is None):
            raise ValueError("a dataset needs exactly one of `path:` and `table:`")
        if self.table is not None and self.engine != "spark":
            raise ValueError("`table:` is read by the Spark engine: add `engine: spark`")
        if self.engine == "spark" and self.chunksize is not None:
            raise ValueError("`chunksize` is for the pandas engine; Spark needs no chunks")

    @property
    def display_name(self) -> str:
        return self.name or self.path or f"table {self.table}"

    @property
    def source(self) -> str:
        """The path, or `table:NAME` for a table of the Spark catalog."""
        return self.path if self.path is not None else f"table:{self.table}"


class Spark(_Section, frozen=True):
    """The Spark session of `engine: spark` datasets (default: `local[*]` in the process, built
    once per run and stopped at its end). The environment's SPARK_REMOTE is used when neither
    `remote` nor `master` is set here; Spark's own configuration (SPARK_CONF_DIR's
    spark-defaults.conf, PYSPARK_SUBMIT_ARGS, JAVA_HOME) applies as usual."""

    remote: str | None = None
    """A Spark Connect URL (`sc://host:15002`): the data is read and validated on that server."""
    master: str | None = None
    """A Spark master URL for a session in this process (`local[4]`, `yarn`, `spark://host:7077`,
    `k8s://...`); default `local[*]`."""
    conf: dict[str, str] = {}
    """Spark settings given to the session builder (`spark.driver.memory: 4g`, ...)."""

    def __post_init__(self) -> None:
        if self.remote is not None and self.master is not None:
            raise ValueError("spark: give `remote` (Spark Connect) or `master`, not both")
        if self.remote is not None and not self.remote.startswith("sc://"):
            raise ValueError("spark remote must be a Spark Connect URL such as sc://host:15002")


class Metrics(_Section, frozen=True):
    """Where the head metrics come from."""

    files: list[str] = []
    """Metric files (JSON, YAML, TOML), relative to the config file."""
    params: list[str] = []
    """Parameter files, diffed like `dvc params diff`."""
    dvc: bool | None = None
    """Also read the metrics and params declared in dvc.yaml (default: when dvc.yaml exists)."""
    precision: int = DEFAULT_PRECISION
    """Decimals shown in tables (values are rounded for display only)."""

    def __post_init__(self) -> None:
        if not 0 <= self.precision <= 17:
            raise ValueError("precision must be between 0 and 17")


class MlflowBaseline(_Section, frozen=True):
    """A baseline taken from MLflow."""

    model: str | None = None
    """A registered model alias or version URI, such as `models:/churn@champion`."""
    run: str | None = None
    """A run id."""
    filter: str | None = None
    """An MLflow search filter; the newest matching run is the baseline."""
    experiment: str | None = None
    """Experiment searched by `filter` (default: the configured `mlflow.experiment`)."""


def _check_remote(remote: str, section: str) -> None:
    """A git remote's name: it goes on git's command line, where `--upload-pack=CMD` from a pull
    request's mlci.yaml would run CMD."""
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9._/\-]{0,99}", remote) or ".." in remote:
        raise ValueError(
            f"{section} remote {remote!r} is not a git remote name (letters, digits, `._/-`, "
            "not starting with `-`)"
        )


class Baseline(_Section, frozen=True):
    """What the head is compared against."""

    source: Literal["git", "files", "mlflow", "history"] = "git"
    """`git`: the same files at the base revision; `files`: a committed snapshot directory;
    `mlflow`: a run or registered model; `history`: the metrics recorded for the merge-base
    commit on the base branch (or its nearest recorded ancestor), see `history:`."""
    branch: str | None = None
    """Base branch used locally (default: the remote's default branch, else main or master;
    in GitHub Actions, GITHUB_BASE_REF wins)."""
    remote: str = DEFAULT_REMOTE
    """Remote whose copy of the base branch is preferred (`origin/main`)."""
    rev: str | None = None
    """Pin the base revision instead of using the merge-base."""
    dir: str | None = None
    """For `source: files`: a directory holding base copies of the metric/prediction files."""
    mlflow: MlflowBaseline | None = None
    """For `source: mlflow`: which run or model version is the baseline."""

    def __post_init__(self) -> None:
        _check_remote(self.remote, "baseline")
        if self.source == "files" and not self.dir:
            raise ValueError("baseline `source: files` needs `dir:` (the snapshot directory)")
        if self.source == "mlflow" and self.mlflow is None:
            raise ValueError("baseline `source: mlflow` needs an `mlflow:` section")


class History(_Section, frozen=True):
    """The metrics of every base-branch commit, recorded by `mlci history record` (the
    deploy-on-merge workflow runs it on every push): read by `mlci history`, the trend in the
    PR comment and `baseline: {source: history}` (docs/history.md)."""

    store: Literal["auto", "branch", "mlflow"] = "auto"
    """`branch`: one JSON file per commit on a data branch of the repository; `mlflow`: one
    MLflow run per commit, tagged with it; `auto`: MLflow when a tracking URI is configured
    (`mlflow.tracking_uri` or MLFLOW_TRACKING_URI), else the branch."""
    branch: str = "mlci-history"
    """The data branch (`store: branch`); it shares no history with the code."""
    remote: str = DEFAULT_REMOTE
    """The remote the data branch is fetched from and pushed to."""
    experiment: str | None = None
    """The MLflow experiment of the records (`store: mlflow`; default: `mlflow.experiment`)."""
    trend: int = 10
    """Base-branch commits the PR comment's trend and `mlci history` show."""
    search: int = 200
    """How far back (first-parent commits) the history baseline looks for a recorded ancestor
    of the merge-base."""
    trend_in_comment: bool = True
    """Show the head against the trend in the report (when any record exists)."""

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/\-]{0,99}", self.branch) or any(
            part in self.branch for part in ("..", "//", ".lock", "@{")
        ):
            raise ValueError(f"history branch {self.branch!r} is not a valid branch name")
        _check_remote(self.remote, "history")
        if not 1 <= self.trend <= 100:
            raise ValueError("history trend must be between 1 and 100")
        if not 1 <= self.search <= 10_000:
            raise ValueError("history search must be between 1 and 10000")


class Significance(_Section, frozen=True):
    """Paired bootstrap (and McNemar for accuracy) on per-example predictions."""

    predictions: str = ""
    """Head predictions file (CSV/TSV/Parquet/JSON Lines) with id, target and prediction
    columns; empty: the top-level `predictions:` section's file and columns."""
    base_predictions: str | None = None
    """Base predictions; by default the same path at the baseline."""
    id: str = "id"
    """Column joining head and base predictions, example by example."""
    target: str = "target"
    """Column with the true value."""
    prediction: str = "prediction"
    """Column with the model's prediction."""
    resamples: int = 10_000
    """Bootstrap resamples."""
    confidence: float = 0.95
    """Confidence level of the interval."""
    seed: int = 0
    """Random seed: the same seed gives the same interval."""
    tolerance: float = 0.0
    """How much worse the head may be before a significant difference fails the gate."""
    statistic: Statistic | None = None
    """What is compared on the predictions; by default implied by the metric name (`accuracy`,
    `f1_macro`, `roc_auc`, `log_loss`, `mae`, `rmse`, `r2`, `mape`, ...)."""

    def __post_init__(self) -> None:
        if not 100 <= self.resamples <= MAX_RESAMPLES:
            raise ValueError(f"resamples must be between 100 and {MAX_RESAMPLES:,}")
        if not 0 <= self.seed < 2**63:
            raise ValueError("seed must be a non-negative integer")
        if not 0.5 <= self.confidence < 1:
            raise ValueError("confidence must be in [0.5, 1)")
        if self.tolerance < 0:
            raise ValueError("tolerance must not be negative")


# The names of a gate's rules, shared by the gates, the MLflow promotion and the annotations.
RULES = (
    "min",
    "max",
    "max_drop",
    "max_increase",
    "max_drop_pct",
    "max_increase_pct",
    "threshold",
    "min_absolute_change",
    "min_relative_change",
    "significance",
)
"""Every rule a gate may hold, in the order its results are listed."""
BASELINE_RULES = (
    "max_drop",
    "max_increase",
    "max_drop_pct",
    "max_increase_pct",
    "min_absolute_change",
    "min_relative_change",
)
"""Rules that compare the head with the baseline's value of the same metric."""
MLFLOW_RULES = ("threshold", "min_absolute_change", "min_relative_change")
"""Rules with exactly the semantics of `mlflow.validate_evaluation_results`."""


class Gate(_Section, frozen=True):
    """One rule on one metric. Every rule given must hold."""

    metric: str
    """Metric name as it appears in the metrics (dotted for nested keys)."""
    path: str | None = None
    """The metrics file holding the metric, when several files define the same name."""
    name: str | None = None
    """A label for the gate in reports."""
    min: float | None = None
    """The metric must be at least this."""
    max: float | None = None
    """The metric must be at most this."""
    max_drop: float | None = None
    """May fall below the baseline by at most this much (absolute)."""
    max_increase: float | None = None
    """May rise above the baseline by at most this much (absolute)."""
    max_drop_pct: float | None = None
    """May fall below the baseline by at most this percentage of |baseline|."""
    max_increase_pct: float | None = None
    """May rise above the baseline by at most this percentage of |baseline|."""
    threshold: float | None = None
    """MLflow semantics: the metric must be at least (or at most) this value."""
    min_absolute_change: float | None = None
    """MLflow semantics: must improve on the baseline by at least this much."""
    min_relative_change: float | None = None
    """MLflow semantics: must improve on the baseline by at least this fraction of it."""
    greater_is_better: bool | None = None
    """MLflow's name for `direction` (true = higher)."""
    significance: Significance | None = None
    """Fail only when the head is significantly worse than the baseline on paired predictions."""
    slices: bool | list[str] = False
    """Apply each rule to every slice of the `predictions:` section too (`true`), or to the
    slices of these columns; the worst slice is reported, a failing slice fails the gate."""
    direction: Literal["higher", "lower"] | None = None
    """Whether higher or lower is better; inferred from the metric name when omitted."""
    required: bool = True
    """A missing metric fails the gate; otherwise the gate is skipped and says so."""
    severity: Literal["error", "warning"] = "error"
    """`error` fails the run; `warning` is reported and never fails it."""

    def __post_init__(self) -> None:
        rules = (
            self.min,
            self.max,
            self.max_drop,
            self.max_increase,
            self.max_drop_pct,
            self.max_increase_pct,
            self.threshold,
            self.min_absolute_change,
            self.min_relative_change,
            self.significance,
        )
        if all(rule is None for rule in rules):
            raise ValueError(f"gate on {self.metric!r} has no rule (min, max, max_drop, ...)")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"gate on {self.metric!r}: min {self.min:g} > max {self.max:g}")
        for key in ("max_drop", "max_increase", "max_drop_pct", "max_increase_pct"):
            value = getattr(self, key)
            if value is not None and value < 0:
                raise ValueError(f"gate on {self.metric!r}: {key} must not be negative")
        for key in ("min_absolute_change", "min_relative_change"):
            value = getattr(self, key)
            if value is not None and value < 0:
                raise ValueError(f"gate on {self.metric!r}: {key} must not be negative")
        if self.direction is not None and self.greater_is_better is not None:
            implied = "higher" if self.greater_is_better else "lower"
            if implied != self.direction:
                raise ValueError(
                    f"gate on {self.metric!r}: direction {self.direction!r} contradicts "
                    f"greater_is_better {str(self.greater_is_better).lower()}"
                )


class ChartOptions(_Section, frozen=True):
    """The charts drawn in the markdown report (Mermaid) and the HTML report (SVG); each
    sits in a collapsed section with its numbers in a table beneath."""

    roc: bool = True
    """ROC curve, base vs head (classification with scores or probabilities)."""
    pr: bool = True
    """Precision-recall curve, base vs head."""
    calibration: bool = True
    """Calibration (reliability) curve, base vs head."""
    per_class: bool = True
    """F1 per class, base vs head."""
    slices: bool = True
    """Slice metrics, base vs head."""
    residuals: bool = True
    """Residuals histogram, base vs head (regression)."""
    deciles: bool = True
    """Mean prediction vs mean target by decile of the prediction (regression)."""
    history: bool = True
    """Gated metrics over the last base-branch runs and the PR, when a history is available."""
    max_bytes: int = 30_000
    """Room the charts may take in the PR comment; charts past it are left out (the report
    says so), and all charts go before any table is shortened to fit GitHub's limit."""

    def __post_init__(self) -> None:
        if self.max_bytes < 0:
            raise ValueError("charts max_bytes must not be negative")

    def enabled(self) -> frozenset[str]:
        return frozenset(
            field.name
            for field in msgspec.structs.fields(self)
            if field.name != "max_bytes" and getattr(self, field.name)
        )


class PredictionsOptions(_Section, frozen=True):
    """Per-example predictions of head and base: the model diff (per class, confusion matrix,
    changed examples, slices) and the default of every significance rule (docs/model-diff.md)."""

    path: str
    """Head predictions file (CSV, TSV, Parquet, JSON Lines): id, target, prediction, and
    optionally `proba_<class>` columns or a score column."""
    base_path: str | None = None
    """Base predictions; by default the same path at the baseline (git revision, files
    directory, or the MLflow baseline run's predictions)."""
    id: str = "id"
    """Column joining head and base predictions, example by example."""
    target: str = "target"
    """Column with the true value."""
    prediction: str = "prediction"
    """Column with the model's prediction (a class label or a number)."""
    score: str = "score"
    """Binary tasks: a column with the positive class's score, used when present and there are
    no `proba_<class>` columns."""
    positive: str | int | None = None
    """Binary tasks: the positive class (default: the larger of the two labels, as
    scikit-learn's `classes_[1]`)."""
    task: Literal["binary", "multiclass", "regression"] | None = None
    """Inferred when omitted: class probabilities or labels that are not numbers mean
    classification; integer targets and predictions too; other numbers mean regression."""
    slices: list[str] = []
    """Columns (of the predictions or the joined data) whose values split the examples into
    slices compared base vs head."""
    join: str | None = None
    """A data file joined on the id: its columns can be slices and show in broken examples."""
    min_support: int = 30
    """Slices with fewer examples are grouped into one `(other)` slice per column."""
    examples: int = 10
    """Broken examples listed (for regression: those whose absolute error grew most)."""
    resamples: int = 10_000
    """Bootstrap resamples of the paired confidence interval of every metric's change."""
    confidence: float = 0.95
    """Confidence level of those intervals."""
    seed: int = 0
    """Random seed: the same seed gives the same intervals."""

    def __post_init__(self) -> None:
        if self.min_support < 1:
            raise ValueError("predictions min_support must be at least 1")
        if self.examples < 0:
            raise ValueError("predictions examples must not be negative")
        if self.resamples < 100:
            raise ValueError("predictions resamples must be at least 100")
        if not 0.5 <= self.confidence < 1:
            raise ValueError("predictions confidence must be in [0.5, 1)")


class ReportOptions(_Section, frozen=True):
    """How the report looks and where it goes."""

    id: str = "default"
    """Report id: one sticky PR comment per id."""
    title: str = "mlci report"
    """Heading of the report and the PR comment."""
    template: str | None = None
    """A Jinja2 template that extends the default markdown report."""
    mermaid: bool = True
    """Draw charts in the markdown report (Mermaid); `charts` says which."""
    charts: ChartOptions = ChartOptions()
    """Which charts are drawn, and the room they may take in the PR comment."""
    max_failure_cases: int = 10
    """Failure cases shown per failing data check."""
    output: str | None = None
    """Also write the report to this file (format from its extension: .md, .json, .txt, .html)."""

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.\-]{1,64}", self.id):
            raise ValueError("report id may hold only letters, digits, '_', '.', '-'")


class MlflowOptions(_Section, frozen=True):
    """The MLflow tracking server (mlci[mlflow])."""

    tracking_uri: str | None = None
    """Defaults to MLFLOW_TRACKING_URI, then `sqlite:///mlflow.db` in the repository."""
    experiment: str | None = None
    """Experiment runs are logged to and searched in."""
    log: bool = False
    """Log the head metrics to MLflow during `mlci check`."""
    run_name: str | None = None
    """Name of the runs mlci logs (default: MLflow's generated name)."""
    model_path: str | None = None
    """A model file or directory logged as the run's `model/` artifact, which `mlci promote
    --run` registers."""
    artifacts: list[str] = []
    """More files or directories logged as run artifacts (relative to the config file)."""
    registered_model: str | None = None
    """The registered model `mlci promote` acts on when `--model` is not given."""
    alias: str = "champion"
    """The alias `mlci promote` moves when `--alias` is not given."""

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[\w\-]{1,255}", self.alias) or re.fullmatch(r"v\d+", self.alias):
            raise ValueError(
                "mlflow alias may hold only letters, digits, '_' and '-', and must not look "
                "like a version (v1, v2, ...)"
            )


class Train(_Section, frozen=True):
    """The training step `mlci train` runs only when its inputs changed (restoring the outputs
    of an earlier run with the same inputs otherwise)."""

    command: str
    """The training command, run by the shell in the config file's directory."""
    inputs: list[str]
    """Everything the outputs depend on: files, directories or globs (`src/**/*.py`) of code,
    data and params, relative to the config file. Their content (git blob ids), the command and
    the Python version make the inputs hash."""
    outputs: list[str]
    """Files or directories the command writes (metrics, predictions, model), cached under
    the inputs hash and restored when it matches."""
    cache_dir: str = ".mlci/cache"
    """Where outputs are cached locally; the GitHub Action maps it to `actions/cache`."""
    dvc: bool | None = None
    """Defer to DVC (`dvc repro --pull --allow-missing`, with its run cache) instead of the
    inputs hash (default: when dvc.yaml exists next to the config file)."""

    def __post_init__(self) -> None:
        if not self.command.strip():
            raise ValueError("train command must not be empty")
        if not self.outputs:
            raise ValueError("train needs at least one output (what the command writes)")
        for key in ("inputs", "outputs"):
            for item in getattr(self, key):
                if not item.strip() or Path(item).is_absolute() or ".." in Path(item).parts:
                    raise ValueError(f"train {key} must be paths inside the project, not {item!r}")


class Config(_Section, frozen=True):
    """mlci.yaml."""

    version: int = CONFIG_VERSION
    datasets: list[Dataset] = []
    metrics: Metrics = Metrics()
    baseline: Baseline = Baseline()
    gates: list[Gate] = []
    predictions: PredictionsOptions | None = None
    report: ReportOptions = ReportOptions()
    mlflow: MlflowOptions = MlflowOptions()
    spark: Spark = Spark()
    """The Spark session of `engine: spark` datasets."""
    train: Train | None = None
    """The training step: `mlci train` runs it only when its inputs changed."""
    history: History | None = None
    """Base-branch history: where the metrics of every base-branch commit are recorded, and
    how much of it the PR comment shows."""
    projects: list[str] = []
    """In a root mlci.yaml: the directories of the models in this repository, each with its own
    mlci.yaml; `mlci check --all` runs every one (without this list, it finds them)."""
    shared_paths: list[str] = []
    """Files, directories or globs that every project depends on: with `mlci check --changed`,
    a change to one runs every project."""

    def __post_init__(self) -> None:
        for key in ("projects", "shared_paths"):
            for item in getattr(self, key):
                if not item.strip() or Path(item).is_absolute() or ".." in Path(item).parts:
                    raise ValueError(f"{key} must be paths inside the repository, not {item!r}")
        self._gates_with_predictions()

    def _gates_with_predictions(self) -> None:
        for index, gate in enumerate(self.gates):
            if gate.significance is not None and not gate.significance.predictions:
                if self.predictions is None:
                    raise ValueError(
                        f"gate on {gate.metric!r}: significance needs `predictions:` on the "
                        "rule or a top-level `predictions:` section"
                    )
                # The rule reuses the section: every reader of the rule then sees one file.
                self.gates[index] = msgspec.structs.replace(
                    gate, significance=_significance_from(gate.significance, self.predictions)
                )
            if gate.slices is not False and self.predictions is None:
                raise ValueError(
                    f"gate on {gate.metric!r}: `slices` needs a top-level `predictions:` section"
                )
            if isinstance(gate.slices, list) and self.predictions is not None:
                unknown = [c for c in gate.slices if c not in self.predictions.slices]
                if unknown:
                    raise ValueError(
                        f"gate on {gate.metric!r}: slice column {unknown[0]!r} is not in "
                        "`predictions.slices`"
                    )


def _significance_from(rule: Significance, section: PredictionsOptions) -> Significance:
    """A significance rule without its own file takes the `predictions:` section's file and
    columns (a column the rule names itself wins)."""
    defaults = Significance()
    columns = {
        name: getattr(section, name)
        for name in ("id", "target", "prediction")
        if getattr(rule, name) == getattr(defaults, name)
    }
    return msgspec.structs.replace(
        rule, predictions=section.path, base_predictions=section.base_path, **columns
    )


def load_config(path: Path) -> ConfigFile:
    from mlci.yaml_source import load_yaml

    document = load_yaml(path, "config file", ConfigError)
    data = document.data
    if data is None:
        raise ConfigError(
            "config file is empty", path=path, hint="start from `mlci init` or the README"
        )
    if not isinstance(data, dict):
        position = document.position(())
        raise ConfigError(
            f"config file must be a mapping of sections, not {_json_kind(data)}",
            path=path,
            line=position.line if position else None,
            column=position.column if position else None,
        )
    version = data.get("version", CONFIG_VERSION)
    if version != CONFIG_VERSION:
        position = document.position(("version",))
        raise ConfigError(
            f"unsupported config version {version!r}: this mlci reads version {CONFIG_VERSION}",
            hint=f"upgrade mlci, or write the file for `version: {CONFIG_VERSION}`",
            path=path,
            line=position.line if position else None,
            column=position.column if position else None,
        )
    _refuse_non_finite(data, document)
    try:
        config = msgspec.convert(data, Config, strict=True)
    except msgspec.ValidationError as exc:
        raise _config_error(str(exc), document) from None
    return ConfigFile(config=config, path=path)


def _refuse_non_finite(data: Any, document: YamlDocument) -> None:
    """Every number in the config must be finite: a limit of `.nan` compares false with
    everything, so a gate holding it would pass any regression; `.inf` and numbers past
    1e308 are no limit at all."""
    stack: list[tuple[PathKey, Any]] = [((), data)]
    while stack:
        key, value = stack.pop()
        if isinstance(value, dict):
            stack.extend(((*key, str(name)), item) for name, item in value.items())
        elif isinstance(value, list):
            stack.extend(((*key, index), item) for index, item in enumerate(value))
        elif isinstance(value, float | int) and not isinstance(value, bool):
            try:
                finite = math.isfinite(value)
            except OverflowError:  # an integer past what a float holds
                finite = False
            if not finite:
                position = document.position(key)
                shown = f"{value:g}" if isinstance(value, float) else "an integer past 1e308"
                raise ConfigError(
                    f"{_dotted(key)}: {shown} is not a finite number",
                    hint="write a number, or leave the rule out",
                    path=document.path,
                    line=position.line if position else None,
                    column=position.column if position else None,
                )


def default_config() -> ConfigFile:
    return ConfigFile(config=Config(), path=None)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of mlci.yaml, for editors and `check-jsonschema`."""
    schema = msgspec.json.schema(Config)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "mlci.yaml"
    return schema


def to_builtins(config: Config) -> Any:
    return msgspec.to_builtins(config)


# --- turning msgspec's errors into file:line:column messages ---------------------------------

_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_PATH_PART = re.compile(r"\.([^.\[]+)|\[(\d+)\]")
_EXPECTED = re.compile(r"^Expected `(?P<expected>[^`]+)`, got `(?P<got>[^`]+)`$")
_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<field>[^`]+)`$")
_ENUM = re.compile(r"^Invalid enum value (?P<value>.+)$")
_MISSING = re.compile(r"^Object missing required field `(?P<field>[^`]+)`$")
_KINDS = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "null": "null",
    "array": "a list",
    "object": "a mapping",
}


def _config_error(raw: str, document: YamlDocument) -> ConfigError:
    match = _AT.match(raw)
    message = match["message"] if match else raw
    key: PathKey = tuple(
        name if name else int(index)
        for name, index in _PATH_PART.findall((match["path"] or "") if match else "")
    )
    where = _dotted(key)
    hint = None
    prefer_key = False
    if unknown := _UNKNOWN.match(message):
        field = unknown["field"]
        allowed = _fields_at(key)
        key = (*key, field)
        prefer_key = True
        message = f"unknown key {field!r} " + (f"in {where}" if where else "at the top level")
        hint = _did_you_mean(field, allowed)
    elif missing := _MISSING.match(message):
        message = f"missing required key {missing['field']!r}" + (f" in {where}" if where else "")
    elif expected := _EXPECTED.match(message):
        kinds = expected["expected"].split(" | ")
        wanted = " or ".join(_kind(kind) for kind in kinds if kind != "null" or len(kinds) == 1)
        message = f"{where}: expected {wanted}, got {_kind(expected['got'])}"
    elif enum := _ENUM.match(message):
        choices = [str(choice) for choice in typing.get_args(_annotation_at(key))]
        message = f"{where}: {enum['value']} is not one of: {', '.join(choices)}"
        hint = _did_you_mean(enum["value"].strip("'\""), choices)
    else:
        message = f"{where}: {message}" if where else message
    position = document.position(key, prefer_key=prefer_key)
    return ConfigError(
        message,
        hint=hint,
        path=document.path,
        line=position.line if position else None,
        column=position.column if position else None,
    )


def _dotted(key: PathKey) -> str:
    text = ""
    for part in key:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _did_you_mean(value: str, allowed: list[str]) -> str | None:
    import difflib  # only for a config with a mistake in it

    close = difflib.get_close_matches(value, allowed, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    if allowed:
        return "allowed: " + ", ".join(sorted(allowed))
    return None


def _kind(name: str) -> str:
    if name.startswith(("'", '"')):
        return name
    return _KINDS.get(name, name)


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    return f"a {type(value).__name__}"


def _annotation_at(key: PathKey) -> Any:
    """The type the config model declares at `key` (list items for int parts)."""
    annotation: Any = Config
    for part in key:
        if isinstance(part, int):
            args = typing.get_args(annotation)
            annotation = args[0] if args else Any
            continue
        struct = _struct_in(annotation)
        if struct is None:
            return Any
        hints = typing.get_type_hints(struct)
        annotation = hints.get(part, Any)
    optional = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(optional) == 1:
        return optional[0]
    return annotation


def _fields_at(key: PathKey) -> list[str]:
    """The keys allowed at `key` in the config model (for did-you-mean)."""
    struct = _struct_in(_annotation_at(key))
    if struct is None:
        return []
    return [field.encode_name for field in msgspec.structs.fields(struct)]


def _struct_in(annotation: Any) -> type[msgspec.Struct] | None:
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (list, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _struct_in(arg)
            if found is not None:
                return found
    return None
