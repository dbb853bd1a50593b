"""Read data with Spark: CSV/TSV, Parquet, JSON Lines, a directory of (partitioned) Parquet
files, or a table of the Spark catalog; the session comes in as an argument.

Nothing is collected: the result is a lazy Spark DataFrame. CSV is read with a header and
inferred types; integer columns Spark infers as 32-bit are widened to 64-bit, as pandas and
polars read them, so that one schema (`int64`) fits every engine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlci.errors import InputFileError

_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
}


@dataclass(frozen=True)
class SparkSource:
    """What to read: a path (file, directory, or a URI such as s3a://... the cluster reads), or
    a catalog table."""

    path: Path | None = None
    uri: str | None = None
    table: str | None = None
    format: str | None = None

    def label(self) -> str:
        if self.table is not None:
            return f"table {self.table}"
        return self.uri or str(self.path)


def spark_source(
    root: Path, path: str | None, table: str | None, data_format: str | None
) -> SparkSource:
    """Resolve a dataset's `path` (relative to `root`) or `table`; a missing local path is an
    error here, before Spark is started."""
    if table is not None:
        return SparkSource(table=table)
    assert path is not None
    if "://" in path:
        return SparkSource(uri=path, format=data_format or _format_of_name(path))
    full = root / path
    if not full.exists():
        raise InputFileError("data file not found", path=full, hint="check the path")
    if full.is_dir():
        return SparkSource(path=full, format=data_format or _format_of_directory(full))
    if full.stat().st_size == 0:
        raise InputFileError("data file is empty", path=full)
    found = data_format or _format_of_name(full.name)
    if found is None:
        raise InputFileError(
            "cannot tell the data format from the file name",
            path=full,
            hint="give `format:` (csv, tsv, parquet, json, jsonl)",
        )
    return SparkSource(path=full, format=found)


def read_spark(session: Any, source: SparkSource, *, encoding: str = "utf-8") -> Any:
    """A lazy Spark DataFrame over `source`; a path or table Spark cannot read is an
    InputFileError (exit 2)."""
    if source.table is not None:
        return _read_table(session, source.table)
    location = source.uri or str(source.path)
    reader = session.read
    try:
        if source.format in ("csv", "tsv"):
            frame = (
                reader.option("header", "true")
                .option("inferSchema", "true")
                .option("sep", "\t" if source.format == "tsv" else ",")
                .option("encoding", encoding)
                .option("mode", "PERMISSIVE")
                .csv(location)
            )
            frame = _widen_integers(frame)
        elif source.format == "parquet":
            frame = reader.parquet(location)
            if source.path is not None and source.path.is_dir():
                frame = _widen_integers(frame, only=_partition_columns(source.path))
        elif source.format in ("jsonl", "json"):
            reader = reader.option("encoding", encoding)
            if source.format == "json":  # one JSON array (or object) per file
                reader = reader.option("multiLine", "true")
            frame = reader.json(location)
        else:
            raise InputFileError(
                f"the Spark engine does not read {source.format!r} data",
                path=source.path,
                hint="use csv, tsv, parquet, json or jsonl",
            )
        frame.schema  # noqa: B018  (resolves the files now: errors surface here, once)
    except InputFileError:
        raise
    except Exception as exc:
        raise InputFileError(
            f"Spark cannot read {location}: {_reason(exc)}",
            path=source.path,
            hint="check the path and `format:`",
        ) from None
    if "_corrupt_record" in frame.columns:
        raise InputFileError(
            f"Spark cannot parse {location} as {source.format}: some records are malformed",
            path=source.path,
            hint="check the file, or its `format:`",
        )
    return frame


def _read_table(session: Any, table: str) -> Any:
    try:
        exists = session.catalog.tableExists(table)
    except Exception as exc:
        raise InputFileError(f"cannot look up table {table!r}: {_reason(exc)}") from None
    if not exists:
        raise InputFileError(
            f"table {table!r} does not exist in the Spark catalog",
            hint="check `table:` (db.name), and the session's catalog (`spark.conf`)",
        )
    try:
        return session.table(table)
    except Exception as exc:
        raise InputFileError(f"cannot read table {table!r}: {_reason(exc)}") from None


def _widen_integers(frame: Any, only: set[str] | None = None) -> Any:
    """Integer columns Spark inferred (from CSV text, or from `key=1` partition directories) as
    32-bit, read as 64-bit like pandas and polars read them."""
    from pyspark.sql import functions
    from pyspark.sql.types import ByteType, IntegerType, LongType, ShortType

    def narrow(item: Any) -> bool:
        return isinstance(item.dataType, ByteType | ShortType | IntegerType) and (
            only is None or item.name in only
        )

    if not any(narrow(item) for item in frame.schema.fields):
        return frame
    return frame.select(
        *[
            functions.col(f"`{item.name}`").cast(LongType()).alias(item.name)
            if narrow(item)
            else functions.col(f"`{item.name}`")
            for item in frame.schema.fields
        ]
    )


def _partition_columns(directory: Path) -> set[str]:
    """The `key` of every `key=value` directory under a partitioned dataset."""
    return {
        item.name.split("=", 1)[0]
        for item in directory.rglob("*=*")
        if item.is_dir() and not item.name.startswith(("_", "."))
    }


def _format_of_name(name: str) -> str | None:
    lowered = name.lower()
    if lowered.endswith(".gz"):
        lowered = lowered[:-3]
    return _EXTENSIONS.get(Path(lowered).suffix)


def _format_of_directory(directory: Path) -> str:
    formats = {
        _format_of_name(item.name)
        for item in directory.rglob("*")
        if item.is_file() and not item.name.startswith(("_", "."))
    }
    formats.discard(None)
    if not formats:
        raise InputFileError(
            "directory holds no data file Spark can read (csv, tsv, parquet, json, jsonl)",
            path=directory,
        )
    if len(formats) > 1:
        raise InputFileError(
            f"directory mixes data formats ({', '.join(sorted(str(f) for f in formats))})",
            path=directory,
            hint="give `format:` for the files to read",
        )
    return str(formats.pop())


_JAVA_CLASS = re.compile(r"^:?\s*(?:[\w$]+\.)+[\w$]+(?:Exception|Error): ")


def _reason(exc: BaseException) -> str:
    """The first line of what Spark said. A failure inside a Spark job reaches Python as py4j's
    `An error occurred while calling o41.parquet.`, with the Java exception on the next line:
    that line, without the Java class name, says what is wrong."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    first = lines[0]
    if first.startswith("An error occurred while calling") and len(lines) > 1:
        first = _JAVA_CLASS.sub("", lines[1])
    return first[:300]
