"""Read data files (CSV, TSV, Parquet, JSON, JSON Lines, `.gz`) into pandas or polars frames.

Every way a file can be unreadable becomes an InputFileError naming the file (and line) and what
to do. Rows keep their 0-based position as their index, and `LineMap` maps a row back to the line
of the file where it starts, so failures can point at `data.csv:LINE`.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal, get_args

from mlci.errors import InputFileError, interrupted
from mlci.extras import require

DataFormat = Literal["csv", "tsv", "parquet", "json", "jsonl"]
Engine = Literal["pandas", "polars"]
DATA_FORMATS: tuple[str, ...] = get_args(DataFormat)
ENGINES: tuple[str, ...] = get_args(Engine)

_EXTENSIONS: dict[str, DataFormat] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
_TEXT_FORMATS = ("csv", "tsv", "json", "jsonl")
# Checked after every chunk read so progress can follow the bytes consumed.
BytesRead = Callable[[], int]


@dataclass(frozen=True)
class DataFile:
    """A data file and how to read it."""

    path: Path
    format: DataFormat
    encoding: str = "utf-8"

    @property
    def compressed(self) -> bool:
        return self.path.suffix.lower() == ".gz"

    @property
    def has_lines(self) -> bool:
        """Whether a row maps to a line of the file (CSV, TSV, JSON Lines)."""
        return self.format in ("csv", "tsv", "jsonl")

    @property
    def separator(self) -> str:
        return "\t" if self.format == "tsv" else ","

    def size(self) -> int:
        return self.path.stat().st_size


def detect_format(path: Path, override: str | None = None) -> DataFormat:
    """The data format from `override` or the extension (`.csv.gz` is CSV)."""
    if override is not None:
        if override not in DATA_FORMATS:
            raise InputFileError(
                f"unknown data format {override!r}", hint="use one of: " + ", ".join(DATA_FORMATS)
            )
        return override  # type: ignore[return-value]
    suffixes = [suffix.lower() for suffix in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    found = _EXTENSIONS.get(suffixes[-1]) if suffixes else None
    if found is None:
        raise InputFileError(
            "cannot tell the data format from the file name",
            path=path,
            hint="name it .csv, .tsv, .parquet, .json or .jsonl (optionally .gz), "
            "or set the format (`format:` in mlci.yaml, --data-format)",
        )
    return found


def open_data_file(path: Path, data_format: str | None = None, encoding: str = "utf-8") -> DataFile:
    """Check that `path` is a readable, non-empty file and say how to read it."""
    if path.is_dir():
        raise InputFileError(
            "is a directory, not a data file",
            path=path,
            hint="name a file, or a glob such as data/*.csv in mlci.yaml",
        )
    if not path.exists():
        raise InputFileError("data file not found", path=path, hint="check the path")
    try:
        size = path.stat().st_size
        with path.open("rb"):
            pass
    except PermissionError:
        raise InputFileError("data file is not readable (permission denied)", path=path) from None
    except OSError as exc:
        raise InputFileError(f"cannot read data file: {exc.strerror}", path=path) from None
    if size == 0:
        raise InputFileError("data file is empty", path=path)
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise InputFileError(
            f"unknown encoding {encoding!r}",
            path=path,
            hint="use a Python codec name, e.g. latin-1",
        ) from None
    return DataFile(path=path, format=detect_format(path, data_format), encoding=encoding)


def expand_paths(root: Path, pattern: str) -> list[Path]:
    """A path or a glob relative to `root`; a glob that matches nothing is an error."""
    if not any(char in pattern for char in "*?["):
        return [root / pattern]
    matches = sorted(path for path in root.glob(pattern) if path.is_file())
    if not matches:
        raise InputFileError(f"no data file matches {pattern!r}", path=root, hint="check the glob")
    return matches


# --- reading -----------------------------------------------------------------------------------


def read_frame(data: DataFile, engine: Engine = "pandas") -> Any:
    """The whole file as a pandas DataFrame (RangeIndex = row) or a polars DataFrame."""
    if engine == "polars":
        return _read_polars(data)
    pd = require("pandas", "data", feature="reading data files needs pandas")
    with _reading(data):
        if data.format in ("csv", "tsv"):
            _refuse_implicit_index(data, None)
            return pd.read_csv(data.path, sep=data.separator, encoding=data.encoding)
        if data.format == "parquet":
            return pd.read_parquet(data.path)
        return pd.read_json(data.path, lines=data.format == "jsonl", encoding=data.encoding)


def read_chunks(
    data: DataFile, chunksize: int, *, columns: list[str] | None = None
) -> tuple[Iterator[Any], BytesRead]:
    """Pandas DataFrames of at most `chunksize` rows, indexed by row, and a bytes-read probe.
    The file is opened when the first chunk is asked for, and closed after the last (or when the
    iterator is closed)."""
    pd = require("pandas", "data", feature="reading data files needs pandas")
    if data.format == "json":
        raise InputFileError(
            "a JSON array cannot be read in chunks",
            path=data.path,
            hint="write it as JSON Lines (.jsonl), or validate it without `chunksize`",
        )
    opened: list[IO[bytes]] = []

    def bytes_read() -> int:
        return opened[0].tell() if opened and not opened[0].closed else 0

    def open_raw() -> IO[bytes]:
        opened.append(data.path.open("rb"))
        return opened[0]

    if data.format == "parquet":
        return _parquet_chunks(data, open_raw, chunksize, columns), bytes_read

    def chunks() -> Iterator[Any]:
        text_dtypes: dict[str, Any] | None = None
        with _reading(data), open_raw() as raw, _decompressed(raw, data.compressed) as handle:
            if data.format == "jsonl":
                reader = pd.read_json(
                    handle, lines=True, chunksize=chunksize, encoding=data.encoding
                )
            else:
                _refuse_implicit_index(data, None)
                reader = pd.read_csv(
                    handle,
                    sep=data.separator,
                    encoding=data.encoding,
                    chunksize=chunksize,
                    usecols=columns,
                )
            with reader:
                for chunk in reader:
                    # A text column that is empty in a later chunk is read as float there:
                    # give it the type the first chunk showed, as a whole-file read would.
                    if text_dtypes is None:
                        text_dtypes = {
                            name: dtype
                            for name, dtype in chunk.dtypes.items()
                            if pd.api.types.is_string_dtype(dtype)
                        }
                    for name, dtype in text_dtypes.items():
                        if (
                            name in chunk
                            and chunk[name].dtype != dtype
                            and chunk[name].isna().all()
                        ):
                            chunk[name] = chunk[name].astype(dtype)
                    yield chunk[columns] if columns and data.format == "jsonl" else chunk

    return chunks(), bytes_read


def _decompressed(raw: IO[bytes], compressed: bool) -> IO[bytes]:
    return gzip.GzipFile(fileobj=raw) if compressed else raw  # type: ignore[return-value]


def _parquet_chunks(
    data: DataFile, open_raw: Callable[[], IO[bytes]], chunksize: int, columns: list[str] | None
) -> Iterator[Any]:
    pq = require("pyarrow.parquet", "data", feature="reading Parquet needs pyarrow")
    offset = 0
    with _reading(data), open_raw() as raw:
        parquet = pq.ParquetFile(raw)
        for batch in parquet.iter_batches(batch_size=chunksize, columns=columns):
            frame = batch.to_pandas()
            frame.index = range(offset, offset + len(frame))
            offset += len(frame)
            yield frame


def read_frame_bytes(content: bytes, data: DataFile) -> Any:
    """A pandas DataFrame from `content`, a copy of `data` at another revision."""
    pd = require("pandas", "data", feature="reading data files needs pandas")
    if not content:
        raise InputFileError("data file is empty", path=data.path)
    stand_in = DataFile(path=data.path, format=data.format, encoding=data.encoding)
    if data.compressed:
        with _reading(stand_in):  # a truncated or corrupt copy at the base revision
            content = gzip.decompress(content)
    buffer = io.BytesIO(content)
    with _reading(stand_in, content=content):
        if data.format in ("csv", "tsv"):
            _refuse_implicit_index(data, content)
            return pd.read_csv(buffer, sep=data.separator, encoding=data.encoding)
        if data.format == "parquet":
            return pd.read_parquet(buffer)
        return pd.read_json(buffer, lines=data.format == "jsonl", encoding=data.encoding)


def _read_polars(data: DataFile) -> Any:
    pl = require("polars", "polars", feature="the polars engine needs polars")
    source: Any = data.path
    if data.format in _TEXT_FORMATS and (
        data.compressed or codecs.lookup(data.encoding).name != "utf-8"
    ):
        # polars reads UTF-8 only: decode other encodings (and gzip) in Python first.
        opener = gzip.open if data.compressed else open
        with _reading(data), opener(data.path, "rb") as handle:
            source = io.BytesIO(handle.read().decode(data.encoding).encode("utf-8"))
    with _reading(data):
        if data.format in ("csv", "tsv"):
            return pl.read_csv(source, separator=data.separator)
        if data.format == "parquet":
            return pl.read_parquet(source)
        if data.format == "jsonl":
            return pl.read_ndjson(source)
        return pl.read_json(source)


class _reading:
    """Turn a reader's exceptions into InputFileErrors that name the file and line."""

    def __init__(self, data: DataFile, content: bytes | None = None) -> None:
        self.data = data
        self.content = content

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _: Any
    ) -> None:
        # Ctrl-C, exits and mlci's own errors are not the file's fault: they go on as they are.
        if error is None or not isinstance(error, Exception) or isinstance(error, InputFileError):
            return
        if interrupted():  # a reader turned the KeyboardInterrupt into an error of its own
            raise KeyboardInterrupt from None
        raise _input_error(self.data, error, self.content) from None


_PARQUET_PREFIX = re.compile(r"^Could not open Parquet input source '[^']*': |^parquet: ")
_PANDAS_RAGGED = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def _input_error(data: DataFile, error: BaseException, content: bytes | None) -> InputFileError:
    path = data.path
    message = str(error)
    kind = type(error).__name__
    if isinstance(error, UnicodeDecodeError) or "invalid utf-8" in message.lower():
        line = _first_undecodable_line(data, content)
        return InputFileError(
            f"is not valid {data.encoding} text",
            path=path,
            line=line,
            hint="set the file's encoding with `encoding:` in mlci.yaml or --encoding, "
            "e.g. latin-1",
        )
    if isinstance(error, EOFError | gzip.BadGzipFile | zlib.error) or "gzip" in message.lower():
        return InputFileError(f"is not a valid gzip file ({message})", path=path)
    if data.format == "parquet":
        reason = _PARQUET_PREFIX.sub("", message.splitlines()[0]) if message else kind
        return InputFileError(
            f"is not a valid Parquet file ({reason})",
            path=path,
            hint="write it again with pandas/pyarrow/polars, or check it is not a Git LFS pointer",
        )
    if data.format in ("csv", "tsv"):
        ragged = _PANDAS_RAGGED.search(message)
        if ragged or "more fields than defined" in message:
            # pandas counts records, not lines: a quoted newline before the row would put it
            # a line early, so the line is where the csv module sees the record start.
            found = _first_ragged_line(data, content)
            if found is not None:
                line, saw, expected = found
                return InputFileError(
                    f"row has {saw} fields, the header has {expected}", path=path, line=line
                )
            if ragged:
                expected_, at, saw_ = ragged.groups()
                return InputFileError(
                    f"row has {saw_} fields, the header has {expected_}", path=path, line=int(at)
                )
        if "No columns to parse" in message:
            return InputFileError("data file is empty", path=path)
        first = message.strip().splitlines()[0] if message.strip() else kind
        return InputFileError(f"is not a readable {data.format.upper()} file ({first})", path=path)
    if isinstance(error, ValueError) or "polars" in type(error).__module__:
        first = message.strip().splitlines()[0] if message.strip() else kind
        what = "JSON Lines" if data.format == "jsonl" else "JSON"
        return InputFileError(f"is not valid {what} ({first})", path=path)
    if isinstance(error, OSError):
        return InputFileError(f"cannot read data file: {error.strerror or message}", path=path)
    raise error


def _text_stream(data: DataFile, content: bytes | None, errors: str = "strict") -> IO[str]:
    if content is not None:
        return io.TextIOWrapper(
            io.BytesIO(content), encoding=data.encoding, newline="", errors=errors
        )
    if data.compressed:
        return gzip.open(data.path, "rt", encoding=data.encoding, newline="", errors=errors)
    return data.path.open(encoding=data.encoding, newline="", errors=errors)


def _first_undecodable_line(data: DataFile, content: bytes | None) -> int | None:
    """The 1-based line holding the first byte that does not decode (scans only on error)."""
    decoder = codecs.getincrementaldecoder(data.encoding)()
    line = 1
    try:
        if content is not None:
            handle: IO[bytes] = io.BytesIO(content)
        elif data.compressed:
            handle = gzip.open(data.path, "rb")  # type: ignore[assignment]  # noqa: SIM115
        else:
            handle = data.path.open("rb")
        with handle:
            for raw_line in handle:
                try:
                    decoder.decode(raw_line)
                except UnicodeDecodeError:
                    return line
                line += 1
    except OSError:
        return None
    return None


def _first_ragged_line(
    data: DataFile, content: bytes | None, *, records: int | None = None
) -> tuple[int, int, int] | None:
    """(line, fields, header fields) of the first row with more fields than the header, looking
    at the first `records` non-blank records (the header included) or all of them; None when
    there is none or the csv module cannot read the file (the reader's own error then stands)."""
    try:
        with _text_stream(data, content, errors="replace") as stream:
            reader = csv.reader(stream, delimiter=data.separator)
            start = 1
            expected: int | None = None
            seen = 0
            for record in reader:
                line, start = start, reader.line_num + 1
                if not record:
                    continue
                if expected is None:
                    expected = len(record)
                elif len(record) > expected:
                    return line, len(record), expected
                seen += 1
                if records is not None and seen >= records:
                    break
    except (csv.Error, OSError, EOFError, zlib.error, UnicodeError):
        return None
    return None


def _refuse_implicit_index(data: DataFile, content: bytes | None) -> None:
    """Refuse a first row with more fields than the header before pandas reads the file.

    pandas then takes the first column as the index and shifts every other one left, silently
    (a separator at the end of every row does it too); polars and the csv module call it
    ragged, and so does mlci. pandas decides this from the first row alone, so only the header
    and the first row are read here.
    """
    found = _first_ragged_line(data, content, records=2)
    if found is not None:
        line, saw, expected = found
        one_more = "the header has one name fewer than the row: name every column, or drop the "
        raise InputFileError(
            f"row has {saw} fields, the header has {expected}",
            path=data.path,
            line=line,
            hint=one_more + "separator at the end of each row" if saw == expected + 1 else None,
        )


# --- rows back to lines ------------------------------------------------------------------------


class _RecordScan:
    """The line each wanted record starts on, found block by block.

    A newline ends a record when the quotes before it are balanced (CSV; JSON Lines has no
    quoting that spans lines); blank lines are not records; the header is record 0 of a CSV.
    """

    def __init__(self, wanted: list[int], *, quoted: bool) -> None:
        import numpy as np

        self.wanted = np.asarray(wanted, dtype=np.int64)
        self.quoted = quoted
        self.header = 1 if quoted else 0
        self.found: dict[int, int] = {}
        self.quotes = 0  # quotes seen so far
        self.newlines = 0  # newlines seen so far (= the line number of the last one)
        self.last_newline = -1  # byte offset of the last newline
        self.last_end_line = 0  # line number of the last newline that ended a record
        self.records = 0  # non-blank records so far (header included)
        self.offset = 0
        self.previous_byte = 0
        self.tail_has_content = False

    @property
    def done(self) -> bool:
        return bool(self.records - self.header > self.wanted[-1])

    def feed(self, block: bytes) -> None:
        import numpy as np

        buffer = np.frombuffer(block, dtype=np.uint8)
        plain = self._plain_newlines(block, buffer)
        if plain:
            self._feed_plain(block, plain)
        else:
            self._feed_any(block, buffer)
        self.previous_byte = block[-1]
        self.offset += len(block)

    def finish(self) -> dict[int, int]:
        if self.tail_has_content:  # a last record without a final newline
            row = self.records - self.header
            if row in self.wanted:
                self.found[row] = self.last_end_line + 1
        return self.found

    def _plain_newlines(self, block: bytes, buffer: Any) -> int:
        """How many newlines `block` has when every one of them ends a record and no line in it
        is blank (no quotes, so no newline inside a field; no empty line; no CR, which would
        need a closer look); 0 when the block needs the careful path."""
        import numpy as np

        if self.quotes % 2 or (self.quoted and b'"' in block) or b"\r" in block:
            return 0
        if block.startswith(b"\n") or _has_empty_line(block):
            return 0  # (a block starting with a newline may end an empty line begun before it)
        return int(np.count_nonzero(buffer == 10))

    def _record(self, record_starts: Any) -> None:
        """The next `len(record_starts)` records start on these lines."""
        import numpy as np

        first_row = self.records - self.header
        low = np.searchsorted(self.wanted, first_row)
        high = np.searchsorted(self.wanted, first_row + len(record_starts))
        for row in self.wanted[low:high].tolist():
            self.found[row] = int(record_starts[row - first_row])
        self.records += len(record_starts)

    def _feed_plain(self, block: bytes, count: int) -> None:
        # Every newline ends a record: the records start on consecutive lines.
        import numpy as np

        starts = self.newlines + 1 + np.arange(count)
        starts[0] = self.last_end_line + 1  # the record that began in an earlier block
        self._record(starts)
        self.newlines += count
        last = block.rfind(b"\n")
        self.last_newline = self.offset + last
        self.last_end_line = self.newlines
        self.tail_has_content = bool(block[last + 1 :].strip())

    def _feed_any(self, block: bytes, buffer: Any) -> None:
        import numpy as np

        at = np.flatnonzero(buffer == 10)
        if not len(at):
            self.quotes += block.count(b'"') if self.quoted else 0
            self.tail_has_content = self.tail_has_content or bool(block.strip())
            return
        marks = np.flatnonzero(buffer == 34) if self.quoted else at[:0]
        if len(marks):
            ends = (self.quotes + np.searchsorted(marks, at)) % 2 == 0
        else:
            ends = np.full(len(at), self.quotes % 2 == 0)
        self.quotes += len(marks)
        positions = at + self.offset
        before = np.concatenate(([self.last_newline], positions[:-1]))
        length = positions - before - 1
        carriage = np.where(at > 0, buffer[np.maximum(at - 1, 0)], self.previous_byte) == 13
        empty = (length == 0) | ((length == 1) & carriage)
        line_numbers = self.newlines + 1 + np.arange(len(at))
        end_lines = line_numbers[ends]
        starts = np.concatenate(([self.last_end_line], end_lines[:-1])) + 1
        blank = (end_lines == starts) & empty[ends]
        self._record(starts[~blank])
        self.newlines += len(at)
        self.last_newline = int(positions[-1])
        if len(end_lines):
            self.last_end_line = int(end_lines[-1])
        self.tail_has_content = bool(block[at[-1] + 1 :].strip())


def _has_empty_line(block: bytes) -> bool:
    """Whether `block` holds two newlines in a row, compared two bytes at a time at even and at
    odd offsets (several times faster than `b"\\n\\n" in block` or shifted slices)."""
    import numpy as np

    view = memoryview(block)
    for start in (0, 1):
        pairs = view[start : start + (len(block) - start) // 2 * 2]
        if (np.frombuffer(pairs, dtype=np.uint16) == 0x0A0A).any():
            return True
    return False


class LineMap:
    """Maps 0-based data rows to the 1-based line of the file where each row starts.

    CSV/TSV rows may span lines (quoted newlines) and blank lines are skipped, as pandas does,
    so the file is scanned, in blocks and only as far as the largest row asked for.
    """

    BLOCK = 1 << 20

    def __init__(self, data: DataFile) -> None:
        self.data = data

    def lines(self, rows: Iterable[int]) -> dict[int, int]:
        wanted = sorted(set(rows))
        if not wanted or not self.data.has_lines:
            return {}
        if '\n"'.encode(self.data.encoding, errors="replace") != b'\n"':
            return self._lines_slowly(wanted)  # not ASCII-compatible (UTF-16, ...)
        return self._lines_quickly(wanted)

    def _lines_quickly(self, wanted: list[int]) -> dict[int, int]:
        """Vectorised: a newline ends a record when the quotes before it are balanced."""
        scan = _RecordScan(wanted, quoted=self.data.format != "jsonl")
        opener = gzip.open if self.data.compressed else open
        with opener(self.data.path, "rb") as handle:
            while not scan.done:
                block = handle.read(self.BLOCK)
                if not block:
                    break
                scan.feed(block)
        return scan.finish()

    def _lines_slowly(self, wanted: list[int]) -> dict[int, int]:
        found: dict[int, int] = {}
        targets = set(wanted)
        with _text_stream(self.data, None, errors="replace") as stream:
            if self.data.format == "jsonl":
                row = 0
                for number, text in enumerate(stream, start=1):
                    if text.strip():
                        if row in targets:
                            found[row] = number
                        row += 1
                        if row > wanted[-1]:
                            break
                return found
            reader = csv.reader(stream, delimiter=self.data.separator)
            start = 1
            row = -1
            for record in reader:
                line, start = start, reader.line_num + 1
                if not record:
                    continue
                if row in targets:
                    found[row] = line
                row += 1
                if row > wanted[-1]:
                    break
        return found

    def close(self) -> None:
        """Nothing stays open between calls (kept for callers that close it)."""
