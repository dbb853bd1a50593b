"""The progress bar long checks draw on a terminal (rich, on stderr), and nothing elsewhere."""

from __future__ import annotations

import os
import sys
from types import TracebackType
from typing import Any


def progress_bar() -> Any:
    """A rich progress bar on stderr when it is a terminal; nothing when piped or in CI."""
    if os.environ.get("CI") or not sys.stderr.isatty():
        return _NoProgress()
    return _RichProgress()


class _NoProgress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: object) -> None:
        return None


class _RichProgress:
    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._task: Any = None

    def __enter__(self) -> _RichProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def stage(self, description: str, total: int | None = None) -> None:
        if self._task is not None:
            self._progress.remove_task(self._task)
        self._task = self._progress.add_task(description, total=total)

    def advance(self, completed: int) -> None:
        if self._task is not None:
            self._progress.update(self._task, completed=completed)
