"""End to end: the workflow templates, the reusable workflows and action.yml, run by `act` on
the host (`-P ubuntu-latest=-self-hosted`), offline, on a scratch copy of examples/iris.

The runner and the repositories are tests/act_workflows.py's: remote actions replaced by local
stand-ins, `mlci/mlci@v1` a copy of this checkout that the job installs as on GitHub. GitHub is
the fake API of tests/fake_github.py and MLflow a real local server.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from act_workflows import (
    ACT_MARKS,
    IRIS,
    Act,
    PullRequestOnGitHub,
    iris_config,
    iris_repo,
    log_of,
    open_pull_request,
    outputs,
    push_event,
    report_in,
    step_outputs,
    template,
    workflow_run_event,
)
from mlflow_server import MlflowServer

pytestmark = ACT_MARKS


# --- the tests ---------------------------------------------------------------------------------


def test_pull_request_posts_the_comment_then_updates_it(tmp_path: Path, act: Act) -> None:
    repo, base, head = open_pull_request(tmp_path, mlci_source=act.action_source)
    artifacts = tmp_path / "artifacts"
    with PullRequestOnGitHub() as github:
        first = act.pull_request(repo, github, base, head, artifacts=artifacts)
        assert first.returncode == 0, log_of(first)
        comments = github.pull_comments()
        assert len(comments) == 1
        assert comments[0]["body"].startswith("<!-- mlci:report id=default")
        assert "accuracy" in comments[0]["body"]
        first_outputs = outputs(artifacts)
        summary = json.loads(first_outputs["SUMMARY"])
        report = report_in(artifacts)

        # Another push to the pull request: the same comment is edited in place.
        repo.write("NOTES.md", "Logistic regression, max_iter 1000.\n")
        pushed = repo.commit("another push")
        second = act.pull_request(repo, github, base, pushed, artifacts=tmp_path / "artifacts-2")
        assert second.returncode == 0, log_of(second)
        calls = github.calls()
        updated = github.pull_comments()

    assert first_outputs["PASSED"] == "true"
    assert first_outputs["EXIT_CODE"] == "0"
    assert first_outputs["COMMENT_URL"] == comments[0]["html_url"]
    assert summary["status"] == "passed"
    assert report["status"] == "passed"
    assert summary["counts"] == report["counts"]
    assert report["counts"]["gates"]["failed"] == 0
    assert {gate["metric"] for gate in report["gates"]} == {"accuracy", "f1_macro", "log_loss"}
    changes = {
        change["name"]: (change["old"], change["new"]) for change in report["diff"]["metrics"]
    }
    assert changes["accuracy"] == pytest.approx((0.95, 0.983333), abs=1e-6)
    # The second run found its comment and edited it: still one comment, never a second POST.
    assert [method for method, _ in calls].count("POST") == 1
    assert [method for method, _ in calls].count("PATCH") == 1
    assert len(updated) == 1
    assert updated[0]["id"] == comments[0]["id"]
    assert pushed[:7] in updated[0]["body"]
    assert pushed[:7] not in comments[0]["body"]


def test_a_failing_gate_fails_the_job_and_says_so(tmp_path: Path, act: Act) -> None:
    repo, base, head = open_pull_request(tmp_path, mlci_source=act.action_source, gate_min=0.99)
    artifacts = tmp_path / "artifacts"
    with PullRequestOnGitHub() as github:
        done = act.pull_request(repo, github, base, head, artifacts=artifacts)
        comments = github.pull_comments()

    assert done.returncode != 0, log_of(done)
    assert "::error title=mlci::a gate or a data validation failed" in done.stdout
    # act's last line names the job by its `name:` before evaluating it (a matrix job's name).
    assert re.search(r"Error: Job '(train and check|\$\{\{ matrix.shard.name \}\})' failed",
                     done.stderr)  # fmt: skip
    step = step_outputs(done, "train and check")
    assert step["passed"] == "false"
    assert step["exit-code"] == "1"
    assert json.loads(step["summary"])["status"] == "failed"
    report = report_in(artifacts)
    failed = [
        (gate["metric"], gate["rule"]) for gate in report["gates"] if gate["status"] == "failed"
    ]
    assert failed == [("accuracy", "min")]
    assert len(comments) == 1  # the report still reaches the pull request


def test_fork_pull_request_comments_through_workflow_run(tmp_path: Path, act: Act) -> None:
    repo, base, head = open_pull_request(tmp_path, mlci_source=act.action_source)
    repo.write(".github/workflows/mlci-comment.yml", template("mlci-comment.yml"))
    repo.commit("the workflow_run half")
    head = repo.git("rev-parse", "HEAD")
    artifacts = tmp_path / "artifacts"
    with PullRequestOnGitHub() as github:
        pull = act.pull_request(repo, github, base, head, artifacts=artifacts,
                                head_repository="someone/iris")  # fmt: skip
        assert pull.returncode == 0, log_of(pull)
        assert github.pull_comments() == []
        assert (artifacts / "mlci-comment-default").is_dir()

        posted = act.run(repo, "workflow_run", workflow_run_event("success"),
                         ".github/workflows/mlci-comment.yml", artifacts=artifacts,
                         api_url=github.url)  # fmt: skip
        assert posted.returncode == 0, log_of(posted)
        comments = github.pull_comments()

    assert len(comments) == 1
    assert comments[0]["body"].startswith("<!-- mlci:report id=default")


def seed_champion(uri: str, model: str, experiment: str, model_file: Path) -> str:
    """The reference model as version 1 holding `champion`, as an earlier deploy left it."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiment_id = client.create_experiment(experiment)
    run_id = client.create_run(experiment_id).info.run_id
    for name, value in json.loads((IRIS / "baseline" / "metrics.json").read_text()).items():
        client.log_metric(run_id, name, value)
    client.log_artifact(run_id, str(model_file), "model")
    # Its per-example predictions, for the significance gate (as `mlci check` logs them).
    client.log_artifact(run_id, str(IRIS / "baseline" / "predictions.csv"), "predictions")
    client.set_tag(run_id, "mlci.predictions", "predictions/predictions.csv")
    client.set_terminated(run_id)
    client.create_registered_model(model)
    version = client.create_model_version(model, f"runs:/{run_id}/model", run_id=run_id)
    client.set_registered_model_alias(model, "champion", version.version)
    return run_id


def test_deploy_on_merge_promotes_in_mlflow(
    tmp_path: Path, act: Act, mlflow_server: MlflowServer
) -> None:
    from mlflow.tracking import MlflowClient

    model = f"iris-{tmp_path.name}"
    experiment = f"deploy-{tmp_path.name}"
    reference = tmp_path / "reference.joblib"
    reference.write_bytes(b"the reference model")
    seed_champion(mlflow_server.uri, model, experiment, reference)
    workflow = (
        template("mlci-deploy.yml")
        .replace("model: my-model", f"model: {model}")
        .replace("https://mlflow.example.com", mlflow_server.uri)
    )
    config = iris_config(
        mlflow={"log": True, "experiment": experiment, "model_path": "model.joblib"}
    )
    repo, before = iris_repo(
        tmp_path / "iris", workflow=workflow, config=config, mlci_source=act.action_source
    )
    repo.write("NOTES.md", "Logistic regression.\n")
    after = repo.commit("merge: logistic regression")
    done = act.run(repo, "push", push_event(before, after), artifacts=tmp_path / "artifacts")
    assert done.returncode == 0, log_of(done)

    client = MlflowClient(tracking_uri=mlflow_server.uri)
    champion = client.get_model_version_by_alias(model, "champion")
    run = client.get_run(champion.run_id)
    assert champion.version == "2"
    assert run.data.metrics["accuracy"] == pytest.approx(0.983333, abs=1e-6)
    assert run.data.tags["mlflow.source.git.commit"] == after
    promotion = json.loads(step_outputs(done, "promote in the MLflow registry")["summary"])
    assert (promotion["model"], promotion["alias"], promotion["action"]) == (
        model,
        "champion",
        "promoted",
    )
    assert (promotion["version"], promotion["previous"]) == ("2", "1")
    # The job summary (act prints it) says what was promoted and what held the alias before.
    summary = done.stdout.split("Summary - ### mlci promote: PROMOTED", 1)[1]
    assert f" | champion | 2 | 1 | {champion.run_id} | promoted |" in summary
    # The history job recorded the commit in MLflow (a tracking URI is set): a run tagged with it.
    experiment_id = client.get_experiment_by_name(experiment).experiment_id
    history = client.search_runs([experiment_id], "tags.`mlci.history.report_id` = 'default'")
    assert [run.data.tags["mlflow.source.git.commit"] for run in history] == [after]
    assert history[0].data.metrics["accuracy"] == pytest.approx(0.983333, abs=1e-6)
