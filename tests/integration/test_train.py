"""`mlci train` on real git repositories: the inputs hash across clones and checkouts, run then
restore, --force, a failing command, the report's `train` section and the undeclared-import
warning; DVC repositories defer to `dvc repro --pull --allow-missing`."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import GitRepo, Invoker

from mlci.sources.git import Git
from mlci.training.inputs import collect_inputs

# Counts its runs in runs.txt (git-ignored), so a test can tell a run from a restore.
TRAIN_PY = """\
import json
from pathlib import Path
from src.features import SCALE

runs = Path("runs.txt")
runs.write_text(str(int(runs.read_text()) + 1 if runs.exists() else 1))
Path("model").mkdir(exist_ok=True)
Path("model/weights.txt").write_text(str(SCALE))
Path("metrics.json").write_text(json.dumps({"accuracy": 0.5 + SCALE / 10}))
print("trained with scale", SCALE)
"""

CONFIG = """\
train:
  command: python train.py
  inputs: [train.py, src/**/*.py, params.yaml]
  outputs: [metrics.json, model]
metrics:
  files: [metrics.json]
"""


def training_repo(path: Path) -> GitRepo:
    repo = GitRepo(path)
    repo.write("train.py", TRAIN_PY)
    repo.write("src/__init__.py", "")
    repo.write("src/features.py", "SCALE = 2\n")
    repo.write("params.yaml", "alpha: 0.1\n")
    repo.write("mlci.yaml", CONFIG)
    repo.write(".gitignore", ".mlci/\nruns.txt\nmetrics.json\nmodel/\n")
    repo.commit("training")
    return repo


def inputs_hash(root: Path) -> str:
    return collect_inputs(
        root,
        ["train.py", "src/**/*.py", "params.yaml"],
        command="python train.py",
        outputs=["metrics.json", "model"],
        git=Git(root),
    ).digest


def runs(repo: GitRepo) -> int:
    return int((repo.path / "runs.txt").read_text())


def test_hash_is_the_same_in_a_clone_and_after_checkouts(tmp_path: Path) -> None:
    repo = training_repo(tmp_path / "repo")
    first = inputs_hash(repo.path)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repo.path), str(clone)], check=True)
    assert inputs_hash(clone) == first
    # Another branch changes an input; back on main the hash is main's again (new mtimes).
    repo.git("checkout", "-q", "-b", "other")
    repo.write("src/features.py", "SCALE = 3\n")
    changed = repo.commit("scale 3")
    assert inputs_hash(repo.path) != first
    repo.git("checkout", "-q", "main")
    assert inputs_hash(repo.path) == first
    # An uncommitted edit counts by content, exactly as its commit later does.
    repo.write("src/features.py", "SCALE = 3\n")
    assert inputs_hash(repo.path) == inputs_hash_at(repo, tmp_path / "at-other", changed)


def inputs_hash_at(repo: GitRepo, path: Path, commit: str) -> str:
    subprocess.run(["git", "clone", "-q", str(repo.path), str(path)], check=True)
    subprocess.run(["git", "checkout", "-q", commit], cwd=path, check=True)
    return inputs_hash(path)


def test_tracked_and_untracked_copies_hash_alike(tmp_path: Path) -> None:
    tracked = training_repo(tmp_path / "tracked")
    plain = tmp_path / "plain"
    shutil.copytree(tracked.path, plain, ignore=shutil.ignore_patterns(".git"))
    assert inputs_hash(plain) == inputs_hash(tracked.path)


def test_train_runs_then_restores_then_retrains_on_a_change(tmp_path: Path, mlci: Invoker) -> None:
    repo = training_repo(tmp_path / "repo")
    first = mlci("train", cwd=repo.path)
    assert first.exit_code == 0, first.stderr
    assert "trained with scale 2" in first.stdout
    assert "mlci train: ran `python train.py`" in first.stdout
    assert runs(repo) == 1

    # The outputs are gone (a fresh checkout): restored, not retrained.
    (repo.path / "metrics.json").unlink()
    shutil.rmtree(repo.path / "model")
    second = mlci("train", "--format", "json", cwd=repo.path)
    assert second.exit_code == 0, second.stderr
    data = json.loads(second.stdout)
    assert data["skipped"] is True
    assert data["commit"] == repo.git("rev-parse", "HEAD")
    assert runs(repo) == 1
    assert json.loads((repo.path / "metrics.json").read_text()) == {"accuracy": 0.7}
    assert (repo.path / "model" / "weights.txt").read_text() == "2"

    # A README change is not an input; a changed declared input retrains.
    repo.write("README.md", "docs only\n")
    repo.commit("docs")
    assert json.loads(mlci("train", "--format", "json", cwd=repo.path).stdout)["skipped"]
    repo.write("src/features.py", "SCALE = 4\n")
    third = mlci("train", "--format", "json", cwd=repo.path)
    assert json.loads(third.stdout)["skipped"] is False
    assert "trained with scale 4" in third.stderr  # the command's output, off the JSON
    assert runs(repo) == 2

    forced = mlci("train", "--force", cwd=repo.path)
    assert forced.exit_code == 0
    assert runs(repo) == 3


def test_check_reports_what_training_did(tmp_path: Path, mlci: Invoker) -> None:
    repo = training_repo(tmp_path / "repo")
    assert mlci("train", cwd=repo.path).exit_code == 0
    assert mlci("train", cwd=repo.path).exit_code == 0
    commit = repo.git("rev-parse", "HEAD")
    done = mlci("check", "--format", "json", cwd=repo.path)
    train = json.loads(done.stdout)["train"]
    assert train["skipped"] is True
    assert train["inputs_hash"] == inputs_hash(repo.path)
    assert train["commit"] == commit
    assert train["undeclared_imports"] == []
    markdown = mlci("check", "--format", "markdown", cwd=repo.path).stdout
    assert f"training skipped: inputs unchanged since {commit[:12]}" in markdown

    # Edited after the last `mlci train`: the report says the outputs may be stale.
    repo.write("params.yaml", "alpha: 0.2\n")
    stale = json.loads(mlci("check", "--format", "json", cwd=repo.path).stdout)["train"]
    assert stale["stale"] is True


def test_undeclared_tracked_imports_are_named(tmp_path: Path, mlci: Invoker) -> None:
    repo = training_repo(tmp_path / "repo")
    repo.write("train.py", "import helpers\n" + TRAIN_PY)
    repo.write("helpers.py", "from lib import tools\n")
    repo.write("lib/__init__.py", "")
    repo.write("lib/tools.py", "import json\n")
    repo.write("untracked_only.py", "")
    repo.commit("helpers")
    done = mlci("train", cwd=repo.path)
    assert done.exit_code == 0, done.stderr
    assert "does not retrain" not in done.stdout
    assert "not cover (a change to them will not retrain): helpers.py, lib/__init__.py, " in (
        done.stderr
    )
    train = json.loads(mlci("check", "--format", "json", cwd=repo.path).stdout)["train"]
    assert train["undeclared_imports"] == ["helpers.py", "lib/__init__.py", "lib/tools.py"]


def test_a_failing_command_exits_1_and_caches_nothing(tmp_path: Path, mlci: Invoker) -> None:
    repo = training_repo(tmp_path / "repo")
    repo.write("train.py", "raise SystemExit(3)\n")
    done = mlci("train", cwd=repo.path)
    assert done.exit_code == 1
    assert done.stderr.splitlines()[-1] == (
        "mlci: error: the training command `python train.py` exited with 3 "
        "(its output is above; nothing was cached)"
    )
    assert not any((repo.path / ".mlci" / "cache").glob("*/record.json"))


def test_an_output_the_command_does_not_write_is_exit_2(tmp_path: Path, mlci: Invoker) -> None:
    repo = training_repo(tmp_path / "repo")
    repo.write("mlci.yaml", CONFIG.replace("[metrics.json, model]", "[metrics.json, model.pkl]"))
    done = mlci("train", cwd=repo.path)
    assert done.exit_code == 2
    assert "train.outputs: model.pkl was not written by `python train.py`" in done.stderr


def test_without_a_train_section(tmp_path: Path, mlci: Invoker) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("mlci.yaml", "metrics: {files: [m.json]}\n")
    done = mlci("train", cwd=repo.path)
    assert done.exit_code == 2
    assert "mlci.yaml declares no `train:` section" in done.stderr
    quiet = mlci("train", "--if-present", "--format", "json", cwd=repo.path)
    assert (quiet.exit_code, json.loads(quiet.stdout)) == (0, {"declared": False})


def test_plan_names_the_cache_entry(tmp_path: Path, mlci: Invoker) -> None:
    repo = training_repo(tmp_path / "repo")
    plan = json.loads(mlci("train", "--plan", "--format", "json", cwd=repo.path).stdout)
    digest = inputs_hash(repo.path)
    assert plan["action"] == "run"
    assert plan["cache_key"] == f"mlci-train-{digest}"
    assert plan["cache_path"] == str((repo.path / ".mlci" / "cache" / digest).resolve())
    assert plan["inputs"] == ["params.yaml", "src/__init__.py", "src/features.py", "train.py"]
    mlci("train", cwd=repo.path)
    again = json.loads(mlci("train", "--plan", "--format", "json", cwd=repo.path).stdout)
    assert again["action"] == "restore"


DVC_YAML = """\
stages:
  train:
    cmd: python train.py
    deps: [train.py, src/features.py]
    outs: [model]
    metrics:
      - metrics.json:
          cache: false
"""


@pytest.mark.slow
def test_a_dvc_repository_defers_to_dvc_repro(tmp_path: Path, mlci: Invoker) -> None:
    pytest.importorskip("dvc")
    repo = training_repo(tmp_path / "repo")
    repo.write("dvc.yaml", DVC_YAML)
    repo.write(".gitignore", ".mlci/\nruns.txt\n")
    subprocess.run(["dvc", "init", "-q"], cwd=repo.path, check=True)
    remote = tmp_path / "remote"
    subprocess.run(["dvc", "remote", "add", "-d", "local", str(remote)], cwd=repo.path, check=True)
    repo.commit("dvc")
    first = json.loads(mlci("train", "--format", "json", cwd=repo.path).stdout)
    assert (first["engine"], first["skipped"]) == ("dvc", False)
    subprocess.run(["dvc", "push", "-q"], cwd=repo.path, check=True)
    repo.commit("dvc.lock")
    # A fresh clone: nothing to run (DVC pulls only what a stage that runs needs; the committed
    # metrics are what `mlci check` reads).
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repo.path), str(clone)], check=True)
    second = mlci("train", "--format", "json", cwd=clone)
    assert second.exit_code == 0, second.stderr
    data = json.loads(second.stdout)
    assert (data["engine"], data["skipped"]) == ("dvc", True)
    assert data["commit"] == repo.git("rev-parse", "HEAD")
    assert not (clone / "runs.txt").exists()
    report = json.loads(mlci("check", "--format", "json", cwd=clone).stdout)
    assert report["train"]["skipped"] is True
