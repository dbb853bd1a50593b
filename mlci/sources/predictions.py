"""Per-example predictions files (CSV, TSV, Parquet), from the work tree or another revision."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlci.errors import InputFileError


@dataclass
class Predictions:
    """One side's predictions: a pandas DataFrame and where it came from (for messages)."""

    frame: Any
    path: Path
    label: str
    """How messages name it: `predictions.csv`, `predictions.csv at 1a2b3c4d5e6f`."""


def read_predictions(path: Path, label: str | None = None) -> Predictions:
    """The predictions file at `path` in the work tree."""
    from mlci.sources.data_files import open_data_file, read_frame

    if not path.exists():
        raise InputFileError(
            "predictions file not found",
            path=path,
            hint="write it with `mlci evaluate --predictions FILE`, "
            "or fix `predictions.path` (or `significance.predictions`)",
        )
    data = open_data_file(path)
    return Predictions(frame=read_frame(data), path=path, label=label or str(path))


def read_predictions_bytes(content: bytes, path: Path, label: str) -> Predictions:
    """A predictions file read from another revision (`content` is the file's bytes)."""
    from mlci.sources.data_files import DataFile, detect_format, read_frame_bytes

    data = DataFile(path=path, format=detect_format(path))
    return Predictions(frame=read_frame_bytes(content, data), path=path, label=label)
