"""`mlci train`: run the declared command when no outputs are cached for its inputs hash,
restore the cached outputs otherwise; in a DVC repository, `dvc repro` decides instead."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from mlci.errors import ConfigError, ExitCode, GitError, MlciError
from mlci.sources.git import Git
from mlci.training.cache import OutputsCache, TrainRecord
from mlci.training.inputs import TrainInputs, collect_inputs

if TYPE_CHECKING:
    from mlci.config import Train
    from mlci.config_file import ConfigFile

Echo = Callable[[str], None]
"""Where the command's output lines go as they come (the terminal, or nowhere)."""


class TrainingFailedError(MlciError):
    """The training command exited non-zero: the run fails as a failed check does."""

    exit_code = ExitCode.CHECK_FAILED


@dataclass
class TrainPlan:
    """What `mlci train` would do, decided before anything runs."""

    root: Path
    settings: Train
    inputs: TrainInputs
    cache: OutputsCache
    cached: TrainRecord | None
    """The entry for this inputs hash, when one exists."""

    @property
    def inputs_hash(self) -> str:
        return self.inputs.digest

    @property
    def action(self) -> Literal["run", "restore"]:
        return "restore" if self.cached is not None else "run"


@dataclass
class TrainOutcome:
    record: TrainRecord
    skipped: bool
    """The command did not run: the outputs came from the cache (or DVC had nothing to do)."""
    engine: Literal["mlci", "dvc"] = "mlci"


def train_settings(config: ConfigFile) -> Train:
    settings = config.config.train if config.explicit else None
    if settings is None:
        raise ConfigError(
            "mlci.yaml declares no `train:` section",
            path=config.path,
            hint="declare `train: {command, inputs, outputs}` (see the config reference)",
        )
    return settings


def uses_dvc(config: ConfigFile, settings: Train) -> bool:
    if settings.dvc is not None:
        return settings.dvc
    return (config.root / "dvc.yaml").is_file()


def plan_training(config: ConfigFile, *, git: Git | None = None) -> TrainPlan:
    settings = train_settings(config)
    root = config.root
    cache = OutputsCache(config.resolve(settings.cache_dir))
    inputs = collect_inputs(
        root,
        settings.inputs,
        command=settings.command,
        outputs=settings.outputs,
        git=git if git is not None else _git_at(root),
        # What training writes is not what it depends on, even when a glob covers both.
        exclude=(settings.cache_dir, *settings.outputs),
        config=config.path,
    )
    return TrainPlan(
        root=root,
        settings=settings,
        inputs=inputs,
        cache=cache,
        cached=cache.lookup(inputs.digest),
    )


def run_training(plan: TrainPlan, *, force: bool = False, echo: Echo | None = None) -> TrainOutcome:
    """Restore the cached outputs, or run the command and cache what it wrote."""
    if plan.cached is not None and not force:
        plan.cache.restore(plan.cached, plan.root)
        plan.cache.write_last_run(plan.cached, skipped=True)
        return TrainOutcome(record=plan.cached, skipped=True)
    started = time.monotonic()
    code = run_shell(plan.settings.command, plan.root, echo)
    seconds = round(time.monotonic() - started, 3)
    if code != 0:
        raise TrainingFailedError(
            f"the training command `{plan.settings.command}` exited with {code}",
            hint="its output is above; nothing was cached",
        )
    record = TrainRecord(
        inputs_hash=plan.inputs_hash,
        command=plan.inputs.command,
        outputs=list(plan.settings.outputs),
        commit=head_commit(plan.root),
        seconds=seconds,
        python=plan.inputs.python,
        inputs=[item.path for item in plan.inputs.files],
    )
    plan.cache.store(record, plan.root)
    plan.cache.write_last_run(record, skipped=False)
    return TrainOutcome(record=record, skipped=False)


def run_shell(command: str | list[str], cwd: Path, echo: Echo | None) -> int:
    """Run a command (a string goes to the shell), passing its output on line by line."""
    try:
        process = subprocess.Popen(
            command,
            shell=isinstance(command, str),
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
    except OSError as exc:
        raise MlciError(f"cannot start `{command}`: {exc.strerror}") from None
    with process:
        assert process.stdout is not None
        for line in process.stdout:
            if echo is not None:
                echo(line.rstrip("\n"))
    return process.returncode


def head_commit(root: Path) -> str | None:
    git = _git_at(root)
    try:
        return git.run("rev-parse", "--verify", "-q", "HEAD").decode().strip() or None
    except GitError:
        return None


def _git_at(root: Path) -> Git:
    return Git(root)
