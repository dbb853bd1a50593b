"""`mlci check`: run every check the config enables and gather one Report.

Each step is a plain function of the CheckContext that fills its part of the Report. A step that
meets bad input records a Problem and the remaining steps still run, so nothing computed is lost.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mlci.checks.direction import Direction, infer_direction
from mlci.config_file import DEFAULT_REMOTE, ConfigFile
from mlci.errors import MlciError
from mlci.sources.git import BaseRevision, Git, default_base
from mlci.sources.metrics import FileSource, Kind, MetricSet, load_metrics

if TYPE_CHECKING:  # the model and the report are loaded only by the steps that use them
    from mlci.checks.validate import Progress
    from mlci.config import Baseline, Config
    from mlci.report.model import Report


@dataclass
class CheckContext:
    """What every step may need, computed at most once."""

    config: ConfigFile
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    base_override: str | None = None
    """`--base REV` (or `mlci diff A_REV`) from the command line."""
    head_override: str | None = None
    """`mlci diff A_REV B_REV`: read the head side at a revision instead of the work tree."""
    targets: tuple[str, ...] | None = None
    """`mlci diff --targets`: these files instead of the configured and dvc.yaml ones."""
    git_factory: Callable[[Path], Git] = Git
    progress: Progress | None = None
    """Told what long steps (reading and validating data) are doing: a bar on a terminal."""
    _git: Git | None = field(default=None, init=False, repr=False)
    _base: BaseRevision | None = field(default=None, init=False, repr=False)
    _metrics: dict[tuple[str, Kind], MetricSet] = field(
        default_factory=dict, init=False, repr=False
    )

    @property
    def git(self) -> Git:
        if self._git is None:
            self._git = self.git_factory(self.config.root)
        return self._git

    @property
    def source(self) -> FileSource:
        if self.targets is not None:
            return FileSource(
                root=self.config.root, files=self.targets, params=self.targets, dvc=False
            )
        if self._settings is None:  # every default: what dvc.yaml declares
            return FileSource(root=self.config.root)
        metrics = self._settings.metrics
        return FileSource(
            root=self.config.root,
            files=tuple(metrics.files),
            params=tuple(metrics.params),
            dvc=metrics.dvc,
        )

    @property
    def _settings(self) -> Config | None:
        """The configured settings; None when nothing is configured, so that `mlci diff` in a
        project without mlci.yaml never loads the config model (the defaults then apply)."""
        return self.config.config if self.config.explicit else None

    @property
    def _baseline(self) -> Baseline | None:
        return self._settings.baseline if self._settings else None

    def base_revision(self) -> BaseRevision:
        if self._base is None:
            baseline = self._baseline
            self._base = default_base(
                self.git,
                branch=baseline.branch if baseline else None,
                remote=baseline.remote if baseline else DEFAULT_REMOTE,
                env=self.env,
                rev=self.base_override or (baseline.rev if baseline else None),
            )
        return self._base

    def base_label(self) -> str:
        baseline = self._baseline
        if self.base_override is None and baseline and baseline.source == "files":
            return f"{baseline.dir}/"
        if self.base_override is None and baseline and baseline.source == "mlflow":
            return self.base_metrics().label  # the run or model version, e.g. models:/m@champion
        return self.base_revision().label

    def head_metrics(self, kind: Kind = "metrics") -> MetricSet:
        key = ("head", kind)
        if key not in self._metrics:
            if self.head_override is None:
                found = load_metrics(self.source, None, kind=kind)
            else:
                sha = self.git.resolve(self.head_override)
                found = load_metrics(self.source, sha, git=self.git, kind=kind)
                found.label = self.head_override
            self._metrics[key] = found
        return self._metrics[key]

    def head_label(self) -> str:
        return self.head_override or "workspace"

    def base_metrics(self, kind: Kind = "metrics") -> MetricSet:
        key = ("base", kind)
        if key not in self._metrics:
            baseline = self._baseline
            if self.base_override is None and baseline and baseline.source == "files":
                assert baseline.dir is not None
                snapshot = FileSource(
                    root=self.config.resolve(baseline.dir),
                    files=self.source.files,
                    params=self.source.params,
                    dvc=False,
                )
                found = load_metrics(snapshot, None, kind=kind)
                found.label = self.base_label()
            elif self.base_override is None and baseline and baseline.source == "mlflow":
                from mlci.integrations.mlflow_baseline import load_mlflow_baseline

                found = load_mlflow_baseline(self, kind)
            else:
                revision = self.base_revision()
                found = load_metrics(self.source, revision.sha, git=self.git, kind=kind)
                found.label = self.base_override or revision.sha[:12]
            self._metrics[key] = found
        return self._metrics[key]

    def direction_of(self, path: str, name: str) -> Direction | None:
        """A metric's direction: from a gate that names it, else guessed from the name."""
        for gate in self._settings.gates if self._settings else ():
            if gate.metric == name and gate.path in (None, path):
                if gate.direction is not None:
                    return gate.direction
                if gate.greater_is_better is not None:
                    return "higher" if gate.greater_is_better else "lower"
        return infer_direction(name)

    def has_metrics(self) -> bool:
        source = self.source
        dvc_yaml = (source.root / "dvc.yaml").is_file() and source.dvc is not False
        return bool(source.files or source.params or dvc_yaml)


Step = Callable[[CheckContext, "Report"], None]


def datasets_step(context: CheckContext, report: Report) -> None:
    """Validate every dataset in mlci.yaml; diff its schema and data against the base."""
    if not context.config.config.datasets:
        return
    from mlci.checks.datasets import datasets_step as run_datasets

    run_datasets(context, report)


def diff_step(context: CheckContext, report: Report) -> None:
    """Every metric and param against the base."""
    if not context.has_metrics():
        return
    from mlci.checks.diff import metric_changes, no_direction
    from mlci.report.model import MetricsDiff

    report.base = context.base_label()
    diff = MetricsDiff(base=context.base_metrics().label, head=context.head_label())
    report.diff = diff
    diff.metrics = metric_changes(
        context.base_metrics(), context.head_metrics(), direction_of=context.direction_of
    )
    if context.source.params or context.config.config.metrics.dvc is not False:
        diff.params = metric_changes(
            context.base_metrics("params"),
            context.head_metrics("params"),
            direction_of=no_direction,
        )


def gates_step(context: CheckContext, report: Report) -> None:
    """Every gate of mlci.yaml: limits, the baseline, MLflow's rules, significance."""
    from mlci.checks.gates import gates_step as evaluate_gates_step

    evaluate_gates_step(context, report)


def dvc_step(context: CheckContext, report: Report) -> None:
    """DVC-tracked data and stage dependencies changed against the base (DVC repos only)."""
    from mlci.integrations.dvc import data_changes_step

    data_changes_step(context, report)


def mlflow_log_step(context: CheckContext, report: Report) -> None:
    """Log the head's metrics, params and predictions to MLflow (`mlflow: {log: true}`)."""
    from mlci.integrations.mlflow_log import mlflow_log_step as log_step

    log_step(context, report)


def train_step(context: CheckContext, report: Report) -> None:
    """What `mlci train` did for these inputs (`train:` in mlci.yaml)."""
    from mlci.training.step import train_step as report_training

    report_training(context.config, report)


# The order in which `mlci check` runs its steps; later capabilities add theirs here.
STEPS: list[tuple[str, Step]] = [
    ("train", train_step),
    ("datasets", datasets_step),
    ("diff", diff_step),
    ("gates", gates_step),
    ("dvc", dvc_step),
    ("log", mlflow_log_step),
]


def run_check(context: CheckContext, steps: list[tuple[str, Step]] | None = None) -> Report:
    from mlci.report.model import Problem, Report

    options = context.config.config.report
    report = Report(
        title=options.title,
        report_id=options.id,
        config=str(context.config.path) if context.config.path else None,
    )
    for name, step in steps if steps is not None else STEPS:
        try:
            step(context, report)
        except MlciError as error:
            report.problems.append(
                Problem(check=name, message=str(error), path=error.path, line=error.line)
            )
    return report
