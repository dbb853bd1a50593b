"""`mlci diff --json` must equal `dvc metrics diff --json` on real git + DVC repositories.

DVC itself is the oracle: each scenario writes metrics files at a base commit and a head commit
(or the work tree), runs both tools on the same revisions and compares the parsed JSON
(floats to 1e-12, NaN equal to NaN).
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import GitRepo, Invoker

DVC = shutil.which("dvc", path=str(Path(sys.executable).parent)) or shutil.which("dvc")
pytestmark = pytest.mark.skipif(
    DVC is None, reason="dvc is not installed (pip install 'mlci[dvc]')"
)

DVC_YAML = "metrics:\n  - metrics.json\n  - eval/scores.yaml\n  - report.toml\n  - scalar.txt\n"

SCENARIOS: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "nested-json-yaml-toml": (
        {
            "metrics.json": '{"acc": 0.9, "train": {"loss": 0.3, "epochs": 10}, "tags": [1, 2]}',
            "eval/scores.yaml": "f1: 0.8\nper_class:\n  cat: {precision: 0.7, recall: 0.6}\n",
            "report.toml": "auc = 0.81\n[latency]\np50 = 12\np99 = 80.5\n",
            "scalar.txt": "0.5\n",
        },
        {
            "metrics.json": '{"acc": 0.95, "train": {"loss": 0.25, "epochs": 10}, "tags": [1]}',
            "eval/scores.yaml": "f1: 0.7\nper_class:\n  cat: {precision: 0.75, recall: 0.6}\n",
            "report.toml": "auc = 0.83\n[latency]\np50 = 11\np99 = 80.5\n",
            "scalar.txt": "0.55\n",
        },
    ),
    "added-and-removed": (
        {
            "metrics.json": '{"acc": 0.9, "old_only": 1, "nested": {"gone": 2}}',
            "eval/scores.yaml": "f1: 0.8\n",
        },
        {
            "metrics.json": '{"acc": 0.9, "new_only": 3, "nested": {"fresh": 4}}',
            "report.toml": "auc = 0.5\n",
        },
    ),
    "strings-bools-nan-inf": (
        {
            "metrics.json": '{"model": "resnet", "ok": true, "score": NaN, "big": Infinity, "n": 1}',
            "eval/scores.yaml": "status: yes\nflag: false\nsci: 1e-3\nint_like: 010\nwhen: 2024-01-01\n",
            "report.toml": 'name = "a"\nstrict = true\nx = nan\ny = inf\n',
        },
        {
            "metrics.json": '{"model": "vit", "ok": false, "score": NaN, "big": -Infinity, "n": 1.0}',
            "eval/scores.yaml": "status: no\nflag: true\nsci: 2.5e-3\nint_like: 011\nwhen: 2024-02-01\n",
            "report.toml": 'name = "b"\nstrict = false\nx = 1.0\ny = -inf\n',
        },
    ),
    "scalar-vs-mapping-and-empty": (
        {"metrics.json": '{"acc": 0.9}', "scalar.txt": "3\n", "eval/scores.yaml": ""},
        {"metrics.json": "0.91", "scalar.txt": "{a: 1}\n", "eval/scores.yaml": "f1: 0.5\n"},
    ),
    "unchanged-only": (
        {"metrics.json": '{"acc": 0.9, "s": "x"}'},
        {"metrics.json": '{"acc": 0.9, "s": "x"}'},
    ),
}


def _dvc(repo: Path, *args: str) -> str:
    assert DVC is not None
    done = subprocess.run([DVC, *args], cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout


def _dvc_repo(
    git_repo: GitRepo, base: dict[str, str], head: dict[str, str], *, commit_head: bool
) -> None:
    _dvc(git_repo.path, "init", "-q")
    _dvc(git_repo.path, "config", "core.autostage", "false")
    git_repo.write("dvc.yaml", DVC_YAML)
    for path, text in base.items():
        git_repo.write(path, text)
    git_repo.commit("base")
    for path in base.keys() - head.keys():
        git_repo.git("rm", "-q", path)
    for path, text in head.items():
        git_repo.write(path, text)
    if commit_head:
        git_repo.commit("head")


def assert_same(ours: Any, theirs: Any, where: str = "$") -> None:
    if isinstance(theirs, float) and isinstance(ours, float):
        if math.isnan(theirs):
            assert math.isnan(ours), where
        else:
            assert ours == pytest.approx(theirs, rel=1e-12, abs=1e-12), where
        return
    assert type(ours) is type(theirs), f"{where}: {ours!r} vs {theirs!r}"
    if isinstance(theirs, dict):
        assert ours.keys() == theirs.keys(), f"{where}: {sorted(ours)} vs {sorted(theirs)}"
        for key in theirs:
            assert_same(ours[key], theirs[key], f"{where}.{key}")
    else:
        assert ours == theirs, f"{where}: {ours!r} vs {theirs!r}"


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@pytest.mark.parametrize("show_all", [False, True], ids=["changed", "all"])
def test_matches_dvc_between_commits(
    mlci: Invoker, git_repo: GitRepo, scenario: str, show_all: bool
) -> None:
    base, head = SCENARIOS[scenario]
    _dvc_repo(git_repo, base, head, commit_head=True)
    flags = ["--all"] if show_all else []
    theirs = json.loads(_dvc(git_repo.path, "metrics", "diff", "HEAD~1", "HEAD", "--json", *flags))
    result = mlci("diff", "HEAD~1", "HEAD", "--json", *flags, cwd=git_repo.path)
    assert result.exit_code == 0, result.stderr
    assert_same(json.loads(result.stdout), theirs)


@pytest.mark.parametrize("scenario", ["nested-json-yaml-toml", "added-and-removed"])
def test_matches_dvc_against_the_work_tree(mlci: Invoker, git_repo: GitRepo, scenario: str) -> None:
    base, head = SCENARIOS[scenario]
    _dvc_repo(git_repo, base, head, commit_head=False)
    theirs = json.loads(_dvc(git_repo.path, "metrics", "diff", "HEAD", "--json"))
    result = mlci("diff", "HEAD", "--json", cwd=git_repo.path)
    assert result.exit_code == 0, result.stderr
    assert_same(json.loads(result.stdout), theirs)


def test_matches_dvc_with_targets(mlci: Invoker, git_repo: GitRepo) -> None:
    base, head = SCENARIOS["nested-json-yaml-toml"]
    _dvc_repo(git_repo, base, head, commit_head=True)
    targets = ["--targets", "report.toml", "metrics.json"]
    theirs = json.loads(
        _dvc(git_repo.path, "metrics", "diff", "HEAD~1", "HEAD", "--json", *targets)
    )
    result = mlci(
        "diff",
        "HEAD~1",
        "HEAD",
        "--json",
        "--targets",
        "report.toml",
        "--targets",
        "metrics.json",
        cwd=git_repo.path,
    )
    assert_same(json.loads(result.stdout), theirs)


def test_stage_metrics_declared_in_dvc_yaml(mlci: Invoker, git_repo: GitRepo) -> None:
    _dvc(git_repo.path, "init", "-q")
    git_repo.write(
        "dvc.yaml",
        "stages:\n  train:\n    cmd: python train.py\n    wdir: model\n"
        "    metrics:\n      - scores.json:\n          cache: false\n",
    )
    git_repo.write("model/scores.json", '{"acc": 0.5, "loss": 1.0}')
    git_repo.commit("base")
    git_repo.write("model/scores.json", '{"acc": 0.6, "loss": 0.8}')
    git_repo.commit("head")
    theirs = json.loads(_dvc(git_repo.path, "metrics", "diff", "HEAD~1", "HEAD", "--json"))
    result = mlci("diff", "HEAD~1", "HEAD", "--json", cwd=git_repo.path)
    assert theirs  # the oracle saw the stage's metrics
    assert_same(json.loads(result.stdout), theirs)
