"""Training in a DVC repository: DVC's own stage hashes and run cache decide, not a second
mechanism. `dvc repro --pull --allow-missing` runs the stages whose dependencies changed, pulls
the outputs of unchanged ones, and skips what is already in place."""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import sys
from pathlib import Path

from mlci.errors import GitError, MissingExtraError
from mlci.sources.git import Git
from mlci.training.cache import TrainRecord
from mlci.training.run import Echo, TrainingFailedError, TrainOutcome, head_commit, run_shell

# What `dvc repro` prints when a stage's command runs (and only then).
_RAN = "Running stage "


def dvc_command() -> list[str]:
    """DVC as installed next to mlci, else on PATH."""
    if importlib.util.find_spec("dvc") is not None:
        return [sys.executable, "-m", "dvc"]
    found = shutil.which("dvc")
    if found is None:
        raise MissingExtraError("dvc", "dvc", feature="training in a DVC repository runs dvc")
    return [found]


def dvc_repro(root: Path, *, force: bool = False, echo: Echo | None = None) -> TrainOutcome:
    argv = [*dvc_command(), "repro", "--pull", "--allow-missing"]
    if force:
        argv.append("--force")
    lines: list[str] = []

    def keep(line: str) -> None:
        lines.append(line)
        if echo is not None:
            echo(line)

    code = run_shell(argv, root, keep)
    if code != 0:
        raise TrainingFailedError(
            f"`dvc repro --pull --allow-missing` exited with {code}",
            hint="DVC's output is above",
        )
    ran = any(line.startswith(_RAN) for line in lines)
    lock = root / "dvc.lock"
    commit = head_commit(root) if ran else _last_commit_of(root, "dvc.lock")
    record = TrainRecord(
        inputs_hash=_lock_hash(lock),
        command="dvc repro --pull --allow-missing",
        outputs=[],
        commit=commit,
    )
    return TrainOutcome(record=record, skipped=not ran, engine="dvc")


def _lock_hash(lock: Path) -> str:
    """dvc.lock records every stage's command, dependency and output hashes: its digest is the
    DVC counterpart of the inputs hash."""
    try:
        return hashlib.sha256(lock.read_bytes()).hexdigest()
    except OSError:
        return ""


def _last_commit_of(root: Path, name: str) -> str | None:
    try:
        found = Git(root).run("log", "-1", "--format=%H", "--", name).decode().strip()
    except GitError:
        return None
    return found or None
