"""The workspace a command works in: config, environment, git, command-line overrides, and the
head's metrics read at most once. `mlci check`, `diff`, `gate`, `dvc` and `mlflow` build one; the
base side comes from its Baseline (mlci/pipeline/baseline.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mlci.checks.direction import Direction, infer_direction
from mlci.config_file import DEFAULT_REMOTE, ConfigFile
from mlci.errors import GitError
from mlci.pipeline.baseline import Baseline, BaselinePredictions, choose_baseline
from mlci.sources.git import BaseRevision, Git, default_base
from mlci.sources.github_event import ActionsEnvironment
from mlci.sources.metrics import FileSource, Kind, MetricSet, load_metrics

if TYPE_CHECKING:  # the config model is loaded only when there is a config
    from mlci.checks.validate import Progress
    from mlci.config import Config, Significance
    from mlci.sources.predictions import Predictions


@dataclass
class CheckContext:
    """What every step may need, computed at most once."""

    config: ConfigFile
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    base_override: str | None = None
    """`--base REV` (or `mlci diff A_REV`) from the command line."""
    allow_no_base: bool = False
    """Without any base branch yet (a new repository), compare with nothing instead of failing
    (`mlci check`; `mlci diff` and `mlci gate` still say the base is missing)."""
    head_override: str | None = None
    """`mlci diff A_REV B_REV`: read the head side at a revision instead of the work tree."""
    targets: tuple[str, ...] | None = None
    """`mlci diff --targets`: these files instead of the configured and dvc.yaml ones."""
    git_factory: Callable[[Path], Git] = Git
    only_datasets: frozenset[str] | None = None
    """`mlci check --only datasets:NAME`: the datasets (by name) this run validates; None:
    every dataset."""
    progress: Progress | None = None
    """Told what long steps (reading and validating data) are doing: a bar on a terminal."""
    actions_from: ActionsEnvironment | None = None
    """The GitHub Actions environment the command already read, shared so that its event
    payload is parsed once; by default `env`'s."""
    _git: Git | None = field(default=None, init=False, repr=False)
    _actions: ActionsEnvironment | None = field(default=None, init=False, repr=False)
    _base: BaseRevision | None = field(default=None, init=False, repr=False)
    _baseline: Baseline | None = field(default=None, init=False, repr=False)
    _predictions: BaselinePredictions | None = field(default=None, init=False, repr=False)
    _metrics: dict[tuple[str, Kind], MetricSet] = field(
        default_factory=dict, init=False, repr=False
    )

    @property
    def actions(self) -> ActionsEnvironment:
        """The GitHub Actions variables of `env` and their event payload, read once."""
        if self._actions is None:
            shared = self.actions_from
            self._actions = shared if shared is not None else ActionsEnvironment(self.env)
        return self._actions

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

    def base_revision(self) -> BaseRevision:
        """The git revision the PR is compared with (`--base`, `baseline.rev`, or the merge-base
        with the base branch), whatever the baseline of the metrics: datasets and DVC-tracked
        data are always compared with it."""
        if self._base is None:
            baseline = self._settings.baseline if self._settings else None
            self._base = default_base(
                self.git,
                branch=baseline.branch if baseline else None,
                remote=baseline.remote if baseline else DEFAULT_REMOTE,
                env=self.actions,
                rev=self.base_override or (baseline.rev if baseline else None),
            )
        return self._base

    def require_named_revisions(self) -> None:
        """Every revision the user named (`--base`, `mlci diff A B`, `baseline.rev`) exists:
        a GitError naming it otherwise, whether or not a rule of this run needs the base (a
        `min` gate passing against a typo would hide the typo)."""
        for rev in (self.base_override, self.head_override):
            if rev is not None:
                self.git.resolve(rev)
        baseline = self._settings.baseline if self._settings else None
        if self.base_override is None and baseline is not None and baseline.rev:
            try:
                self.git.resolve(baseline.rev)
            except GitError as error:
                raise GitError(
                    f"baseline.rev: {error.message}", hint=error.hint, path=self.config.path
                ) from None

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

    @property
    def baseline(self) -> Baseline:
        """What the head is compared with: `--base`, else `baseline.source` of mlci.yaml."""
        if self._baseline is None:
            self._baseline = choose_baseline(self)
        return self._baseline

    def predictions(self, options: Significance) -> tuple[Predictions, Predictions]:
        """Head and base predictions of a significance rule or the `predictions:` section, each
        file read once for every step; raises BaselineUnavailable without base predictions."""
        if self._predictions is None:
            self._predictions = BaselinePredictions(self.config, self.baseline)
        return self._predictions(options)

    def base_metrics(self, kind: Kind = "metrics") -> MetricSet:
        return self.baseline.metrics(kind)

    def base_label(self) -> str:
        return self.baseline.label()

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
        root = source.root
        dvc = (root / "dvc.yaml").is_file() or (root / ".dvc").is_dir()
        return bool(source.files or source.params or (dvc and source.dvc is not False))
