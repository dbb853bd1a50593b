"""Validate data files against pandera schemas, lazily, into DatasetResults.

Every failing check is reported, grouped exactly as pandera's own `failure_cases` table is:
one CheckFailure per (column, check), `failing` = the number of failure cases pandera lists, the
first `max_failures` of them kept with their row (and file line, where the format has lines).

Chunked mode reads CSV/TSV/JSON Lines/Parquet a chunk at a time. Uniqueness cannot be judged
inside one chunk, so it is checked across the whole file: every row's value is hashed (8 bytes a
row), rows whose hash repeats are read again in a second pass and pandera judges them, which gives
exactly the failures a whole-file validation gives.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from mlci.errors import InputFileError, display_path
from mlci.integrations.pandera_schemas import LoadedSchema
from mlci.report.model import CheckFailure, DatasetResult, FailureCase
from mlci.sources.data_files import DataFile, Engine, LineMap, read_chunks, read_frame

# Checks whose pandera failure case is the name of a column rather than a value.
_COLUMN_NAME_CHECKS = ("column_in_dataframe", "column_in_schema")
_UNIQUENESS_CHECKS = ("field_uniqueness", "multiple_fields_uniqueness")


class Progress(Protocol):
    """Where a long validation reports how far it got (the CLI draws a bar on a terminal)."""

    def stage(self, description: str, total: int | None = None) -> None: ...

    def advance(self, completed: int) -> None: ...


@dataclass(frozen=True)
class ValidationOptions:
    engine: Engine = "pandas"
    max_failures: int = 20
    """Failure cases kept per failing check."""
    chunksize: int | None = None
    """Validate in chunks of this many rows (pandas engine; CSV, TSV, JSON Lines, Parquet)."""


class Stopwatch:
    """Wall time per phase of a validation (`read`, `validate`), summed over chunks."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start

    def each(self, name: str, items: Iterable[Any]) -> Iterator[Any]:
        """`items`, with the time spent producing them (reading chunks) counted as `name`."""
        iterator = iter(items)
        while True:
            with self.phase(name):
                try:
                    item = next(iterator)
                except StopIteration:
                    return
            yield item

    def rounded(self) -> dict[str, float]:
        return {name: round(value, 3) for name, value in self.seconds.items()}


@dataclass
class Validated:
    result: DatasetResult
    frame: Any | None = None
    """The data as a pandas DataFrame, for comparisons (None when validated in chunks)."""


def validate_file(
    data: DataFile,
    schema: LoadedSchema,
    *,
    name: str,
    path_label: str,
    options: ValidationOptions,
    progress: Progress | None = None,
    keep_frame: bool = False,
) -> Validated:
    """Validate one data file; bad input raises InputFileError, failed checks are results."""
    if options.chunksize is not None:
        if options.engine != "pandas":
            raise InputFileError(
                "chunked validation runs on the pandas engine",
                path=data.path,
                hint="drop `chunksize` to validate with polars (it needs no chunks for speed), "
                "or use `engine: pandas`",
            )
        return _validate_chunked(data, schema, name, path_label, options, progress)
    clock = Stopwatch()
    if progress:
        progress.stage(f"reading {data.path.name}")
    with clock.phase("read"):
        frame = read_frame(data, options.engine)
    if progress:
        progress.stage(f"validating {data.path.name}")
    collector = FailureCollector(options.max_failures)
    with clock.phase("validate"):
        collector.add(run_pandera(schema.schema, frame))
    rows, columns = frame.shape
    result = _result(name, path_label, schema, collector, data, int(rows), int(columns))
    result.seconds = clock.rounded()
    kept = None
    if keep_frame:
        kept = frame.to_pandas() if options.engine == "polars" else frame
    return Validated(result=result, frame=kept)


def run_pandera(schema: Any, frame: Any) -> Any:
    """pandera's failure_cases table (as pandas) for `frame`, or None when it is valid."""
    from pandera.errors import SchemaError, SchemaErrors

    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as errors:
        cases = errors.failure_cases
    except SchemaError as error:
        import pandas as pd

        cases = pd.DataFrame(
            {
                "schema_context": [type(error.schema).__name__],
                "column": [getattr(error.schema, "name", None)],
                "check": [str(error.check) if error.check is not None else "schema"],
                "check_number": [error.check_index],
                "failure_case": [str(error)],
                "index": [None],
            }
        )
    else:
        return None
    return cases  # pandas, or polars (the same columns as a polars DataFrame)


@dataclass
class FailureCollector:
    """Groups pandera failure cases as pandera does, across one or many validations."""

    max_failures: int
    groups: dict[tuple[Any, ...], CheckFailure] = field(default_factory=dict)
    _schema_seen: set[tuple[Any, ...]] = field(default_factory=set)

    def add(self, cases: Any, *, only: tuple[str, ...] | None = None) -> None:
        if cases is None or len(cases) == 0:
            return
        for key, count, values, indexes in _grouped(cases, self.max_failures, only):
            _context, column, check, number = key
            if all(_missing(index) for index in indexes):
                self._add_schema_level(key, values)
                continue
            failure = self.groups.get(key)
            if failure is None:
                failure = self.groups[key] = CheckFailure(
                    check=str(check),
                    column=_column_label(column),
                    failing=0,
                    check_number=_number(number),
                )
            failure.failing += count
            room = self.max_failures - len(failure.cases)
            for value, index in zip(values[:room], indexes[:room], strict=True):
                row = None if _missing(index) else int(index)
                failure.cases.append(FailureCase(value=_plain(value), row=row))

    def _add_schema_level(self, key: tuple[Any, ...], values: list[Any]) -> None:
        _context, column, check, _number = key
        for value in values:
            seen = (*key, str(value))
            if seen in self._schema_seen:
                continue
            self._schema_seen.add(seen)
            if check in _COLUMN_NAME_CHECKS:
                # pandera names the schema in `column` and the column in the failure case.
                group_key = (*key, str(value))
                label: str | None = str(value)
            else:
                group_key = key
                label = _column_label(column)
            failure = self.groups.get(group_key)
            if failure is None:
                failure = self.groups[group_key] = CheckFailure(
                    check=str(check), column=label, failing=0, schema_level=True
                )
            failure.failing += 1
            if len(failure.cases) < self.max_failures:
                failure.cases.append(FailureCase(value=_plain(value)))

    def failures(self) -> list[CheckFailure]:
        return list(self.groups.values())


_KEYS = ["schema_context", "column", "check", "check_number"]


def _grouped(
    cases: Any, limit: int, only: tuple[str, ...] | None
) -> Iterator[tuple[tuple[Any, ...], int, list[Any], list[Any]]]:
    """(key, number of cases, first `limit` values, their indexes) per (column, check), in
    pandera's order; pandas or polars failure_cases alike (polars stays polars: no pyarrow)."""
    limit = max(limit, 1)
    if hasattr(cases, "iloc"):
        if only is not None:
            cases = cases[cases["check"].isin(only)]
        for key, group in cases.groupby(_KEYS, sort=False, dropna=False):
            context, column, check, number = key
            head = group.head(limit)
            yield (
                (context, _plain(column), check, _plain(number)),
                len(group),
                head["failure_case"].tolist(),
                head["index"].tolist(),
            )
        return
    import polars as pl

    if only is not None:
        cases = cases.filter(pl.col("check").is_in(list(only)))
    summary = cases.group_by(_KEYS, maintain_order=True).agg(
        pl.len().alias("count"),
        pl.col("failure_case").head(limit).alias("values"),
        pl.col("index").head(limit).alias("indexes"),
    )
    for row in summary.iter_rows(named=True):
        key = (row["schema_context"], row["column"], row["check"], row["check_number"])
        yield key, int(row["count"]), list(row["values"]), list(row["indexes"])


def _result(
    name: str,
    path_label: str,
    schema: LoadedSchema,
    collector: FailureCollector,
    data: DataFile,
    rows: int,
    columns: int,
) -> DatasetResult:
    failures = collector.failures()
    locate_failures(failures, data, path_label, schema)
    return DatasetResult(
        name=name,
        path=path_label,
        schema=schema.label,
        status="invalid" if failures else "valid",
        rows=rows,
        columns=columns,
        failures=failures,
    )


def locate_failures(
    failures: list[CheckFailure], data: DataFile, path_label: str, schema: LoadedSchema
) -> None:
    """Point row-level failures at the data file's lines, schema-level ones at the schema."""
    line_map = LineMap(data)
    try:
        rows = [case.row for failure in failures for case in failure.cases if case.row is not None]
        lines = line_map.lines(rows)
    finally:
        line_map.close()
    schema_path = None
    if schema.path is not None and schema.document is not None:
        schema_path = display_path(schema.path)
    for failure in failures:
        if failure.schema_level:
            failure.path = schema_path
            column = failure.column if failure.check != "column_in_schema" else None
            failure.line = schema.line_of(column) if schema_path else None
        else:
            failure.path = path_label
            for case in failure.cases:
                if case.row is not None:
                    case.line = lines.get(case.row)


# --- chunked validation ----------------------------------------------------------------------


@dataclass
class _UniqueSet:
    """Columns that must be unique together (one column, or a schema-level `unique:`)."""

    columns: list[str]
    frame_level: bool
    hashes: list[Any] = field(default_factory=list)


def _validate_chunked(
    data: DataFile,
    schema: LoadedSchema,
    name: str,
    path_label: str,
    options: ValidationOptions,
    progress: Progress | None,
) -> Validated:
    import pandas as pd

    assert options.chunksize is not None
    chunk_schema, unique_sets = _split_uniqueness(schema.schema)
    collector = FailureCollector(options.max_failures)
    size = data.size()
    if progress:
        progress.stage(f"validating {data.path.name}", total=size)
    chunks, bytes_read = read_chunks(data, options.chunksize)
    # A chunk without nulls reads an int column as int64 where the whole file reads float64.
    floats = {
        str(name): str(column.dtype)
        for name, column in schema.schema.columns.items()
        if str(column.dtype).startswith("float")
    }
    rows = 0
    columns = 0
    clock = Stopwatch()
    for chunk in clock.each("read", chunks):
        if rows == 0:
            columns = chunk.shape[1]
        for name, dtype in floats.items():
            if name in chunk and pd.api.types.is_integer_dtype(chunk[name].dtype):
                chunk[name] = chunk[name].astype(dtype)
        rows += len(chunk)
        with clock.phase("validate"):
            collector.add(run_pandera(chunk_schema, chunk))
            for unique in unique_sets:
                present = [column for column in unique.columns if column in chunk]
                if len(present) == len(unique.columns) or (unique.frame_level and present):
                    unique.columns = present if unique.frame_level else unique.columns
                    hashed = pd.util.hash_pandas_object(chunk[present], index=False)
                    unique.hashes.append(hashed.to_numpy())
        if progress:
            progress.advance(min(bytes_read(), size))
    with clock.phase("validate"):  # which hashes repeat, then pandera judges those rows
        candidates = _repeated_hashes(unique_sets)
        if candidates:
            _judge_repeats(data, schema, unique_sets, candidates, options, collector)
    result = _result(name, path_label, schema, collector, data, rows, columns)
    result.seconds = clock.rounded()
    return Validated(result=result)


def _repeated_hashes(unique_sets: list[_UniqueSet]) -> dict[int, Any]:
    """For each uniqueness rule (by number), the sorted rows whose hash occurs more than once."""
    import numpy as np

    candidates: dict[int, Any] = {}
    for number, unique in enumerate(unique_sets):
        if not unique.hashes:
            continue
        hashes = np.concatenate(unique.hashes)
        unique.hashes = []
        order = np.argsort(hashes, kind="stable")
        ordered = hashes[order]
        same = ordered[1:] == ordered[:-1]
        mask = np.zeros(len(ordered), dtype=bool)
        mask[1:] |= same
        mask[:-1] |= same
        if mask.any():
            candidates[number] = np.sort(order[mask])
    return candidates


def _split_uniqueness(schema: Any) -> tuple[Any, list[_UniqueSet]]:
    """The schema without uniqueness rules, and those rules."""
    sets = [
        _UniqueSet(columns=[str(name)], frame_level=False)
        for name, column in schema.columns.items()
        if column.unique
    ]
    if schema.unique:
        groups = (
            [schema.unique] if all(isinstance(x, str) for x in schema.unique) else schema.unique
        )
        sets += [_UniqueSet(columns=list(group), frame_level=True) for group in groups]
    stripped = copy.deepcopy(schema)
    stripped.unique = None
    if any(not unique.frame_level for unique in sets):
        stripped = stripped.update_columns(
            {unique.columns[0]: {"unique": False} for unique in sets if not unique.frame_level}
        )
    return stripped, sets


def _judge_repeats(
    data: DataFile,
    schema: LoadedSchema,
    unique_sets: list[_UniqueSet],
    candidates: dict[int, Any],
    options: ValidationOptions,
    collector: FailureCollector,
) -> None:
    """Read the rows whose hashes repeat and let pandera judge their uniqueness exactly."""
    import numpy as np
    import pandas as pd
    from pandera.api.pandas.components import Column
    from pandera.api.pandas.container import DataFrameSchema

    assert options.chunksize is not None
    needed = sorted({column for number in candidates for column in unique_sets[number].columns})
    wanted = np.unique(np.concatenate(list(candidates.values())))
    kept = []
    chunks, _ = read_chunks(data, options.chunksize, columns=needed)
    for chunk in chunks:
        rows = chunk.index.to_numpy()
        kept.append(chunk[np.isin(rows, wanted, assume_unique=True)])
    repeats = pd.concat(kept) if kept else pd.DataFrame(columns=needed)
    original = schema.schema
    for number in candidates:
        unique = unique_sets[number]
        if unique.frame_level:
            check = DataFrameSchema(
                columns={},
                unique=unique.columns,
                report_duplicates=original.report_duplicates,
                name=original.name,
            )
        else:
            column = original.columns[unique.columns[0]]
            check = DataFrameSchema(
                columns={
                    unique.columns[0]: Column(
                        nullable=column.nullable,
                        unique=True,
                        report_duplicates=column.report_duplicates,
                        required=False,
                    )
                },
                name=original.name,
            )
        subset = repeats.loc[candidates[number], unique.columns]
        collector.add(run_pandera(check, subset), only=_UNIQUENESS_CHECKS)


# --- values --------------------------------------------------------------------------------------


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN, NaT
    except (TypeError, ValueError):
        return False


def _number(value: Any) -> int | None:
    return None if _missing(value) else int(value)


def _column_label(column: Any) -> str | None:
    column = _plain(column)
    return None if column is None else str(column)


def _plain(value: Any) -> Any:
    """A JSON-friendly Python value for a failure case (numpy scalars, timestamps, NA)."""
    if value is None:
        return None
    if hasattr(value, "isoformat"):
        try:
            return value.isoformat()
        except ValueError:  # NaT
            return None
    if hasattr(value, "item") and not isinstance(value, list | dict | str):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            return str(value)
    if isinstance(value, float):
        return value if not math.isnan(value) else math.nan
    if isinstance(value, bool | int | str):
        return value
    if _missing(value):
        return None
    return str(value)
