"""In a merge queue (`merge_group` event) the base is the queue's base commit: the base branch
with the pull requests queued ahead, on which GitHub built this pull request's merge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import GitRepo, Invoker


def test_merge_group_compares_with_the_queue_base(
    mlci: Invoker, git_repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    git_repo.write("mlci.yaml", "metrics:\n  files: [metrics.json]\n")
    git_repo.write("metrics.json", '{"accuracy": 0.80}')
    git_repo.commit("main")
    # A pull request queued ahead of this one already raised the accuracy.
    git_repo.write("metrics.json", '{"accuracy": 0.85}')
    queue_base = git_repo.commit("merge of the pull request ahead in the queue")
    git_repo.git("checkout", "-q", "-b", "gh-readonly-queue/main/pr-7")
    git_repo.write("metrics.json", '{"accuracy": 0.90}')
    head = git_repo.commit("merge of pull request 7")
    git_repo.git("branch", "-f", "main", "HEAD~2")  # main itself has not moved yet
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(
            {
                "action": "checks_requested",
                "merge_group": {
                    "head_sha": head,
                    "head_ref": "refs/heads/gh-readonly-queue/main/pr-7",
                    "base_sha": queue_base,
                    "base_ref": "refs/heads/main",
                },
            }
        )
    )
    monkeypatch.setenv("GITHUB_EVENT_NAME", "merge_group")
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    report = json.loads(mlci("check", "--format", "json", cwd=git_repo.path).stdout)
    assert report["base"] == f"{queue_base[:12]} (merge queue base)"
    [change] = report["diff"]["metrics"]
    assert (change["old"], change["new"]) == (0.85, 0.90)
