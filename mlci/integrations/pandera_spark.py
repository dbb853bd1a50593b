"""pandera schemas for the Spark engine: one schema file (written for pandas, polars or
PySpark) turned into a `pandera.api.pyspark` DataFrameSchema, with every rule the PySpark
backend cannot check named, never dropped silently.

What pandera's PySpark backend (0.35) lacks against the pandas backend, and how mlci says so
(`LoadedSchema.unchecked`, shown with the dataset's result):
- `unique: true` on a column (pandas only; a schema-level `unique: [columns]` is checked);
- an `index:` (Spark DataFrames have no index);
- a check's `ignore_na: false` (the PySpark checks always leave nulls out);
- a dtype with no Spark type (`category`, `timedelta64[ns]`, ...): the column's other rules
  are checked, its dtype is not;
- a check the PySpark backend does not register (anything beyond pandera's built-in checks).
"""

from __future__ import annotations

import re
from typing import Any

from mlci.integrations.spark_session import import_pandera_pyspark

_TO_SPARK = {
    **dict.fromkeys(("int64", "Int64", "int", "uint32", "UInt32"), "long"),
    **dict.fromkeys(("int32", "Int32", "uint16", "UInt16"), "int"),
    **dict.fromkeys(("int16", "Int16", "uint8", "UInt8"), "short"),
    **dict.fromkeys(("int8", "Int8"), "tinyint"),
    **dict.fromkeys(("float64", "Float64", "float"), "double"),
    **dict.fromkeys(("float32", "Float32"), "float"),
    **dict.fromkeys(("bool", "boolean", "Boolean"), "bool"),
    **dict.fromkeys(("str", "string", "String", "Utf8", "object", "string[python]"), "string"),
    "string[pyarrow]": "string",
    "date": "date",
    "Date": "date",
}
_SPARK_NAMES = {
    "LongType()": "long",
    "IntegerType()": "int",
    "ShortType()": "short",
    "ByteType()": "tinyint",
    "DoubleType()": "double",
    "FloatType()": "float",
    "BooleanType()": "bool",
    "StringType()": "string",
    "DateType()": "date",
    "TimestampType()": "timestamp",
    "TimestampNTZType()": "timestamp",
    "BinaryType()": "binary",
}
_DATETIME = re.compile(r"^(datetime64\[\w+(, .+)?\]|Datetime\(.*\)|datetime)$")
# pandera's short names of built-in checks (`ge: 0` in a schema file).
_ALIASES = {
    "eq": "equal_to",
    "ne": "not_equal_to",
    "gt": "greater_than",
    "ge": "greater_than_or_equal_to",
    "lt": "less_than",
    "le": "less_than_or_equal_to",
    "between": "in_range",
}
_SUPPORTED_COLUMN_KEYS = {
    "title",
    "description",
    "dtype",
    "nullable",
    "checks",
    "name",
    "coerce",
    "required",
    "regex",
}


def spark_dtype(dtype: str) -> str | None:
    """The pyspark dtype name for a pandas, polars or Spark dtype name; None when Spark has
    none (`category`, `timedelta64[ns]`)."""
    if dtype in _TO_SPARK:
        return _TO_SPARK[dtype]
    if dtype in _SPARK_NAMES:
        return _SPARK_NAMES[dtype]
    if dtype in _SPARK_NAMES.values() or dtype in ("bigint", "integer", "boolean"):
        return {"integer": "int", "boolean": "bool"}.get(dtype, dtype)
    if _DATETIME.match(dtype):
        return "timestamp"
    if dtype.startswith(("DecimalType(", "decimal")):
        return "decimal"
    return None


def to_spark_mapping(mapping: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The serialized schema (any engine's) as pandera's PySpark IO reads it, and what of it
    the PySpark backend will not check."""
    from pandera.io._flat_checks import unflatten_component_checks_dict

    unchecked: list[str] = []
    out: dict[str, Any] = {
        key: value
        for key, value in mapping.items()
        if key not in ("index", "schema_type", "api", "version", "dtype")
    }
    out["schema_type"] = "pyspark_sql_dataframe"
    if mapping.get("index"):
        unchecked.append("index: Spark DataFrames have no index (its rules are not checked)")
    columns: dict[str, Any] = {}
    raw_columns = mapping.get("columns") or {}
    for name, column in raw_columns.items():
        if not isinstance(column, dict):
            columns[name] = column
            continue
        kept = {key: value for key, value in column.items() if key in _SUPPORTED_COLUMN_KEYS}
        if column.get("unique"):
            unchecked.append(
                f"column {name!r}: unique (pandera's PySpark backend has no column-level "
                "uniqueness; a schema-level `unique: [column]` is checked)"
            )
        dtype = column.get("dtype")
        if isinstance(dtype, str):
            translated = spark_dtype(dtype)
            if translated is None:
                unchecked.append(f"column {name!r}: dtype {dtype} (no Spark type)")
                kept["dtype"] = None
                kept["coerce"] = False
            else:
                kept["dtype"] = translated
        column = dict(column)
        unflatten_component_checks_dict(column)  # `ge: 0` keys -> `checks: [...]`
        kept["checks"] = _kept_checks(column.get("checks"), f"column {name!r}: ", unchecked)
        columns[name] = kept
    out["columns"] = columns
    if mapping.get("checks") is not None:
        out["checks"] = _kept_checks(mapping.get("checks"), "", unchecked)
    return out, unchecked


def _kept_checks(checks: Any, where: str, unchecked: list[str]) -> Any:
    """The checks (list or mapping form) the PySpark backend has; the others named."""
    from pandera.backends.pyspark import builtin_checks

    known = {name for name, value in vars(builtin_checks).items() if callable(value)}
    known |= {alias for alias, name in _ALIASES.items() if name in known}
    if checks is None:
        return None
    entries: list[tuple[str, Any]]
    if isinstance(checks, dict):
        entries = list(checks.items())
    else:
        entries = [
            (str((entry.get("options") or {}).get("check_name")), entry)
            for entry in checks
            if isinstance(entry, dict)
        ]
    kept = []
    for check_name, stats in entries:
        if check_name not in known:
            unchecked.append(f"{where}check {check_name} (not in pandera's PySpark backend)")
            continue
        options = stats.get("options") if isinstance(stats, dict) else None
        if isinstance(options, dict) and options.get("ignore_na") is False:
            unchecked.append(
                f"{where}check {check_name}: ignore_na: false (PySpark checks leave nulls out; "
                "`nullable: false` catches nulls)"
            )
        kept.append((check_name, stats))
    if not kept:
        return None
    if isinstance(checks, dict):
        return dict(kept)
    return [stats for _, stats in kept]


def serialize_spark(schema: Any) -> dict[str, Any]:
    """A PySpark schema in pandera's YAML form (dtype names as pandera's PySpark engine reads
    them). Written here: pandera 0.35's `pyspark_sql_io.serialize_schema` fails on any check
    (it asks its engine about a `Timestamp` dtype it does not know)."""
    columns: dict[str, Any] = {}
    for name, column in schema.columns.items():
        dtype = str(column.dtype) if column.dtype is not None else None
        entry: dict[str, Any] = {
            "dtype": _SPARK_NAMES.get(dtype, dtype) if dtype else None,
            "nullable": bool(column.nullable),
        }
        for check in column.checks or []:
            stats = {k: _plain_stat(v) for k, v in (check.statistics or {}).items()}
            entry[check.name] = next(iter(stats.values())) if len(stats) == 1 else stats
        columns[str(name)] = entry
    out: dict[str, Any] = {"schema_type": "pyspark_sql_dataframe", "columns": columns}
    if schema.strict:
        out["strict"] = schema.strict
    if schema.unique:
        out["unique"] = schema.unique
    return out


def _plain_stat(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return value


def infer_spark_schema(frame: Any) -> Any:
    import_pandera_pyspark()
    from pandera.schema_inference.pyspark import infer_schema

    return infer_schema(frame)
