"""The first hour, end to end under `act`: `mlci init` in a DVC project (example-get-started's
layout, a local DVC remote) writes a config and a workflow that run green on a pull request
without an edit; and the iris PR flow with `mlflow.log: true` is green without hand edits.

The runner side (act, the stand-ins, the job's Python) is tests/act_workflows.py's.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from act_workflows import (
    ACT_MARKS,
    OUTPUTS_JOB,
    REPOSITORY,
    Act,
    PullRequestOnGitHub,
    iris_config,
    iris_repo,
    log_of,
    outputs,
    report_in,
    template,
)
from conftest import GitRepo, Invoker

DVC = shutil.which("dvc", path=str(Path(sys.executable).parent)) or shutil.which("dvc")

pytestmark = [
    *ACT_MARKS,
    pytest.mark.skipif(DVC is None, reason="dvc is not installed (pip install 'mlci[dvc]')"),
]

# A get-started-like project: raw data tracked by `dvc add`, a stage that trains and evaluates
# into the cached output `eval/` (dvclive-style nested metrics), params.yaml, src/requirements.txt.
TRAIN = """\
import csv, json, os
import yaml
params = yaml.safe_load(open("params.yaml"))["train"]
rows = list(csv.DictReader(open("data/raw.csv")))
correct = sum(1 for row in rows if (float(row["x"]) > params["threshold"]) == (row["y"] == "1"))
os.makedirs("eval", exist_ok=True)
accuracy = correct / len(rows)
json.dump({"accuracy": {"test": accuracy}, "loss": {"test": 1 - accuracy}},
          open("eval/metrics.json", "w"))
"""
DVC_YAML = f"""\
stages:
  train:
    cmd: {sys.executable} src/train.py
    deps:
    - data/raw.csv
    - src/train.py
    params:
    - train.threshold
    outs:
    - eval
metrics:
- eval/metrics.json
"""


def dvc(repo: Path, *args: str) -> None:
    assert DVC is not None
    done = subprocess.run([DVC, *args], cwd=repo, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def dvc_project(path: Path, remote: Path) -> GitRepo:
    repo = GitRepo(path)
    repo.git("remote", "add", "origin", f"https://github.com/{REPOSITORY}.git")
    dvc(repo.path, "init", "-q")
    dvc(repo.path, "remote", "add", "-d", "storage", str(remote))
    rows = "".join(f"{i / 100},{int(i > 40)}\n" for i in range(100))
    repo.write("data/raw.csv", "x,y\n" + rows)
    dvc(repo.path, "add", "-q", "data/raw.csv")
    repo.write("src/train.py", TRAIN)
    # Offline: the job's interpreter already sees PyYAML, so pip has nothing to download.
    repo.write("src/requirements.txt", "pyyaml\n")
    repo.write("params.yaml", "train:\n  threshold: 0.5\n")
    repo.write("dvc.yaml", DVC_YAML)
    dvc(repo.path, "repro", "-q")
    dvc(repo.path, "push", "-q")
    return repo


def test_init_in_a_dvc_project_runs_green_under_act(
    tmp_path: Path, mlci: Invoker, act: Act
) -> None:
    repo = dvc_project(tmp_path / "project", tmp_path / "dvc-remote")
    initialised = mlci("init", cwd=repo.path)
    assert initialised.exit_code == 0, initialised.stderr
    workflow = (repo.path / ".github/workflows/mlci.yml").read_text()
    assert yaml.safe_load(workflow)["jobs"]["mlci"]["with"] == {
        "train-command": "dvc repro",
        "extras": "data,dvc",
        "requirements": "src/requirements.txt",
        "dvc": "dvc",
        "dvc-pull": True,
    }
    config = (repo.path / "mlci.yaml").read_text()
    # The raw data the stage reads is the dataset (not the stage's output); the metrics come
    # from dvc.yaml.
    assert "  - name: raw\n    path: data/raw.csv\n    schema: schemas/raw.yaml" in config
    assert "#   eval/metrics.json\n" in config
    # The suggested gates, uncommented as the user would; the workflow as written (plus a job
    # that records the outputs).
    gates = config.split("# gates:\n", 1)[1]
    repo.write("mlci.yaml", config + "gates:\n" + gates.replace("#   ", "  "))
    repo.write(".github/workflows/mlci.yml", workflow + OUTPUTS_JOB)
    base = repo.commit("mlci init")
    # A pull request that moves the threshold; CI runs `dvc repro` itself.
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("params.yaml", "train:\n  threshold: 0.45\n")
    head = repo.commit("a lower threshold")
    # As on a fresh runner: no DVC cache, no outputs; `dvc pull` brings them from the remote.
    shutil.rmtree(repo.path / ".dvc" / "cache")
    shutil.rmtree(repo.path / "eval")
    (repo.path / "data" / "raw.csv").unlink()

    artifacts = tmp_path / "artifacts"
    with PullRequestOnGitHub() as github:
        done = act.pull_request(repo, github, base, head, artifacts=artifacts)
        comments = github.pull_comments()

    assert done.returncode == 0, log_of(done)
    assert outputs(artifacts)["PASSED"] == "true"
    report = report_in(artifacts)
    assert report["status"] == "passed", report["problems"]
    changes = {row["name"]: (row["old"], row["new"]) for row in report["diff"]["metrics"]}
    assert changes["accuracy.test"] == pytest.approx((0.9, 0.95))
    params = {row["name"]: (row["old"], row["new"]) for row in report["diff"]["params"]}
    assert params["train.threshold"] == (0.5, 0.45)
    assert [dataset["status"] for dataset in report["datasets"]] == ["valid"]
    assert len(comments) == 1
    assert "accuracy.test" in comments[0]["body"]


def test_mlflow_log_pull_request_is_green_without_hand_edits(tmp_path: Path, act: Act) -> None:
    """ "Promote on merge" tells users to set `mlflow.log: true`; the PR workflow template
    as it is (extras: sklearn, no tracking URI) must still pass."""
    repo, base = iris_repo(
        tmp_path / "iris",
        workflow=template("mlci.yml") + OUTPUTS_JOB,
        config=iris_config(mlflow={"log": True, "model_path": "model.joblib"}),
        mlci_source=act.action_source,
    )
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("NOTES.md", "Logistic regression instead of the depth-2 tree.\n")
    head = repo.commit("logistic regression")
    artifacts = tmp_path / "artifacts"
    with PullRequestOnGitHub() as github:
        done = act.pull_request(repo, github, base, head, artifacts=artifacts)

    assert done.returncode == 0, log_of(done)
    assert "fail-on-gate is false" not in done.stdout
    report = report_in(artifacts)
    assert report["status"] == "passed", report["problems"]
    assert report["mlflow_run"]["run_id"]
    assert (
        json.loads(outputs(artifacts)["SUMMARY"])["mlflow_run_id"]
        == (report["mlflow_run"]["run_id"])
    )
