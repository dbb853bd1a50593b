"""The `dvc` step: the DVC-tracked data and stage dependencies a PR changes (DVC repos only)."""

from __future__ import annotations

from mlci.errors import GitError
from mlci.integrations.dvc import data_changes, find_dvc_root
from mlci.pipeline.context import CheckContext
from mlci.report.model import Report


def run(context: CheckContext, report: Report) -> None:
    if find_dvc_root(context.config.root) is None:
        return
    git = context.git
    try:
        base = context.base_revision().sha
    except GitError:
        if context.baseline.from_git:
            raise
        return  # a files/mlflow baseline without a git base branch: nothing to compare with
    head = git.resolve(context.head_override) if context.head_override else None
    report.data_changes = data_changes(git, base, head, git.relative(context.config.root))
