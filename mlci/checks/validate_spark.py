"""Validate a Spark DataFrame with pandera's PySpark backend into the same DatasetResult the
pandas and polars engines give (rows, columns, failing checks with capped failure cases).

pandera's PySpark backend says *which* checks fail, not on which values: it asks Spark whether
one failing row exists (`filter(~condition).limit(1)`). mlci then counts the failing rows of every
failing check in one aggregation over the data, and takes the first `max_failures` failing values
of each with a `limit`: Spark does the work, the driver receives only counts and those values.
Spark DataFrames have no row index, so a Spark failure case has a value and no row or line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlci.checks.validate import Stopwatch, Validated, _plain
from mlci.report.model import CheckFailure, DatasetResult, FailureCase

if TYPE_CHECKING:
    from mlci.integrations.pandera_schemas import LoadedSchema

_NOT_IN_SCHEMA = re.compile(r"column '(.+?)' not in DataFrameSchema")


@dataclass
class _RowCheck:
    """A failing check judged row by row: `passes` is a Spark Column that is true where a row
    passes (null where the value is null, which pandera's checks leave out)."""

    failure: CheckFailure
    failing_rows: Any
    value: Any


def validate_spark_frame(
    frame: Any,
    schema: LoadedSchema,
    *,
    name: str,
    path_label: str,
    max_failures: int,
    clock: Stopwatch | None = None,
) -> Validated:
    """pandera's verdict on `frame`, with the failing rows counted and sampled in Spark."""
    from pyspark.sql import functions

    clock = clock or Stopwatch()
    with clock.phase("validate"):
        checked = schema.schema.validate(frame, lazy=True)
        errors = dict(checked.pandera.errors or {})
        failures: list[CheckFailure] = []
        row_checks: list[_RowCheck] = []
        for category in ("SCHEMA", "DATA"):
            for reason, entries in (errors.get(category) or {}).items():
                for entry in entries:
                    _add(frame, schema, reason, entry, failures, row_checks)
        aggregates = [functions.count(functions.lit(1)).alias("__rows")]
        aggregates += [
            functions.sum(functions.when(check.failing_rows, 1).otherwise(0)).alias(f"__f{i}")
            for i, check in enumerate(row_checks)
        ]
        counted = frame.agg(*aggregates).collect()[0]
        rows = int(counted["__rows"])
        for index, check in enumerate(row_checks):
            check.failure.failing = int(counted[f"__f{index}"] or 0)
            if max_failures and check.failure.failing:
                sample = frame.filter(check.failing_rows).select(check.value.alias("v"))
                check.failure.cases = [
                    FailureCase(value=_plain(row["v"]))
                    for row in sample.limit(max_failures).collect()
                ]
    failures = [f for f in failures if f.failing or f.schema_level]
    for failure in failures:
        failure.path = path_label if not failure.schema_level else _schema_path(schema)
        if failure.schema_level and schema.document is not None:
            column = failure.column if failure.check != "column_in_schema" else None
            failure.line = schema.line_of(column)
    result = DatasetResult(
        name=name,
        path=path_label,
        schema=schema.label,
        status="invalid" if failures else "valid",
        rows=rows,
        columns=len(frame.columns),
        failures=failures,
        unchecked=list(schema.unchecked),
    )
    result.seconds = clock.rounded()
    return Validated(result=result, frame=frame)


def _schema_path(schema: LoadedSchema) -> str | None:
    from mlci.errors import display_path

    if schema.path is None or schema.document is None:
        return None
    return display_path(schema.path)


def _add(
    frame: Any,
    schema: LoadedSchema,
    reason: str,
    entry: dict[str, Any],
    failures: list[CheckFailure],
    row_checks: list[_RowCheck],
) -> None:
    from pyspark.sql import functions

    column = entry.get("column")
    check = str(entry.get("check"))
    if reason == "SERIES_CONTAINS_NULLS" and column is not None:
        failure = CheckFailure(check="not_nullable", column=str(column), failing=0)
        value = functions.col(_quoted(column))
        row_checks.append(_RowCheck(failure, value.isNull(), value))
        failures.append(failure)
        return
    if reason == "DATAFRAME_CHECK":
        found = _find_check(schema.schema, column, check)
        if found is not None:
            number, check_object = found
            condition = _passes(check_object, column)
            if condition is not None:
                failure = CheckFailure(
                    check=check, column=_label(column), failing=0, check_number=number
                )
                value = functions.col(_quoted(column)) if column is not None else _row(frame)
                row_checks.append(_RowCheck(failure, ~condition, value))
                failures.append(failure)
                return
    if reason == "DUPLICATES":
        columns = list(_unique_columns(schema.schema))
        if columns:
            failure = CheckFailure(check="multiple_fields_uniqueness", column=None, failing=0)
            keyed = functions.count(functions.lit(1)).over(
                _window(*[_quoted(name) for name in columns])
            )
            with_counts = frame.withColumn("__mlci_copies", keyed)
            failure.failing = with_counts.filter("__mlci_copies > 1").count()
            sample = (
                with_counts.filter("__mlci_copies > 1")
                .select(*[_quoted(name) for name in columns])
                .limit(20)
                .collect()
            )
            failure.cases = [
                FailureCase(value=_plain(row[0]) if len(columns) == 1 else str(row.asDict()))
                for row in sample
            ]
            failures.append(failure)
            return
    # Schema-level: a missing or unexpected column, a wrong dtype, anything else pandera says.
    if reason == "COLUMN_NOT_IN_SCHEMA":
        # pandera's PySpark backend stops at the first column the schema lacks; pandas names
        # each of them, and so does mlci (from the frame's columns: no data is read).
        match = _NOT_IN_SCHEMA.search(str(entry.get("error", "")))
        names = [match.group(1)] if match else []
        if not any(column.regex for column in schema.schema.columns.values()):
            names = [name for name in frame.columns if name not in schema.schema.columns]
        for name in names:
            failure = CheckFailure(
                check="column_in_schema", column=name, failing=1, schema_level=True
            )
            failure.cases = [FailureCase(value=name)]
            failures.append(failure)
        return
    if reason == "COLUMN_NOT_IN_DATAFRAME":
        failure = CheckFailure(
            check="column_in_dataframe", column=_label(column), failing=1, schema_level=True
        )
        failure.cases = [FailureCase(value=_label(column))]
    elif reason == "WRONG_DATATYPE" and column is not None and column in frame.columns:
        actual = frame.schema[str(column)].dataType.simpleString()
        failure = CheckFailure(check=check, column=str(column), failing=1, schema_level=True)
        failure.cases = [FailureCase(value=actual)]
    else:
        failure = CheckFailure(check=check, column=_label(column), failing=1, schema_level=True)
        failure.cases = [FailureCase(value=str(entry.get("error", ""))[:500])]
    failures.append(failure)


def _find_check(schema: Any, column: Any, text: str) -> tuple[int, Any] | None:
    checks = schema.columns[column].checks if column in schema.columns else schema.checks
    for number, check in enumerate(checks or []):
        if (check.error or check.name) == text or str(check) == text:
            return number, check
    return None


def _passes(check: Any, column: Any) -> Any:
    """The Spark Column that is true where a row passes a built-in check; None for a check
    mlci cannot express row by row (its verdict is still pandera's)."""
    from pyspark.sql import functions

    if column is None:
        return None
    value = functions.col(_quoted(column))
    stats = dict(check.statistics or {})
    name = check.name
    if name == "equal_to":
        return value == stats["value"]
    if name == "not_equal_to":
        return value != stats["value"]
    if name == "greater_than":
        return value > stats["min_value"]
    if name == "greater_than_or_equal_to":
        return value >= stats["min_value"]
    if name == "less_than":
        return value < stats["max_value"]
    if name == "less_than_or_equal_to":
        return value <= stats["max_value"]
    if name == "in_range":
        low = (
            value >= stats["min_value"]
            if stats.get("include_min", True)
            else value > stats["min_value"]
        )
        high = (
            value <= stats["max_value"]
            if stats.get("include_max", True)
            else value < stats["max_value"]
        )
        return low & high
    if name == "isin":
        return value.isin(list(stats["allowed_values"]))
    if name == "notin":
        return ~value.isin(list(stats["forbidden_values"]))
    if name in ("str_matches", "str_contains"):
        pattern = str(getattr(stats["pattern"], "pattern", stats["pattern"]))
        if name == "str_matches" and not pattern.startswith("^"):
            pattern = f"^{pattern}"
        return value.rlike(pattern)
    if name == "str_startswith":
        return value.startswith(stats["string"])
    if name == "str_endswith":
        return value.endswith(stats["string"])
    if name == "str_length":
        length = functions.length(value)
        if stats.get("exact_value") is not None:
            return length == stats["exact_value"]
        condition = functions.lit(True)
        if stats.get("min_value") is not None:
            condition = condition & (length >= stats["min_value"])
        if stats.get("max_value") is not None:
            condition = condition & (length <= stats["max_value"])
        return condition
    return None


def _unique_columns(schema: Any) -> list[str]:
    unique = schema.unique
    if not unique:
        return []
    return [unique] if isinstance(unique, str) else [str(name) for name in unique]


def _window(*columns: str) -> Any:
    from pyspark.sql import Window

    return Window.partitionBy(*columns)


def _row(frame: Any) -> Any:
    from pyspark.sql import functions

    return functions.to_json(functions.struct(*[_quoted(c) for c in frame.columns]))


def _quoted(column: Any) -> str:
    return "`" + str(column).replace("`", "``") + "`"


def _label(column: Any) -> str | None:
    return None if column is None else str(column)
