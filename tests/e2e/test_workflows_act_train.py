"""End to end under `act`, with the real templates: `train:` in mlci.yaml makes a second run
with unchanged inputs restore the outputs from actions/cache instead of training, a change to a
declared input retrains; a merge queue (`merge_group`) enforces the gates without commenting.

The act stand-ins of actions/cache/restore and save (tests/act_stubs/cache/) keep entries in a
directory across the runs of one test, as GitHub's cache does across workflow runs.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import yaml
from conftest import GitRepo
from fake_github import FakeGitHub
from test_workflows_act import (
    OUTPUTS_JOB,
    PR,
    REPOSITORY,
    TOKEN,
    iris_config,
    iris_repo,
    log_of,
    open_pull_request,
    pull_request_event,
    run_act,
    template,
)
from test_workflows_act import action_source as action_source  # a fixture
from test_workflows_act import job_bin as job_bin  # a fixture
from test_workflows_act import pytestmark as act_marks

pytestmark = act_marks

# The iris example's training, declared: train.py is what the outputs depend on (it writes
# the data from scikit-learn's bundled set itself).
TRAIN = {
    "command": "python train.py",
    "inputs": ["train.py"],
    "outputs": ["data", "model.joblib", "metrics.json", "predictions.csv"],
}


def report_of(artifacts: Path) -> dict[str, Any]:
    return json.loads((artifacts / "mlci-report-default" / "report.json").read_text())  # type: ignore[no-any-return]


def test_unchanged_inputs_skip_training_and_a_changed_input_retrains(
    tmp_path: Path,
    action_source: Path,
    job_bin: Path,
) -> None:
    config = yaml.safe_load(iris_config())
    config["train"] = TRAIN
    repo, base = iris_repo(
        tmp_path / "iris",
        workflow=template("mlci.yml") + OUTPUTS_JOB,
        config=yaml.safe_dump(config, sort_keys=False),
        mlci_source=action_source,
    )
    repo.write(".gitignore", "model.joblib\nmlflow.db\nmlruns/\n.mlci/\ndata/\n")
    repo.commit("ignore the training cache")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("NOTES.md", "Logistic regression instead of the depth-2 tree.\n")
    head = repo.commit("logistic regression")
    timings: dict[str, float] = {}
    with FakeGitHub(token=TOKEN) as github:

        def push(name: str, sha: str) -> Any:
            # Every run starts from a fresh runner: nothing of the last run's work tree is left.
            shutil.rmtree(repo.path / ".mlci", ignore_errors=True)
            github.add_pull(REPOSITORY, PR, head_sha=sha)
            started = time.monotonic()
            done = run_act(repo, "pull_request", pull_request_event(base, sha),
                           ".github/workflows/mlci.yml", action_source=action_source,
                           job_bin=job_bin, artifacts=tmp_path / name,
                           api_url=github.url)  # fmt: skip
            timings[name] = time.monotonic() - started
            assert done.returncode == 0, log_of(done)
            return done

        first = push("first", head)
        first_comment = github.comments(REPOSITORY, PR)[0]["body"]

        # A docs-only push: the inputs hash is the same, the outputs come from the cache.
        repo.write("README.md", "How to train the iris model.\n")
        docs = repo.commit("docs only")
        second = push("second", docs)
        second_comment = github.comments(REPOSITORY, PR)[0]["body"]

        # A change to a declared input: training runs again.
        repo.write("train.py", (repo.path / "train.py").read_text() + "\n# retrain\n")
        changed = repo.commit("touch train.py")
        third = push("third", changed)
        comments = github.comments(REPOSITORY, PR)

    (tmp_path / "timings.json").write_text(json.dumps(timings))
    print(f"act wall time: {json.dumps({k: round(v, 1) for k, v in timings.items()})}")
    # The stand-ins print `cache stand-in: miss|restored|saved KEY` (the key starts with the OS).
    assert '"skipped": false' in first.stdout  # `mlci train --format json` in the action
    assert "cache stand-in: miss Linux-mlci-train-" in first.stdout
    assert "cache stand-in: saved Linux-mlci-train-" in first.stdout
    assert "training ran in" in first_comment

    assert "cache stand-in: restored Linux-mlci-train-" in second.stdout
    assert '"skipped": true' in second.stdout
    assert "Success - Main Install requirements" not in second.stdout  # nothing to install
    assert f"training skipped: inputs unchanged since {head[:12]}" in second_comment
    first_report, second_report = report_of(tmp_path / "first"), report_of(tmp_path / "second")
    assert second_report["train"]["skipped"] is True
    assert first_report["train"]["skipped"] is False
    assert second_report["train"]["inputs_hash"] == first_report["train"]["inputs_hash"]
    # The same comparison, from the restored outputs.
    assert second_report["diff"] == {**first_report["diff"], "head": second_report["diff"]["head"]}
    assert second_report["gates"] == first_report["gates"]

    assert "cache stand-in: miss Linux-mlci-train-" in third.stdout
    assert '"skipped": false' in third.stdout
    third_report = report_of(tmp_path / "third")
    assert third_report["train"]["skipped"] is False
    assert third_report["train"]["inputs_hash"] != first_report["train"]["inputs_hash"]
    assert len(comments) == 1  # one sticky comment, edited on each push


def test_merge_group_enforces_the_gates_without_commenting(
    tmp_path: Path,
    action_source: Path,
    job_bin: Path,
) -> None:
    repo, base, head = open_pull_request(tmp_path, mlci_source=action_source, gate_min=0.99)
    event = {
        "action": "checks_requested",
        "merge_group": {
            "head_sha": head,
            "head_ref": f"refs/heads/gh-readonly-queue/main/pr-{PR}-{base}",
            "base_sha": base,
            "base_ref": "refs/heads/main",
            "head_commit": {"id": head, "message": "logistic regression"},
        },
        "repository": {"full_name": REPOSITORY, "name": "iris", "owner": {"login": "acme"}},
    }
    artifacts = tmp_path / "artifacts"
    with FakeGitHub(token=TOKEN) as github:
        github.add_pull(REPOSITORY, PR, head_sha=head)
        done = run_act(repo, "merge_group", event, ".github/workflows/mlci.yml",
                       action_source=action_source, job_bin=job_bin, artifacts=artifacts,
                       api_url=github.url)  # fmt: skip
        calls = github.calls()

    assert done.returncode != 0, log_of(done)
    assert "::error title=mlci::a gate or a data validation failed" in done.stdout
    assert calls == []  # no comment looked up, none posted
    report = report_of(artifacts)
    assert report["base"] == f"{base[:12]} (merge queue base)"
    failed = [(g["metric"], g["rule"]) for g in report["gates"] if g["status"] == "failed"]
    assert failed == [("accuracy", "min")]


def test_two_projects_a_pull_request_touching_one_posts_one_comment_with_both(
    tmp_path: Path,
    action_source: Path,
    job_bin: Path,
) -> None:
    workflow = template("mlci.yml").replace("train-command: python train.py", "args: --changed")
    repo = GitRepo(tmp_path / "models")
    repo.git("remote", "add", "origin", f"https://github.com/{REPOSITORY}.git")
    repo.write(".github/workflows/mlci.yml", workflow)
    repo.write("mlci.yaml", "projects: [churn, ltv]\nreport: {title: acme models}\n")
    repo.write("churn/mlci.yaml", "metrics: {files: [metrics.json]}\n"
               "gates: [{metric: auc, min: 0.7}]\n")  # fmt: skip
    repo.write("churn/metrics.json", '{"auc": 0.80}')
    repo.write("ltv/mlci.yaml", "metrics: {files: [metrics.json]}\n"
               "gates: [{metric: rmse, max: 4}]\n")  # fmt: skip
    repo.write("ltv/metrics.json", '{"rmse": 3.0}')
    base = repo.commit("two models")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("churn/metrics.json", '{"auc": 0.86}')
    head = repo.commit("churn: new features")
    artifacts = tmp_path / "artifacts"
    with FakeGitHub(token=TOKEN) as github:
        github.add_pull(REPOSITORY, PR, head_sha=head)
        done = run_act(repo, "pull_request", pull_request_event(base, head),
                       ".github/workflows/mlci.yml", action_source=action_source,
                       job_bin=job_bin, artifacts=artifacts, api_url=github.url)  # fmt: skip
        comments = github.comments(REPOSITORY, PR)

    assert done.returncode == 0, log_of(done)
    assert len(comments) == 1
    body = comments[0]["body"]
    assert "### ✅ acme models: passed · projects: 1 passed, 1 unchanged" in body
    assert "| churn | passed | 1/1 |  |" in body
    assert "| ltv | unchanged |  | not run: nothing under it changed against merge-base(" in body
    assert "#### ✅ churn: passed" in body
    assert "#### ✅ ltv" not in body
    report = report_of(artifacts)
    assert [(p["path"], p["status"]) for p in report["projects"]] == [
        ("churn", "passed"),
        ("ltv", "unchanged"),
    ]
