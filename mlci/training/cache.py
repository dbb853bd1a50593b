"""The outputs cache: one directory per inputs hash holding the outputs and a record of the run.

    <cache_dir>/<inputs hash>/record.json
    <cache_dir>/<inputs hash>/outputs/<output path>

An entry is written to a temporary directory and renamed into place, so a cache directory
either holds a whole entry or none (an interrupted run leaves no half entry behind).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlci.errors import InputFileError

RECORD = "record.json"
LAST_RUN = "last-run.json"


@dataclass
class TrainRecord:
    """One training run: what it ran on and what it wrote."""

    inputs_hash: str
    command: str
    outputs: list[str]
    commit: str | None = None
    """The commit checked out when the command ran (the `since <sha>` of a later skip)."""
    seconds: float | None = None
    """Wall time of the command."""
    python: str | None = None
    inputs: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainRecord:
        names = cls.__dataclass_fields__
        return cls(**{key: value for key, value in data.items() if key in names})


class OutputsCache:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def entry(self, inputs_hash: str) -> Path:
        return self.directory / inputs_hash

    def lookup(self, inputs_hash: str) -> TrainRecord | None:
        """The record of a complete entry for this hash, or None."""
        path = self.entry(inputs_hash) / RECORD
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("inputs_hash") != inputs_hash:
            return None
        return TrainRecord.from_dict(data)

    def store(self, record: TrainRecord, root: Path) -> Path:
        """Copy the outputs under root into a new entry; a missing output is an error."""
        with self._io("store the outputs in"):
            return self._store(record, root)

    def _store(self, record: TrainRecord, root: Path) -> Path:
        final = self.entry(record.inputs_hash)
        staging = self.directory / f".staging-{record.inputs_hash}-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            for output in record.outputs:
                source = root / output
                target = staging / "outputs" / output
                target.parent.mkdir(parents=True, exist_ok=True)
                if source.is_dir():
                    shutil.copytree(source, target, symlinks=True)
                elif source.is_file():
                    shutil.copy2(source, target)
                else:
                    raise InputFileError(
                        f"train.outputs: {output} was not written by `{record.command}`",
                        path=source,
                        hint="declare only what the command writes, or fix the command",
                    )
            (staging / RECORD).write_text(json.dumps(asdict(record), indent=2) + "\n")
            shutil.rmtree(final, ignore_errors=True)
            staging.replace(final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return final

    def restore(self, record: TrainRecord, root: Path) -> None:
        """Put the cached outputs back in place of whatever is there."""
        with self._io("restore the outputs from"):
            self._restore(record, root)

    def _restore(self, record: TrainRecord, root: Path) -> None:
        for output in record.outputs:
            source = self.entry(record.inputs_hash) / "outputs" / output
            target = root / output
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, target, symlinks=True)
            else:
                shutil.copy2(source, target)

    def write_last_run(self, record: TrainRecord, *, skipped: bool) -> None:
        """What the latest `mlci train` did, for `mlci check` to report."""
        with self._io("write to"):
            self.directory.mkdir(parents=True, exist_ok=True)
            data = {**asdict(record), "skipped": skipped}
            (self.directory / LAST_RUN).write_text(json.dumps(data, indent=2) + "\n")

    @contextmanager
    def _io(self, what: str) -> Iterator[None]:
        """A cache directory that cannot be written (read-only, under a file, on a full disk)
        is said, naming it; never a traceback."""
        try:
            yield
        except OSError as error:
            raise InputFileError(
                f"cannot {what} the train cache: {error.strerror or error}",
                path=self.directory,
                hint="set `train.cache_dir` in mlci.yaml to a writable directory",
            ) from None

    def last_run(self) -> tuple[TrainRecord, bool] | None:
        try:
            data = json.loads((self.directory / LAST_RUN).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("inputs_hash"), str):
            return None
        return TrainRecord.from_dict(data), bool(data.get("skipped"))
