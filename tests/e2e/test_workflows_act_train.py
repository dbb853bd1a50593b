"""End to end under `act`, with the real templates: `train:` in mlci.yaml makes a second run
with unchanged inputs restore the outputs from actions/cache instead of training, a change to a
declared input retrains; a merge queue (`merge_group`) enforces the gates without commenting.

The act stand-ins of actions/cache/restore and save (tests/act_stubs/cache/) keep entries in a
directory across the runs of one test, as GitHub's cache does across workflow runs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import yaml
from act_workflows import (
    ACT_MARKS,
    OUTPUTS_JOB,
    PR,
    Act,
    PullRequestOnGitHub,
    assert_churn_checked_and_ltv_unchanged,
    iris_config,
    iris_repo,
    log_of,
    open_pull_request,
    report_in,
    repository_payload,
    template,
    two_projects,
)

pytestmark = ACT_MARKS

# The iris example's training, declared: train.py is what the outputs depend on (it writes
# the data from scikit-learn's bundled set itself).
TRAIN = {
    "command": "python train.py",
    "inputs": ["train.py"],
    "outputs": ["data", "model.joblib", "metrics.json", "predictions.csv"],
}


def test_unchanged_inputs_skip_training_and_a_changed_input_retrains(
    tmp_path: Path, act: Act
) -> None:
    config = yaml.safe_load(iris_config())
    config["train"] = TRAIN
    repo, base = iris_repo(
        tmp_path / "iris",
        workflow=template("mlci.yml") + OUTPUTS_JOB,
        config=yaml.safe_dump(config, sort_keys=False),
        mlci_source=act.action_source,
    )
    repo.write(".gitignore", "model.joblib\nmlflow.db\nmlruns/\n.mlci/\ndata/\n")
    repo.commit("ignore the training cache")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("NOTES.md", "Logistic regression instead of the depth-2 tree.\n")
    head = repo.commit("logistic regression")
    with PullRequestOnGitHub() as github:

        def push(name: str, sha: str) -> subprocess.CompletedProcess[str]:
            # Every run starts from a fresh runner: nothing of the last run's work tree is left.
            shutil.rmtree(repo.path / ".mlci", ignore_errors=True)
            done = act.pull_request(repo, github, base, sha, artifacts=tmp_path / name)
            assert done.returncode == 0, log_of(done)
            return done

        first = push("first", head)
        first_comment = github.pull_comments()[0]["body"]

        # A docs-only push: the inputs hash is the same, the outputs come from the cache.
        repo.write("README.md", "How to train the iris model.\n")
        docs = repo.commit("docs only")
        second = push("second", docs)
        second_comment = github.pull_comments()[0]["body"]

        # A change to a declared input: training runs again.
        repo.write("train.py", (repo.path / "train.py").read_text() + "\n# retrain\n")
        changed = repo.commit("touch train.py")
        third = push("third", changed)
        comments = github.pull_comments()

    (tmp_path / "timings.json").write_text(json.dumps(act.wall_times))
    print(f"act wall time: {json.dumps(act.wall_times)}")
    # The stand-ins print `cache stand-in: miss|restored|saved KEY` (the key starts with the OS).
    assert '"skipped": false' in first.stdout  # `mlci train --format json` in the action
    assert "cache stand-in: miss Linux-mlci-train-" in first.stdout
    assert "cache stand-in: saved Linux-mlci-train-" in first.stdout
    assert "training ran in" in first_comment

    assert "cache stand-in: restored Linux-mlci-train-" in second.stdout
    assert '"skipped": true' in second.stdout
    assert "Success - Main Install requirements" not in second.stdout  # nothing to install
    assert f"training skipped: inputs unchanged since {head[:12]}" in second_comment
    first_report, second_report = report_in(tmp_path / "first"), report_in(tmp_path / "second")
    assert second_report["train"]["skipped"] is True
    assert first_report["train"]["skipped"] is False
    assert second_report["train"]["inputs_hash"] == first_report["train"]["inputs_hash"]
    # The same comparison, from the restored outputs.
    assert second_report["diff"] == {**first_report["diff"], "head": second_report["diff"]["head"]}
    assert second_report["gates"] == first_report["gates"]

    assert "cache stand-in: miss Linux-mlci-train-" in third.stdout
    assert '"skipped": false' in third.stdout
    third_report = report_in(tmp_path / "third")
    assert third_report["train"]["skipped"] is False
    assert third_report["train"]["inputs_hash"] != first_report["train"]["inputs_hash"]
    assert len(comments) == 1  # one sticky comment, edited on each push


def test_merge_group_enforces_the_gates_without_commenting(tmp_path: Path, act: Act) -> None:
    repo, base, head = open_pull_request(tmp_path, mlci_source=act.action_source, gate_min=0.99)
    event = {
        "action": "checks_requested",
        "merge_group": {
            "head_sha": head,
            "head_ref": f"refs/heads/gh-readonly-queue/main/pr-{PR}-{base}",
            "base_sha": base,
            "base_ref": "refs/heads/main",
            "head_commit": {"id": head, "message": "logistic regression"},
        },
        "repository": repository_payload(),
    }
    artifacts = tmp_path / "artifacts"
    with PullRequestOnGitHub() as github:
        github.pushed(head)
        done = act.run(repo, "merge_group", event, artifacts=artifacts, api_url=github.url)
        calls = github.calls()

    assert done.returncode != 0, log_of(done)
    assert "::error title=mlci::a gate or a data validation failed" in done.stdout
    assert calls == []  # no comment looked up, none posted
    report = report_in(artifacts)
    assert report["base"] == f"{base[:12]} (merge queue base)"
    failed = [(g["metric"], g["rule"]) for g in report["gates"] if g["status"] == "failed"]
    assert failed == [("accuracy", "min")]


def test_two_projects_a_pull_request_touching_one_posts_one_comment_with_both(
    tmp_path: Path, act: Act
) -> None:
    workflow = template("mlci.yml").replace("train-command: python train.py", "args: --changed")
    repo, base, head = two_projects(tmp_path, workflow=workflow)
    artifacts = tmp_path / "artifacts"
    with PullRequestOnGitHub() as github:
        done = act.pull_request(repo, github, base, head, artifacts=artifacts)
        comments = github.pull_comments()

    assert done.returncode == 0, log_of(done)
    assert_churn_checked_and_ltv_unchanged(comments, report_in(artifacts))
