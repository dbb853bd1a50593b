"""The Report: plain typed data that every renderer (text, markdown, JSON) only displays.

The JSON shape produced by `report_to_dict` is a documented, stable contract (docs/report.md).
Add fields; never rename or remove them within a `schema_version`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from mlci import __version__
from mlci.report.comparison import DatasetComparison
from mlci.report.curves import ModelCurves
from mlci.report.metric_change import MetricChange
from mlci.report.model_diff import ModelDiff, model_diff_to_dict

REPORT_SCHEMA_VERSION = 2
"""2: `datasets[].details` (an untyped mapping) became the typed `datasets[].comparison`."""

GateStatus = Literal["passed", "failed", "warned", "skipped"]
DatasetStatus = Literal["valid", "invalid", "error"]


@dataclass
class MetricsDiff:
    base: str | None
    """What the head was compared with: a commit, `baseline/` or an MLflow run, as a label."""
    head: str
    metrics: list[MetricChange] = field(default_factory=list)
    params: list[MetricChange] = field(default_factory=list)


@dataclass
class GateResult:
    metric: str
    rule: str
    """The rule name as written in mlci.yaml (`min`, `max_drop`, `significance`, ...)."""
    status: GateStatus
    reason: str
    severity: Literal["error", "warning"] = "error"
    gate: str | None = None
    """The gate's name, when it has one."""
    observed: float | None = None
    baseline: float | None = None
    limit: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    """Rule-specific numbers, such as the confidence interval and p-value of `significance`."""


@dataclass
class FailureCase:
    value: Any
    row: int | None = None
    """0-based row index in the data (None for schema-level failures)."""
    line: int | None = None
    """1-based line in the data file, when the row maps to one."""


@dataclass
class CheckFailure:
    check: str
    column: str | None
    failing: int
    """Number of failing rows (or 1 for schema-level failures)."""
    schema_level: bool = False
    cases: list[FailureCase] = field(default_factory=list)
    path: str | None = None
    """The file the failure points at: the schema file for schema-level failures (a missing
    column, a wrong dtype), the data file for row-level ones (each case then has its line)."""
    line: int | None = None
    """For schema-level failures: the line of the column in the schema file."""
    check_number: int | None = None
    """pandera's index of the check among the column's checks (tells apart two checks of the same
    name)."""


@dataclass
class DatasetResult:
    name: str
    path: str
    schema: str | None
    status: DatasetStatus
    rows: int | None = None
    columns: int | None = None
    failures: list[CheckFailure] = field(default_factory=list)
    message: str | None = None
    comparison: DatasetComparison | None = None
    """Schema changes, data changes and drift against the base revision (`mlci check` with
    `compare_base`); None when the dataset was not compared."""
    seconds: dict[str, float] = field(default_factory=dict)
    """Wall time of each phase: `read` (the file into a frame) and `validate` (pandera), summed
    over chunks; it differs from run to run."""
    unchecked: list[str] = field(default_factory=list)
    """Rules of the schema the engine's pandera backend cannot check (the Spark engine: a
    column's `unique`, an index, ...), each named; empty when every rule was checked."""


@dataclass
class Problem:
    """An input error met while running one check: that check could not run, the rest did."""

    check: str
    message: str
    path: str | None = None
    line: int | None = None


@dataclass
class DataChange:
    """One DVC-tracked output or stage dependency whose recorded hash differs between base and
    head (from `.dvc` files and `dvc.lock`)."""

    path: str
    """The data (or code) path, relative to the repository root."""
    change: Literal["modified", "added", "removed"]
    source: str
    """The `.dvc` file or `dvc.lock` that records it."""
    role: Literal["out", "dep"]
    """`out`: data tracked by a `.dvc` file or produced by a stage; `dep`: a stage dependency."""
    stage: str | None = None
    """The dvc.lock stage it belongs to."""
    old_hash: str | None = None
    new_hash: str | None = None
    old_size: int | None = None
    new_size: int | None = None
    old_files: int | None = None
    """Number of files, for a tracked directory."""
    new_files: int | None = None


@dataclass
class MlflowRunRef:
    """The MLflow run the head's results were logged to (`mlflow: {log: true}`)."""

    run_id: str
    experiment: str
    tracking_uri: str


@dataclass
class TrainResult:
    """What `mlci train` did for this head (`train:` in mlci.yaml): ran the command, or found
    the inputs unchanged and restored the outputs of an earlier run."""

    skipped: bool
    """The command did not run: the outputs were restored (or DVC had nothing to run)."""
    inputs_hash: str
    """The inputs hash (for DVC: the digest of dvc.lock)."""
    commit: str | None = None
    """The commit the outputs were trained at (for a skipped run: `unchanged since <commit>`)."""
    seconds: float | None = None
    """How long the command ran, when it ran (or how long the restored run took)."""
    engine: Literal["mlci", "dvc"] = "mlci"
    stale: bool = False
    """The inputs changed since the last `mlci train`: the outputs may not be this head's."""
    undeclared_imports: list[str] = field(default_factory=list)
    """Tracked Python files the training script imports that `train.inputs` does not cover."""


@dataclass
class TrendMetric:
    """A gated metric of the trend."""

    path: str
    name: str
    direction: Literal["higher", "lower"] | None = None


@dataclass
class TrendPoint:
    """One recorded base-branch commit: its values, in the order of `HistoryTrend.metrics`."""

    commit: str
    recorded_at: str
    values: list[float | None] = field(default_factory=list)


@dataclass
class HistoryTrend:
    """The gated metrics over the last recorded base-branch commits, and the head's."""

    source: str
    """Where the records are: `origin/mlci-history`, an MLflow experiment."""
    metrics: list[TrendMetric] = field(default_factory=list)
    points: list[TrendPoint] = field(default_factory=list)
    """Oldest first, up to the merge-base."""
    head: list[float | None] = field(default_factory=list)
    note: str | None = None
    """Why there is no trend yet (no record), when there is none."""


@dataclass
class PushMetrics:
    """The gated metrics of one earlier push to this pull request, kept in its sticky comment."""

    commit: str
    values: dict[str, float | None] = field(default_factory=dict)


ProjectStatus = Literal["passed", "failed", "error", "unchanged"]


@dataclass
class ProjectResult:
    """One project of a repository with several models (`mlci check --all` / `--changed`)."""

    path: str
    """The project directory, relative to the root mlci.yaml."""
    status: ProjectStatus
    report: Report | None = None
    """Its own report; None when it did not run."""
    reason: str | None = None
    """Why it did not run (`--changed`: nothing it depends on changed)."""


@dataclass
class Partial:
    """A report of some parts of a check (`mlci check --only`), to be combined with the reports
    of the other parts by `mlci report merge`."""

    parts: list[str]
    """The parts this report holds (`datasets:NAME`, `gates`, `projects:PATH`, ...), in order."""
    of: list[str]
    """Every part of the check, in the order a whole check runs them."""

    @property
    def missing(self) -> list[str]:
        held = set(self.parts)
        return [part for part in self.of if part not in held]


@dataclass
class Report:
    title: str = "mlci report"
    report_id: str = "default"
    config: str | None = None
    base: str | None = None
    """The base revision (or baseline) everything was compared with."""
    diff: MetricsDiff | None = None
    gates: list[GateResult] = field(default_factory=list)
    datasets: list[DatasetResult] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    data_changes: list[DataChange] = field(default_factory=list)
    """DVC-tracked data and stage dependencies that changed against the base."""
    mlflow_run: MlflowRunRef | None = None
    train: TrainResult | None = None
    """What training did for this head, when mlci.yaml declares `train:`."""
    projects: list[ProjectResult] = field(default_factory=list)
    """`mlci check --all`: one report per project; the status is the worst of theirs."""
    curves: ModelCurves | None = None
    """ROC, precision-recall and calibration (classification) or residuals and deciles
    (regression) of head and base predictions, resampled for charts."""
    model: ModelDiff | None = None
    """The model diff from paired predictions (`predictions:`): per class, slices, examples."""
    head_sha: str | None = None
    """The commit checked (git's HEAD), so that the reports of one run's shards can be told
    from another run's; None outside a git repository."""
    partial: Partial | None = None
    """Set when the report holds only some parts of the check (`--only`, `--skip`)."""
    history: HistoryTrend | None = None
    """The head against the base-branch history (`history:` in mlci.yaml)."""
    pushes: list[PushMetrics] = field(default_factory=list)
    """The gated metrics of this pull request's earlier pushes, oldest first (read back from
    the sticky comment when it is updated)."""
    mlci_version: str = __version__

    @property
    def failed(self) -> bool:
        return (
            any(g.status == "failed" for g in self.gates)
            or any(d.status == "invalid" for d in self.datasets)
            or any(p.status == "failed" for p in self.projects)
        )

    @property
    def status(self) -> Literal["passed", "failed", "error"]:
        if self.problems or any(p.status == "error" for p in self.projects):
            return "error"
        return "failed" if self.failed else "passed"

    @property
    def exit_code(self) -> int:
        return {"passed": 0, "failed": 1, "error": 2}[self.status]

    def counts(self) -> dict[str, dict[str, int]]:
        gates = dict.fromkeys(("passed", "failed", "warned", "skipped"), 0)
        for gate in self.gates:
            gates[gate.status] += 1
        datasets = dict.fromkeys(("valid", "invalid", "error"), 0)
        for dataset in self.datasets:
            datasets[dataset.status] += 1
        metrics = dict.fromkeys(("improved", "regressed", "unchanged", "changed"), 0)
        metrics.update(added=0, removed=0)
        for change in self.diff.metrics if self.diff else []:
            metrics[change.verdict] += 1
        totals = {"gates": gates, "datasets": datasets, "metrics": metrics}
        for project in self.projects:  # a repository of several models counts all of them
            for group, values in project.report.counts().items() if project.report else ():
                for key, value in values.items():
                    totals[group][key] += value
        return totals


def report_to_dict(report: Report) -> dict[str, Any]:
    """The stable JSON shape; non-finite floats become "NaN", "Infinity" or "-Infinity"."""
    body = asdict(report)
    body["projects"] = [
        {**asdict(project), "report": report_to_dict(project.report) if project.report else None}
        for project in report.projects
    ]
    if report.model is not None:
        body["model"] = model_diff_to_dict(report.model)
    data: dict[str, Any] = {
        "schema_version": REPORT_SCHEMA_VERSION,
        "mlci_version": body.pop("mlci_version"),
        "status": report.status,
        "exit_code": report.exit_code,
        "counts": report.counts(),
        **body,
    }
    return _json_safe(data)  # type: ignore[no-any-return]


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    return value
