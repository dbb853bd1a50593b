"""What the head is compared with: the one place that reads `baseline.source` and `--base`.

A Baseline gives the base side's label, metrics (or params) and predictions. Four sources:
a git revision (the merge-base with the base branch, `baseline.rev`, or `--base REV`, which
always wins), a directory of snapshot files in the work tree, an MLflow run or registered
model version, and the base-branch history (the record of the merge-base commit, or of its
nearest recorded ancestor). A new source is one more class here and one more branch in
`choose_baseline`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from mlci.config_file import ConfigFile
from mlci.errors import BaselineUnavailable, HistoryError, MlciError, NoBaseBranch
from mlci.sources.git import BaseRevision, Git
from mlci.sources.metrics import FileSource, Kind, MetricSet, load_metrics

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from mlci.config import Significance
    from mlci.integrations.mlflow import Tracking
    from mlci.integrations.mlflow_baseline import BaselineRun
    from mlci.pipeline.history import RecordedAncestor
    from mlci.sources.predictions import Predictions


class Workspace(Protocol):
    """What a baseline reads from the workspace (mlci/pipeline/context.py's CheckContext)."""

    config: ConfigFile
    env: Mapping[str, str]
    base_override: str | None
    allow_no_base: bool

    @property
    def git(self) -> Git: ...

    @property
    def source(self) -> FileSource: ...

    def base_revision(self) -> BaseRevision: ...

    def head_metrics(self, kind: Kind = "metrics") -> MetricSet: ...


class Baseline(Protocol):
    """The base side of every comparison of metrics, params and predictions."""

    from_git: bool
    """The base is a git revision: without one there is nothing to compare with (an error),
    where a files or MLflow baseline still compares metrics."""

    def label(self) -> str:
        """How the report names it: `merge-base(HEAD, origin/main)`, `baseline/`, an MLflow run."""
        ...

    def metrics(self, kind: Kind = "metrics") -> MetricSet:
        """The base's metrics (or params), laid out like the head's; raises MlciError."""
        ...

    def predictions(self, path: str) -> Predictions:
        """The base's version of the predictions file `path` (relative to the config);
        raises BaselineUnavailable when the base has none."""
        ...


def choose_baseline(workspace: Workspace) -> Baseline:
    """`--base REV` first, then `baseline.source` of mlci.yaml (git when nothing is configured)."""
    config = workspace.config
    settings = config.config.baseline if config.explicit else None
    if workspace.base_override is None and settings is not None:
        if settings.source == "files":
            assert settings.dir is not None  # Baseline.__post_init__ requires it
            return FilesBaseline(workspace, settings.dir)
        if settings.source == "mlflow":
            return MlflowRunBaseline(workspace)
        if settings.source == "history":
            return HistoryBaseline(workspace)
    unnamed = workspace.base_override is None and not (settings is not None and settings.rev)
    if workspace.allow_no_base and unnamed:
        try:
            workspace.base_revision()
        except NoBaseBranch as error:
            return NoBaseline(error.message)
    return GitBaseline(workspace)


@dataclass
class NoBaseline:
    """Nothing to compare with yet: a new repository before its first push, with no base branch
    (`mlci check` right after `mlci init`). Every metric is new; the report says why."""

    reason: str
    from_git: bool = False

    def label(self) -> str:
        return f"nothing yet: {self.reason}; every metric is new"

    def metrics(self, kind: Kind = "metrics") -> MetricSet:
        return MetricSet(label="no baseline")

    def predictions(self, path: str) -> Predictions:
        raise BaselineUnavailable(f"no baseline to compare {path} with ({self.reason})")


@dataclass
class GitBaseline:
    """The base revision of the repository, read with `git show` (nothing is checked out)."""

    workspace: Workspace
    from_git: bool = True
    _metrics: dict[Kind, MetricSet] = field(default_factory=dict, repr=False)

    def label(self) -> str:
        return self.workspace.base_revision().label

    def _short(self) -> str:
        return self.workspace.base_override or self.workspace.base_revision().sha[:12]

    def metrics(self, kind: Kind = "metrics") -> MetricSet:
        if kind not in self._metrics:
            workspace = self.workspace
            revision = workspace.base_revision()
            found = load_metrics(workspace.source, revision.sha, git=workspace.git, kind=kind)
            found.label = self._short()
            self._metrics[kind] = found
        return self._metrics[kind]

    def predictions(self, path: str) -> Predictions:
        from mlci.sources.predictions import read_predictions_bytes

        workspace = self.workspace
        try:
            revision = workspace.base_revision()
            relative = workspace.git.relative(workspace.config.resolve(path))
            content = workspace.git.read_files(revision.sha, [relative])[relative]
        except MlciError as error:
            raise BaselineUnavailable(str(error)) from None
        label = f"{path} at {self._short()}"
        if content is None:
            raise BaselineUnavailable(f"{label} does not exist")
        return read_predictions_bytes(content, Path(path), label=label)


@dataclass
class FilesBaseline:
    """Snapshot files in the work tree (`baseline: {source: files, dir: baseline/}`), laid out
    like the head's metric files."""

    workspace: Workspace
    directory: str
    from_git: bool = False
    _metrics: dict[Kind, MetricSet] = field(default_factory=dict, repr=False)

    def label(self) -> str:
        return f"{self.directory}/"

    def metrics(self, kind: Kind = "metrics") -> MetricSet:
        if kind not in self._metrics:
            workspace = self.workspace
            snapshot = FileSource(
                root=workspace.config.resolve(self.directory),
                files=workspace.source.files,
                params=workspace.source.params,
                dvc=False,
            )
            found = load_metrics(snapshot, None, kind=kind)
            found.label = self.label()
            self._metrics[kind] = found
        return self._metrics[kind]

    def predictions(self, path: str) -> Predictions:
        from mlci.sources.predictions import read_predictions

        file = self.workspace.config.resolve(self.directory) / path
        label = f"{self.directory.rstrip('/')}/{path}"
        if not file.is_file():
            raise BaselineUnavailable(f"{label} does not exist")
        return read_predictions(file, label=label)


@dataclass
class MlflowRunBaseline:
    """An MLflow run: the one logged for the base commit, a run id, the newest run matching a
    filter, or the version behind a registered model's alias (`baseline.mlflow`)."""

    workspace: Workspace
    from_git: bool = False
    _metrics: dict[Kind, MetricSet] = field(default_factory=dict, repr=False)

    def label(self) -> str:
        return self.metrics().label  # the run or model version, e.g. models:/m@champion

    def run(self, tracking: Tracking | None = None) -> BaselineRun:
        """The baseline run, found on the tracking server."""
        from mlci.integrations.mlflow import experiment_for
        from mlci.integrations.mlflow_baseline import find_baseline_run, mlflow_options

        if tracking is None:
            with self._tracking() as opened:
                return self.run(opened)
        workspace = self.workspace
        options = mlflow_options(workspace.config.config)
        return find_baseline_run(
            tracking,
            options,
            experiment=options.experiment
            or experiment_for(workspace.config, workspace.env, workspace.git),
            base_commit=lambda: workspace.base_revision().sha,
        )

    def _tracking(self) -> AbstractContextManager[Tracking]:
        from mlci.integrations.mlflow import open_tracking, tracking_uri_for

        workspace = self.workspace
        return open_tracking(tracking_uri_for(workspace.config, workspace.env, workspace.git))

    def metrics(self, kind: Kind = "metrics") -> MetricSet:
        if kind not in self._metrics:
            from mlci.integrations.mlflow import run_metric_set
            from mlci.integrations.mlflow_baseline import check_gated_metrics

            found = self.run()
            head = self.workspace.head_metrics(kind)
            if kind == "params":
                metrics = run_metric_set(
                    found.run.params, list(head.data), found.label, params=True
                )
            else:
                metrics = run_metric_set(found.run.metrics, list(head.data), found.label)
                check_gated_metrics(self.workspace.config, head, metrics, found)
            self._metrics[kind] = metrics
        return self._metrics[kind]

    def predictions(self, path: str) -> Predictions:
        import tempfile

        from mlci.integrations.mlflow_baseline import download_predictions
        from mlci.sources.predictions import read_predictions

        with tempfile.TemporaryDirectory(prefix="mlci-predictions-") as directory:
            try:
                with self._tracking() as tracking:
                    found = self.run(tracking)
                    downloaded = download_predictions(tracking, found.run, Path(directory))
            except MlciError as error:
                raise BaselineUnavailable(str(error)) from None
            if downloaded is None:
                raise BaselineUnavailable("the baseline MLflow run logged no predictions")
            return read_predictions(downloaded, label="predictions of the MLflow baseline")


@dataclass
class HistoryBaseline:
    """The record of the merge-base commit in the base-branch history (`mlci history record`),
    or of its nearest recorded first-parent ancestor, which the label names: teams that commit
    no metrics files still compare with what the base branch measured."""

    workspace: Workspace
    from_git: bool = True
    _found: RecordedAncestor | None = field(default=None, repr=False)

    def found(self) -> RecordedAncestor:
        if self._found is None:
            from mlci.pipeline.history import (
                history_id,
                history_settings,
                nearest_record,
                open_history,
            )

            workspace = self.workspace
            config = workspace.config
            settings = history_settings(config)
            store = open_history(config, workspace.env, workspace.git)
            base = workspace.base_revision()
            found = nearest_record(
                store, workspace.git, base.sha, history_id(config), settings.search
            )
            if found is None:
                raise HistoryError(
                    f"no history record of the merge-base {base.sha[:12]} or of its "
                    f"{settings.search} first-parent ancestors in the {store.label}",
                    hint="record the base branch with `mlci history record` (the deploy-on-merge "
                    "workflow does it on every push), or use another `baseline.source`",
                )
            self._found = found
        return self._found

    def label(self) -> str:
        """`the record of abc1234 (the merge-base)`, or `the record of abc1234, 2 commits
        before the merge-base`."""
        found = self.found()
        short = found.record.commit[:7]
        if found.distance == 0:
            return f"the record of {short} (the merge-base)"
        commits = "commit" if found.distance == 1 else "commits"
        return f"the record of {short}, {found.distance} {commits} before the merge-base"

    def metrics(self, kind: Kind = "metrics") -> MetricSet:
        record = self.found().record
        data: dict[str, dict[str, object]] = {}
        if kind == "params":
            for param in record.params:
                data.setdefault(param.path, {})[param.name] = param.value
        else:
            for metric in record.metrics:
                value = math.nan if metric.value is None else metric.value
                data.setdefault(metric.path, {})[metric.name] = value
        return MetricSet(label=self.label(), data=dict(data))

    def predictions(self, path: str) -> Predictions:
        raise BaselineUnavailable(
            f"the history baseline records metrics, not predictions: {path} of the base is not "
            "available (give the rule `base_predictions:`)"
        )


@dataclass
class BaselinePredictions:
    """Loads paired predictions (significance rules, the model diff): the head from the work
    tree, the base from `base_predictions` when given, else from the baseline; each file once."""

    config: ConfigFile
    baseline: Baseline
    _cache: dict[tuple[str, str], Predictions] = field(default_factory=dict)

    def __call__(self, options: Significance) -> tuple[Predictions, Predictions]:
        from mlci.sources.predictions import read_predictions

        config = self.config
        key = ("head", options.predictions)
        if key not in self._cache:
            self._cache[key] = read_predictions(
                config.resolve(options.predictions), label=options.predictions
            )
        head = self._cache[key]
        base_key = ("base", options.base_predictions or options.predictions)
        if base_key not in self._cache:
            if options.base_predictions:
                self._cache[base_key] = read_predictions(
                    config.resolve(options.base_predictions), label=options.base_predictions
                )
            else:
                self._cache[base_key] = self.baseline.predictions(options.predictions)
        return head, self._cache[base_key]
