"""Validating datasets (`mlci validate`, and the first half of the `datasets` step of `mlci
check`), and the gates on how a dataset changed against the base, from values already computed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlci.config import Dataset, Spark
from mlci.errors import InputFileError, MlciError, display_path
from mlci.report.comparison import ColumnDrift, DriftVerdict, Statistic
from mlci.report.model import DatasetResult, GateResult, Problem, Report

if TYPE_CHECKING:
    from mlci.checks.drift import DataComparison
    from mlci.checks.validate import Progress, Validated
    from mlci.integrations.pandera_schemas import LoadedSchema
    from mlci.sources.data_files import DataFile
    from mlci.sources.spark_data import SparkSource


@dataclass
class DatasetRun:
    """One data file of a dataset: its result, and what a comparison needs."""

    result: DatasetResult
    data: DataFile | None = None
    schema: LoadedSchema | None = None
    validated: Validated | None = None
    error: MlciError | None = None
    source: SparkSource | None = None
    """What a Spark dataset was read from (`data` is for the pandas and polars engines)."""


ProgressFactory = Callable[[], "Progress | None"]


def validate_dataset(
    dataset: Dataset,
    root: Path,
    *,
    progress: Progress | None = None,
    keep_frames: bool = False,
    spark: Spark | None = None,
) -> list[DatasetRun]:
    """Validate every file of `dataset` (a path or a glob relative to `root`); a Spark dataset
    (one path, directory or table) on the session `spark` describes."""
    from mlci.checks.validate import ValidationOptions, validate_file
    from mlci.integrations.pandera_schemas import load_schema
    from mlci.sources.data_files import expand_paths, open_data_file

    if dataset.engine == "spark":
        return [_validate_spark(dataset, root, spark)]
    name = dataset.display_name
    assert dataset.path is not None
    label = dataset.path
    try:
        paths = expand_paths(root, dataset.path)
    except MlciError as error:
        return [error_run(name, label, dataset.schema, error)]
    if dataset.schema is None:
        missing = MlciError(
            f"dataset {name!r} has no schema",
            hint="add `schema:` (a pandera YAML file or module:attr)",
        )
        return [error_run(name, label, None, missing)]
    try:
        schema = load_schema(dataset.schema, root, dataset.engine)
    except MlciError as error:
        return [error_run(name, label, dataset.schema, error)]
    options = ValidationOptions(
        engine=dataset.engine, max_failures=dataset.max_failures, chunksize=dataset.chunksize
    )
    runs = []
    for path in paths:
        shown = display_path(path)
        file_name = name if len(paths) == 1 else f"{name} ({shown})"
        try:
            if not path.exists() and (tracked := dvc_tracked(path)) is not None:
                raise InputFileError(
                    "data file is tracked by DVC and not in the work tree",
                    path=path,
                    hint=f"run `dvc pull {tracked[1]}` first; "
                    "in a workflow, after the checkout step",
                )
            data = open_data_file(path, dataset.format, dataset.encoding)
            validated = validate_file(
                data,
                schema,
                name=file_name,
                path_label=shown,
                options=options,
                progress=progress,
                keep_frame=keep_frames,
            )
        except MlciError as error:
            runs.append(error_run(file_name, shown, schema.label, error))
            continue
        runs.append(
            DatasetRun(result=validated.result, data=data, schema=schema, validated=validated)
        )
    return runs


def _validate_spark(dataset: Dataset, root: Path, spark: Spark | None) -> DatasetRun:
    """One Spark dataset: its path (file or directory) or table, read and validated in Spark."""
    from mlci.checks.validate import Stopwatch
    from mlci.checks.validate_spark import validate_spark_frame
    from mlci.integrations.pandera_schemas import load_schema
    from mlci.integrations.spark_session import SparkSettings, spark_session
    from mlci.sources.spark_data import read_spark, spark_source

    name = dataset.display_name
    label = dataset.source
    if dataset.schema is None:
        missing = MlciError(
            f"dataset {name!r} has no schema",
            hint="add `schema:` (a pandera YAML file or module:attr)",
        )
        return error_run(name, label, None, missing)
    try:
        source = spark_source(root, dataset.path, dataset.table, dataset.format)
        if source.path is not None:
            label = display_path(source.path)
        schema = load_schema(dataset.schema, root, "spark")
        session = spark_session(SparkSettings.from_config(spark))
        clock = Stopwatch()
        with clock.phase("read"):
            frame = read_spark(session, source, encoding=dataset.encoding)
        validated = validate_spark_frame(
            frame,
            schema,
            name=name,
            path_label=label,
            max_failures=dataset.max_failures,
            clock=clock,
        )
    except MlciError as error:
        return error_run(name, label, dataset.schema, error)
    return DatasetRun(result=validated.result, schema=schema, validated=validated, source=source)


def error_run(name: str, path: str, schema: str | None, error: MlciError) -> DatasetRun:
    result = DatasetResult(name=name, path=path, schema=schema, status="error", message=str(error))
    return DatasetRun(result=result, error=error)


def add_runs(report: Report, runs: list[DatasetRun], check: str) -> None:
    for run in runs:
        report.datasets.append(run.result)
        if run.error is not None:
            error = run.error
            report.problems.append(
                Problem(check=check, message=str(error), path=error.path, line=error.line)
            )


def breaking_gate(
    dataset: Dataset, name: str, changes: list[Any] | None, reason: str
) -> list[GateResult]:
    if not dataset.forbid_breaking_changes:
        return []
    gate = GateResult(
        metric=f"{name}: schema",
        rule="forbid_breaking_changes",
        status="skipped",
        reason=reason,
        gate=f"dataset {name}",
    )
    if changes is not None:
        breaking = [change for change in changes if change.breaking]
        gate.observed = float(len(breaking))
        gate.limit = 0.0
        if breaking:
            gate.status = "failed"
            gate.reason = "breaking schema changes: " + "; ".join(
                (f"{change.column}: " if change.column else "") + change.detail
                for change in breaking
            )
        else:
            gate.status = "passed"
            gate.reason = "no breaking schema change"
    return [gate]


def dvc_tracked(path: Path) -> tuple[Path, str] | None:
    """(DVC root, path relative to it) when DVC tracks `path` in the work tree."""
    from mlci.integrations.dvc import find_dvc_root, is_dvc_tracked

    root = find_dvc_root(path.parent)
    if root is None:
        return None
    try:
        relative = path.resolve().relative_to(root).as_posix()
    except ValueError:
        return None
    return (root, relative) if is_dvc_tracked(root, relative) else None


_DRIFT_RULES = ("max_psi", "max_ks", "max_null_rate_increase", "max_row_drop_pct")


def skipped_gates(dataset: Dataset, run: DatasetRun, reason: str) -> list[GateResult]:
    gates = []
    if dataset.drift is not None:
        for rule in _DRIFT_RULES:
            limit = getattr(dataset.drift, rule)
            if limit is not None:
                gates.append(
                    GateResult(
                        metric=run.result.name,
                        rule=rule,
                        status="skipped",
                        reason=reason,
                        severity=dataset.drift.severity,
                        gate=f"dataset {run.result.name}",
                        limit=float(limit),
                    )
                )
    return gates


def drift_gates(dataset: Dataset, name: str, comparison: Any) -> list[GateResult]:
    """One gate per configured drift limit; the worst column decides."""
    drift = dataset.drift
    if drift is None:
        return []
    wanted = set(drift.columns) if drift.columns is not None else None
    columns = [c for c in comparison.columns if wanted is None or c.column in wanted]
    gates = []
    rules: list[tuple[str, float | None, dict[str, float]]] = [
        (
            "max_psi",
            drift.max_psi,
            {c.column: c.drift for c in columns if c.drift_method == "psi" and c.drift is not None},
        ),
        (
            "max_ks",
            drift.max_ks,
            {c.column: c.drift for c in columns if c.drift_method == "ks" and c.drift is not None},
        ),
        (
            "max_null_rate_increase",
            drift.max_null_rate_increase,
            {c.column: c.null_rate_change for c in columns},
        ),
    ]
    if drift.max_row_drop_pct is not None and comparison.rows_old:
        drop = (comparison.rows_old - comparison.rows_new) / comparison.rows_old * 100
        rules.append(("max_row_drop_pct", drift.max_row_drop_pct, {"(rows)": drop}))
    for rule, limit, values in rules:
        if limit is None:
            continue
        gate = GateResult(
            metric=name,
            rule=rule,
            status="passed",
            reason="",
            severity=drift.severity,
            gate=f"dataset {name}",
            limit=float(limit),
            details={"columns": values},
        )
        if not values:
            gate.status = "skipped"
            gate.reason = "no column to measure"
        else:
            worst = max(values, key=lambda column: values[column])
            gate.observed = values[worst]
            gate.metric = f"{name}.{worst}" if worst != "(rows)" else name
            over = sorted(column for column, value in values.items() if value > limit)
            if over:
                gate.status = "failed" if drift.severity == "error" else "warned"
                gate.reason = f"above {limit:g} in: " + ", ".join(over)
            else:
                gate.reason = f"every column within {limit:g}"
        gates.append(gate)
    return gates


def column_drift(dataset: Dataset, comparison: DataComparison) -> list[ColumnDrift]:
    """Every column's drift and null-rate change (and the row drop when it has a limit), each
    against its limit with the verdict the drift gates apply; columns outside `drift.columns`
    and statistics without a limit carry no verdict."""
    drift = dataset.drift
    wanted = set(drift.columns) if drift is not None and drift.columns is not None else None
    severity = drift.severity if drift is not None else "error"

    def measured(column: str, statistic: Statistic, value: float | None, rule: str) -> ColumnDrift:
        limit = getattr(drift, rule) if drift is not None else None
        if limit is None or value is None or (wanted is not None and column not in wanted):
            return ColumnDrift(column, statistic, value)
        verdict: DriftVerdict = "passed"
        if value > limit:
            verdict = "failed" if severity == "error" else "warned"
        return ColumnDrift(column, statistic, value, limit=float(limit), verdict=verdict)

    rows = []
    for change in comparison.columns:
        if change.drift_method is not None:
            rule = "max_psi" if change.drift_method == "psi" else "max_ks"
            row = measured(change.column, change.drift_method, change.drift, rule)
            row.p_value = change.p_value
            rows.append(row)
        row = measured(
            change.column, "null_rate_change", change.null_rate_change, "max_null_rate_increase"
        )
        row.before, row.after = change.null_rate_old, change.null_rate_new
        rows.append(row)
    if drift is not None and drift.max_row_drop_pct is not None and comparison.rows_old:
        drop = (comparison.rows_old - comparison.rows_new) / comparison.rows_old * 100
        rows.append(measured("(rows)", "row_drop_pct", drop, "max_row_drop_pct"))
    return rows
