"""Load pandera schemas: YAML/JSON files as pandera writes them, or Python `module:attribute`.

A schema written for one dataframe library is translated for the other engine when it can be
(dtype names differ: `int64` for pandas is `Int64` for polars), so one schema file serves both.
"""

from __future__ import annotations

import importlib
import re
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mlci.errors import InputFileError
from mlci.extras import require
from mlci.yaml_source import YamlDocument, parse_yaml, read_text

SchemaApi = Literal["pandas", "polars", "spark"]
_MODULE_SPEC = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
_SCHEMA_TYPES = {
    "dataframe": "pandas",
    "polars_dataframe": "polars",
    "pyspark_sql_dataframe": "spark",
}
_SCHEMA_KEYS = ("columns", "schema_type", "checks", "index")


@dataclass
class LoadedSchema:
    """A pandera DataFrameSchema ready to validate frames of `api`."""

    schema: Any
    api: SchemaApi
    label: str
    """The schema as the user named it: a path or `module:attribute`."""
    path: Path | None = None
    """The file the schema lives in (YAML/JSON, or the Python module), for annotations."""
    document: YamlDocument | None = None
    """The parsed YAML/JSON with positions, when the schema is a file."""
    mapping: dict[str, Any] | None = None
    """The serialized form as written in the file (None for Python schemas)."""
    unchecked: list[str] = field(default_factory=list)
    """Rules of the schema this engine's pandera backend cannot check (Spark), each named."""

    def line_of(self, column: str | None) -> int | None:
        """The line of `column` in the schema file (or of the file's `columns:`)."""
        if self.document is None:
            return None
        key: tuple[str, ...] = ("columns", column) if column else ("columns",)
        position = self.document.position(key, prefer_key=True)
        return position.line if position else None


def is_module_spec(spec: str, root: Path) -> bool:
    """`pkg.module:attr` (and not an existing file whose name has a colon)."""
    return bool(_MODULE_SPEC.match(spec)) and not (root / spec).exists()


def load_schema(spec: str, root: Path, engine: SchemaApi = "pandas") -> LoadedSchema:
    """The schema named by `spec` (a file relative to `root`, or `module:attribute`)."""
    if is_module_spec(spec, root):
        return import_schema(spec, root, engine)
    path = root / spec
    if path.is_dir():
        raise InputFileError("schema is a directory, not a file", path=path)
    text = read_text(path, "schema file")
    return schema_from_text(text, path, engine, label=spec)


def schema_from_text(
    text: str, path: Path, engine: SchemaApi = "pandas", *, label: str | None = None
) -> LoadedSchema:
    """Parse pandera's YAML/JSON serialization (JSON is read as YAML, its superset)."""
    document = parse_yaml(text, path, "schema file")
    raw = document.data
    if not isinstance(raw, dict) or not any(key in raw for key in _SCHEMA_KEYS):
        raise InputFileError(
            "is not a pandera schema (no `columns:` or `schema_type:` at the top level)",
            path=path,
            hint="write one with `mlci schema infer DATA -o schema.yaml` or pandera's to_yaml()",
        )
    written = _SCHEMA_TYPES.get(str(raw.get("schema_type", "dataframe")))
    if written is None:
        raise InputFileError(
            f"schema_type {raw.get('schema_type')!r} is not supported",
            path=path,
            line=_line(document, ("schema_type",)),
            hint="mlci validates `dataframe` (pandas), `polars_dataframe` and "
            "`pyspark_sql_dataframe` schemas",
        )
    if not isinstance(raw.get("columns", {}), dict | list | type(None)):
        raise InputFileError(
            "is not a pandera schema: `columns:` must map column names to their rules",
            path=path,
            line=_line(document, ("columns",)),
        )
    mapping = dict(raw)
    _reject_unknown_keys(mapping, path, document)
    unchecked: list[str] = []
    schema = _deserialize(mapping, engine, path, document, unchecked)
    return LoadedSchema(
        schema=schema,
        api=engine,
        label=label or str(path),
        path=path,
        document=document,
        mapping=mapping,
        unchecked=unchecked,
    )


def serialize(schema: Any) -> dict[str, Any]:
    """pandera's own serialized (minimal) form of a DataFrameSchema."""
    if schema_api(schema) == "spark":
        from mlci.integrations.pandera_spark import serialize_spark

        return serialize_spark(schema)
    if schema_api(schema) == "polars":
        from pandera.io import polars_io

        return polars_io.serialize_schema(schema)
    from pandera.io import pandas_io

    return pandas_io.serialize_schema(schema)  # type: ignore[no-any-return]


def to_yaml(schema: Any) -> str:
    import yaml

    return yaml.safe_dump(serialize(schema), sort_keys=False)


def schema_api(schema: Any) -> SchemaApi:
    module = type(schema).__module__
    if module.startswith("pandera.api.pyspark"):
        return "spark"
    return "polars" if module.startswith("pandera.api.polars") else "pandas"


def import_schema(spec: str, root: Path, engine: SchemaApi = "pandas") -> LoadedSchema:
    """`module:attribute`, imported with `root` on sys.path: a DataFrameSchema or DataFrameModel."""
    require("pandera", "data", feature="pandera schemas need pandera")
    module_name, _, attribute = spec.partition(":")
    before = set(sys.modules)
    sys.path.insert(0, str(root))
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise InputFileError(
                f"cannot import {module_name!r} for schema {spec!r}: no module named {exc.name!r}",
                hint=f"the module is looked up in {root} and on sys.path",
            ) from None
        raise _import_failed(spec, exc) from None
    except (Exception, SystemExit) as exc:  # a module may call sys.exit() at import
        raise _import_failed(spec, exc) from None
    finally:
        sys.path.remove(str(root))
        # Import afresh next time: another config directory may hold a module of the same name.
        for name in set(sys.modules) - before:
            if str(getattr(sys.modules[name], "__file__", "") or "").startswith(str(root)):
                del sys.modules[name]
    found: Any = module
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise InputFileError(
                f"module {module_name!r} has no attribute {attribute!r} (schema {spec!r})",
                path=getattr(module, "__file__", None),
            )
        found = getattr(found, part)
    schema = _as_schema(found, spec)
    module_file = getattr(module, "__file__", None)
    path = Path(module_file) if module_file else None
    api = schema_api(schema)
    unchecked: list[str] = []
    if api != engine:
        mapping = serialize_or_refuse(schema, spec, engine)
        schema = _deserialize(mapping, engine, path, None, unchecked)
    return LoadedSchema(schema=schema, api=engine, label=spec, path=path, unchecked=unchecked)


def serialize_or_refuse(schema: Any, spec: str, engine: SchemaApi) -> dict[str, Any]:
    try:
        return serialize(schema)
    except Exception:
        raise InputFileError(
            f"schema {spec!r} is a {schema_api(schema)} schema with checks that cannot be "
            f"translated for the {engine} engine",
            hint=f"write it with pandera.{engine}, or validate with the {schema_api(schema)} "
            "engine",
        ) from None


def _as_schema(found: Any, spec: str) -> Any:
    from pandera.api.base.model import BaseModel
    from pandera.api.base.schema import BaseSchema

    if isinstance(found, type) and issubclass(found, BaseModel):
        return found.to_schema()
    if isinstance(found, BaseSchema) and hasattr(found, "columns"):
        return found
    raise InputFileError(
        f"{spec!r} is not a pandera DataFrameSchema or DataFrameModel "
        f"(it is {type(found).__name__ if not isinstance(found, type) else 'a class'})"
    )


def _import_failed(spec: str, exc: BaseException) -> InputFileError:
    frames = traceback.extract_tb(exc.__traceback__)
    last = frames[-1] if frames else None
    if isinstance(exc, SyntaxError):
        return InputFileError(
            f"importing schema {spec!r} failed: SyntaxError: {exc.msg}",
            path=exc.filename,
            line=exc.lineno,
        )
    if isinstance(exc, SystemExit):
        return InputFileError(
            f"importing schema {spec!r} failed: the module exits when imported "
            f"(SystemExit: {exc.code})",
            path=last.filename if last else None,
            line=last.lineno if last else None,
            hint="keep the schema module free of top-level code that runs the program",
        )
    return InputFileError(
        f"importing schema {spec!r} failed: {type(exc).__name__}: {exc}",
        path=last.filename if last else None,
        line=last.lineno if last else None,
    )


def _reject_unknown_keys(
    mapping: dict[str, Any], path: Path, document: YamlDocument | None
) -> None:
    """pandera silently ignores a column key that is no check (a typo drops the check)."""
    import difflib

    require("pandera", "data", feature="pandera schemas need pandera")
    from pandera.api.checks import Check
    from pandera.io._flat_checks import COMPONENT_RESERVED_KEYS

    columns = mapping.get("columns")
    if not isinstance(columns, dict):
        return
    for name, column in columns.items():
        if not isinstance(column, dict):
            continue
        for key in column:
            if key in COMPONENT_RESERVED_KEYS or callable(getattr(Check, str(key), None)):
                continue
            known = sorted(COMPONENT_RESERVED_KEYS) + [
                attribute for attribute in dir(Check) if not attribute.startswith("_")
            ]
            close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
            raise InputFileError(
                f"is not a valid pandera schema: column {name!r}: unknown check or option {key!r}",
                path=path,
                line=_line(document, ("columns", str(name), str(key))),
                hint=f"did you mean {close[0]!r}?" if close else None,
            )


def _line(document: YamlDocument | None, key: tuple[str, ...]) -> int | None:
    if document is None:
        return None
    position = document.position(key, prefer_key=True)
    return position.line if position else None


# --- deserializing, for either engine ------------------------------------------------------------


def _deserialize(
    mapping: dict[str, Any],
    engine: SchemaApi,
    path: Path | None,
    document: YamlDocument | None,
    unchecked: list[str] | None = None,
) -> Any:
    written = _SCHEMA_TYPES.get(str(mapping.get("schema_type", "dataframe")), "pandas")
    io_module: Any
    if engine == "spark":
        from mlci.integrations.pandera_spark import to_spark_mapping
        from mlci.integrations.spark_session import import_pandera_pyspark

        import_pandera_pyspark()
        raw, skipped = to_spark_mapping(mapping)
        if unchecked is not None:
            unchecked.extend(skipped)
        io_module = require("pandera.io.pyspark_sql_io", "spark")
    elif engine == "polars":
        raw = translate(mapping, written, engine)  # type: ignore[arg-type]
        require("polars", "polars", feature="the polars engine needs polars")
        require("pandera.polars", "polars", feature="the polars engine needs pandera[polars]")
        io_module = require("pandera.io.polars_io", "polars")
    else:
        raw = translate(mapping, written, engine)  # type: ignore[arg-type]
        require("pandas", "data", feature="pandera schemas need pandas")
        require("pandera", "data", feature="pandera schemas need pandera")
        io_module = require("pandera.io.pandas_io", "data")
    try:
        return io_module.deserialize_schema(_copy(raw))
    except Exception as exc:
        reason = _reason(exc)
        # Name the column at fault, and its line, by trying the columns one at a time.
        columns = raw.get("columns")
        if isinstance(columns, dict):
            for name, column in columns.items():
                try:
                    io_module.deserialize_schema(_copy({**raw, "columns": {name: column}}))
                except Exception as column_exc:
                    raise InputFileError(
                        f"is not a valid pandera schema: column {name!r}: {_reason(column_exc)}",
                        path=path,
                        line=_line(document, ("columns", str(name))),
                    ) from None
        raise InputFileError(f"is not a valid pandera schema: {reason}", path=path) from None


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, AttributeError) and "'Check' has no attribute" in text:
        name = text.rsplit("attribute", 1)[-1].strip(" '\"")
        return f"unknown check {name!r}"
    if isinstance(exc, TypeError) and "data type" in text.lower():
        return f"unknown dtype ({text})"
    return text


def _copy(value: Any) -> Any:
    """A deep copy of plain YAML data (pandera's deserializer mutates what it is given)."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


_PANDAS_TO_POLARS = {
    **{f"int{bits}": f"Int{bits}" for bits in (8, 16, 32, 64)},
    **{f"Int{bits}": f"Int{bits}" for bits in (8, 16, 32, 64)},
    **{f"uint{bits}": f"UInt{bits}" for bits in (8, 16, 32, 64)},
    **{f"UInt{bits}": f"UInt{bits}" for bits in (8, 16, 32, 64)},
    **{f"float{bits}": f"Float{bits}" for bits in (32, 64)},
    **{f"Float{bits}": f"Float{bits}" for bits in (32, 64)},
    "bool": "Boolean",
    "boolean": "Boolean",
    "str": "String",
    "string": "String",
    "string[python]": "String",
    "string[pyarrow]": "String",
    "object": "String",
    "category": "Categorical",
    "date": "Date",
}
_POLARS_TO_PANDAS = {
    **{f"Int{bits}": f"int{bits}" for bits in (8, 16, 32, 64)},
    **{f"UInt{bits}": f"uint{bits}" for bits in (8, 16, 32, 64)},
    **{f"Float{bits}": f"float{bits}" for bits in (32, 64)},
    "Boolean": "bool",
    "String": "str",
    "Utf8": "str",
    "Categorical": "category",
    "Date": "date",
}
_DATETIME_PANDAS = re.compile(r"^datetime64\[(\w+)(?:, (.+))?\]$")
_DATETIME_POLARS = re.compile(r"^Datetime\(time_unit='(\w+)'(?:, time_zone='?([^')]+)'?)?\)$")


def translate(mapping: dict[str, Any], written: SchemaApi, engine: SchemaApi) -> dict[str, Any]:
    """The serialized schema with dtype names and schema_type for `engine`."""
    if written == engine:
        return mapping
    if written == "spark":  # through pandas' names: Spark's `long` is pandas' `int64`
        mapping = _from_spark(mapping)
        if engine == "pandas":
            return mapping
        written = "pandas"
    out = _copy(mapping)
    out["schema_type"] = "polars_dataframe" if engine == "polars" else "dataframe"
    out["api"] = engine
    out.pop("index", None)  # polars frames have no index; a pandas index cannot be translated
    columns = out.get("columns")
    items = columns.values() if isinstance(columns, dict) else (columns or [])
    for column in items:
        if isinstance(column, dict) and isinstance(column.get("dtype"), str):
            column["dtype"] = _translate_dtype(column["dtype"], engine)
    return out  # type: ignore[no-any-return]


_SPARK_TO_PANDAS = {
    "long": "int64",
    "bigint": "int64",
    "int": "int32",
    "integer": "int32",
    "short": "int16",
    "smallint": "int16",
    "tinyint": "int8",
    "double": "float64",
    "float": "float32",
    "bool": "bool",
    "boolean": "bool",
    "string": "str",
    "str": "str",
    "date": "date",
    "timestamp": "datetime64[ns]",
}


def _from_spark(mapping: dict[str, Any]) -> dict[str, Any]:
    from mlci.integrations.pandera_spark import spark_dtype

    out = _copy(mapping)
    out["schema_type"] = "dataframe"
    columns = out.get("columns")
    for column in columns.values() if isinstance(columns, dict) else []:
        if isinstance(column, dict) and isinstance(column.get("dtype"), str):
            name = spark_dtype(column["dtype"]) or column["dtype"]
            column["dtype"] = _SPARK_TO_PANDAS.get(name, name)
    return out  # type: ignore[no-any-return]


# pandas 3 resolves a schema's `str` (and `string`) to this; a schema file says `str`.
_PANDAS_TO_COMMON = {"string[pyarrow]": "str"}


def common_dtype_name(dtype: Any, api: SchemaApi) -> str | None:
    """The name a reviewer sees for a column's dtype (schema diffs), the same whatever the
    engine: the pandas spelling a schema file uses. polars' `Int64` and Spark's `LongType()` are
    `int64`, `String` and `StringType()` are `str`, `Datetime(time_unit='ns', ...)` and
    `TimestampType()` are `datetime64[ns]`; a type with no pandas name keeps its engine's (Spark's
    `DecimalType(10,2)`). docs/data-validation.md has the table."""
    if dtype is None:
        return None
    name = str(dtype)
    if api == "spark":
        from mlci.integrations.pandera_spark import spark_dtype

        return _SPARK_TO_PANDAS.get(spark_dtype(name) or "", name)
    if api == "polars":
        return _translate_dtype(name, "pandas")
    return _PANDAS_TO_COMMON.get(name, name)


def _translate_dtype(dtype: str, engine: SchemaApi) -> str:
    if engine == "polars":
        if dtype in _PANDAS_TO_POLARS:
            return _PANDAS_TO_POLARS[dtype]
        match = _DATETIME_PANDAS.match(dtype)
        if match:
            unit, zone = match.groups()
            unit = unit if unit in ("ns", "us", "ms") else "ns"
            return f"Datetime(time_unit='{unit}'" + (f", time_zone='{zone}')" if zone else ")")
        return dtype
    if dtype in _POLARS_TO_PANDAS:
        return _POLARS_TO_PANDAS[dtype]
    match = _DATETIME_POLARS.match(dtype)
    if match:
        unit, zone = match.groups()
        return f"datetime64[{unit}" + (f", {zone}]" if zone and zone != "None" else "]")
    return dtype


# --- inference ---------------------------------------------------------------------------------


def infer_schema(frame: Any, engine: SchemaApi = "pandas") -> Any:
    """pandera's inferred schema of `frame`, without the row index a data file does not have."""
    if engine == "spark":
        from mlci.integrations.pandera_spark import infer_spark_schema

        return infer_spark_schema(frame)
    if engine == "polars":
        from pandera.schema_inference.polars import infer_schema as infer_polars

        return infer_polars(frame)
    from pandera.schema_inference.pandas import infer_schema as infer_pandas

    schema = infer_pandas(frame)
    if schema.index is not None:
        schema = schema.reset_index(drop=True)  # type: ignore[attr-defined]
    return schema
