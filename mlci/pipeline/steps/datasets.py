"""The `datasets` step: validate every dataset of mlci.yaml, then compare its schema and data
with the base revision (read through git, or through DVC when DVC tracks the file).

Decision: validation failures make the dataset `invalid`; a breaking schema change or drift
beyond a configured limit is a gate (a GateResult named after the dataset), because it is a rule
about change against the base, like the metric gates, and may be a warning. The dataset's own
status stays about its schema.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from mlci.checks.datasets import (
    DatasetRun,
    add_runs,
    breaking_gate,
    column_drift,
    drift_gates,
    dvc_tracked,
    skipped_gates,
    validate_dataset,
)
from mlci.config import Dataset
from mlci.errors import InputFileError, MlciError
from mlci.pipeline.context import CheckContext
from mlci.report.comparison import DataChanges, DatasetComparison, SchemaChange, SchemaChanges
from mlci.report.model import GateResult, Problem, Report


def run(context: CheckContext, report: Report) -> None:
    """Validate every configured dataset; compare with the base where `compare_base` is on."""
    for dataset in context.config.config.datasets:
        if context.only_datasets is not None and dataset.display_name not in context.only_datasets:
            continue
        keep = dataset.compare_base and dataset.chunksize is None
        runs = validate_dataset(
            dataset,
            context.config.root,
            progress=context.progress,
            keep_frames=keep,
            spark=context.config.config.spark,
        )
        add_runs(report, runs, "datasets")
        if not dataset.compare_base:
            continue
        for run in runs:
            if run.error is None:
                report.gates += compare_with_base(context, dataset, run, report.problems)


# --- against the base revision ---------------------------------------------------------------


def compare_with_base(
    context: CheckContext,
    dataset: Dataset,
    run: DatasetRun,
    problems: list[Problem] | None = None,
) -> list[GateResult]:
    """Fill the run's comparison with schema changes and data changes; return the dataset
    gates."""
    try:
        base = context.base_revision()
        git = context.git
    except MlciError as error:
        run.result.comparison = DatasetComparison(
            status="skipped", reason=f"no git base revision to compare with: {error.message}"
        )
        return skipped_gates(dataset, run, "no git base revision")
    run.result.comparison = DatasetComparison(status="compared", base=base.label, sha=base.sha)
    gates: list[GateResult] = []
    assert run.schema is not None
    gates += _compare_schema(git, base.sha, dataset, run)
    if run.source is not None:
        gates += _compare_spark_data(git, base.sha, dataset, run, problems)
        return gates
    assert run.data is not None
    gates += _compare_data(git, base.sha, dataset, run, problems)
    return gates


def _compare_schema(git: Any, sha: str, dataset: Dataset, run: DatasetRun) -> list[GateResult]:
    from mlci.checks.schema_diff import describe, diff_schemas
    from mlci.integrations.pandera_schemas import schema_from_text

    schema = run.schema
    assert schema is not None
    comparison = run.result.comparison
    assert comparison is not None
    name = run.result.name
    if schema.document is None or schema.path is None:
        comparison.schema = SchemaChanges(
            "skipped", "Python schemas are not compared across revisions"
        )
        return breaking_gate(dataset, name, None, "Python schema not compared")
    try:
        relative = git.relative(schema.path)
        content = git.read_files(sha, [relative])[relative]
    except MlciError as error:
        comparison.schema = SchemaChanges("skipped", error.message)
        return breaking_gate(dataset, name, None, error.message)
    if content is None:
        comparison.schema = SchemaChanges("new", "the schema file is not in the base revision")
        return breaking_gate(dataset, name, [], "")
    try:
        old = schema_from_text(content.decode("utf-8"), schema.path, schema.api)
    except (MlciError, UnicodeDecodeError) as error:
        reason = error.message if isinstance(error, MlciError) else "not UTF-8"
        comparison.schema = SchemaChanges(
            "skipped", f"the base revision's schema does not load: {reason}"
        )
        return breaking_gate(dataset, name, None, "base schema does not load")
    changes = diff_schemas(describe(old.schema), describe(schema.schema))
    comparison.schema = SchemaChanges(
        "compared",
        changes=[
            SchemaChange(
                column=change.column,
                kind=change.kind,
                before=change.old,
                after=change.new,
                breaking=change.breaking,
                detail=change.detail,
            )
            for change in changes
        ],
    )
    return breaking_gate(dataset, name, changes, "")


def _compare_data(
    git: Any, sha: str, dataset: Dataset, run: DatasetRun, problems: list[Problem] | None
) -> list[GateResult]:
    from mlci.checks.drift import compare_frames
    from mlci.sources.data_files import read_frame_bytes

    comparison = run.result.comparison
    assert comparison is not None
    data = run.data
    assert data is not None
    frame = run.validated.frame if run.validated else None
    if frame is None:
        comparison.data = DataChanges(
            "skipped", "validated in chunks: the comparison needs the whole file in memory"
        )
        return skipped_gates(dataset, run, "validated in chunks")
    try:
        relative = git.relative(data.path)
        content = git.read_files(sha, [relative])[relative]
        source: Literal["git", "dvc"] = "git"
        if content is None:  # git may hold only its .dvc file: DVC has the data
            content, source = _base_from_dvc(data.path, sha), "dvc"
    except MlciError as error:
        comparison.data = DataChanges("skipped", error.message)
        return skipped_gates(dataset, run, error.message)
    if content is None:
        comparison.data = DataChanges(
            "new", "the data file is not in the base revision (new, or not tracked by git)"
        )
        return skipped_gates(dataset, run, "no base data")
    try:
        old = read_frame_bytes(content, data)
    except MlciError as error:
        return _base_does_not_load(error, sha, dataset, run, problems, error.path, error.line)
    return _compared(compare_frames(old, frame), source, dataset, run)


def _compare_spark_data(
    git: Any, sha: str, dataset: Dataset, run: DatasetRun, problems: list[Problem] | None
) -> list[GateResult]:
    """The data at the base revision (a file, or a directory of files, from git or DVC) read
    with Spark and compared with the head in Spark (checks/drift_spark.py)."""
    import tempfile

    from mlci.checks.drift_spark import compare_spark_frames
    from mlci.sources.spark_data import read_spark

    comparison = run.result.comparison
    assert comparison is not None
    source = run.source
    assert source is not None
    frame = run.validated.frame if run.validated else None
    if source.path is None or frame is None:
        where = f"table {source.table}" if source.table else source.label()
        comparison.data = DataChanges(
            "skipped", f"{where} has no copy at the base revision in git to compare with"
        )
        return skipped_gates(dataset, run, "no base data")
    from_source: Literal["git", "dvc"] = "git"
    try:
        relative = git.relative(source.path)
        if source.path.is_dir():
            listed = git.run("ls-tree", "-r", "--name-only", sha, "--", relative + "/")
            names = [name for name in listed.decode("utf-8").splitlines() if name]
            contents = git.read_files(sha, names) if names else {}
        else:
            contents = git.read_files(sha, [relative])
            if contents.get(relative) is None:
                contents = {relative: _base_from_dvc(source.path, sha)}
                from_source = "dvc"
    except MlciError as error:
        comparison.data = DataChanges("skipped", error.message)
        return skipped_gates(dataset, run, error.message)
    present = {name: content for name, content in contents.items() if content is not None}
    if not present:
        comparison.data = DataChanges(
            "new", "the data is not in the base revision (new, or not tracked by git)"
        )
        return skipped_gates(dataset, run, "no base data")
    with tempfile.TemporaryDirectory(prefix="mlci-spark-base-") as scratch:
        base_root = Path(scratch)
        for name, content in present.items():
            target = base_root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        base_source = replace(source, path=base_root / relative)
        try:
            session = frame.sparkSession
            old = read_spark(session, base_source, encoding=dataset.encoding)
            frames = compare_spark_frames(old, frame)
        except MlciError as error:
            return _base_does_not_load(error, sha, dataset, run, problems, str(source.path))
    return _compared(frames, from_source, dataset, run)


def _base_does_not_load(
    error: MlciError,
    sha: str,
    dataset: Dataset,
    run: DatasetRun,
    problems: list[Problem] | None,
    path: str | None,
    line: int | None = None,
) -> list[GateResult]:
    """The base revision's copy exists but does not load: said in the comparison, and a problem
    of its own, so a broken base copy never passes the drift gates unsaid."""
    assert run.result.comparison is not None
    run.result.comparison.data = DataChanges(
        "skipped", f"the base revision's data does not load: {error.message}"
    )
    if problems is not None:
        problems.append(
            Problem(
                check="datasets",
                message=f"{error} (the copy at the base revision {sha[:12]})",
                path=path,
                line=line,
            )
        )
    return skipped_gates(dataset, run, "base data does not load")


def _compared(
    frames: Any, base_from: Literal["git", "dvc"], dataset: Dataset, run: DatasetRun
) -> list[GateResult]:
    """The comparison of head and base frames (pandas, polars or Spark) and its drift gates."""
    assert run.result.comparison is not None
    run.result.comparison.data = DataChanges(
        "compared",
        base_from=base_from,
        rows_before=frames.rows_old,
        rows_after=frames.rows_new,
        columns_added=frames.columns_added,
        columns_removed=frames.columns_removed,
        drift=column_drift(dataset, frames),
    )
    return drift_gates(dataset, run.result.name, frames)


def _base_from_dvc(path: Path, sha: str) -> bytes | None:
    """The data file as it was at `sha`, read through DVC (its cache, else its remote) when DVC
    tracks it; None when it is not tracked, or was not there at `sha`."""
    tracked = dvc_tracked(path)
    if tracked is None:
        return None
    from mlci.integrations.dvc import known_at_revision, read_at_revision

    root, relative = tracked
    try:
        return read_at_revision(root, relative, sha)
    except InputFileError:
        if known_at_revision(root, relative, sha):
            raise  # there, but in neither the cache nor the remote
        return None
