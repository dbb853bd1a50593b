"""End to end under `act`, with the real templates: pushes to main run deploy-on-merge, whose
history job records each commit's metrics on the data branch of a local bare remote; a pull
request then gets a comment with the trend, and its second push's comment shows the first
push's metrics.

Run it alone (act is slow on shared cores): `pytest tests/e2e/test_workflows_act_history.py`.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from act_workflows import (
    ACT_MARKS,
    REPOSITORY,
    Act,
    PullRequestOnGitHub,
    iris_config,
    iris_repo,
    log_of,
    push_event,
    template,
)
from conftest import GitRepo, Invoker
from markdown_parse import parse_tables

from mlci.sources.history import parse_record

pytestmark = ACT_MARKS


def deploy_workflow() -> str:
    """The deploy template for a repository without MLflow: gates and history, no promotion."""
    text = template("mlci-deploy.yml")
    text = text.replace("      mlflow-tracking-uri: https://mlflow.example.com\n", "")
    text = text.replace("      model: my-model\n", "      promote: false\n")
    text = text.replace("extras: sklearn,mlflow", "extras: sklearn")
    assert "promote: false" in text
    return text


def on_remote(remote: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=remote, capture_output=True, text=True, check=True
    ).stdout


def github_remote(tmp_path: Path) -> Path:
    """A bare remote that git, in the test and in the jobs, reaches in GitHub's place.

    act names the repository after origin's URL (acme/iris), read from the repository's own
    config; git reaches the bare remote instead through the (test's private) global config,
    as it would reach GitHub."""
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", remote], check=True)
    with open(os.environ["GIT_CONFIG_GLOBAL"], "a") as config_file:
        config_file.write(f'[url "{remote}"]\n\tinsteadOf = https://github.com/{REPOSITORY}.git\n')
    return remote


def deploy_push(
    act: Act, repo: GitRepo, before: str, after: str, *, artifacts: Path
) -> subprocess.CompletedProcess[str]:
    """The deploy workflow on the push of `after` to main."""
    return act.run(repo, "push", push_event(before, after), ".github/workflows/deploy.yml",
                   artifacts=artifacts)  # fmt: skip


def test_base_branch_pushes_record_history_and_the_pr_comment_shows_the_trend(
    tmp_path: Path, act: Act, mlci: Invoker
) -> None:
    config = iris_config().rstrip("\n") + "\nhistory: {}\n"
    repo, _ = iris_repo(
        tmp_path / "iris",
        workflow=template("mlci.yml"),
        config=config,
        mlci_source=act.action_source,
    )
    remote = github_remote(tmp_path)
    repo.write(".github/workflows/deploy.yml", deploy_workflow())
    repo.write("NOTES.md", "the deploy workflow\n")
    recorded = [repo.commit("main: the deploy workflow")]
    repo.git("push", "-q", "origin", "main")
    # The first record by hand, as before the workflow existed (one act run fewer in CI)...
    by_hand = mlci("history", "record", cwd=repo.path)
    assert by_hand.exit_code == 0, by_hand.stderr
    # ... the next one by the deploy workflow, on the push of the next commit.
    repo.write("NOTES.md", "a README\n")
    after = repo.commit("main: a README")
    repo.git("push", "-q", "origin", "main")
    done = deploy_push(act, repo, recorded[0], after, artifacts=tmp_path / "deploy")
    assert done.returncode == 0, log_of(done)
    assert "record the base-branch history" in done.stdout
    assert f"mlci history: recorded {after[:12]} on origin/mlci-history" in done.stdout
    recorded.append(after)

    files = on_remote(remote, "ls-tree", "-r", "--name-only", "mlci-history").split()
    assert files == ["README.md", *sorted(f"default/{sha}.json" for sha in recorded)]
    record = parse_record(
        on_remote(remote, "show", f"mlci-history:default/{recorded[1]}.json").encode(), "remote"
    )
    assert record.parents == (recorded[0],)
    gated = {metric.name: metric.value for metric in record.gated()}
    assert set(gated) == {"accuracy", "f1_macro", "log_loss"}
    assert gated["accuracy"] is not None
    assert 0.9 < gated["accuracy"] <= 1.0
    # Only the history branch was written by the workflow: main is what was pushed.
    assert on_remote(remote, "rev-parse", "main").strip() == recorded[1]

    # A pull request from main's tip: its comment shows the trend; a second push, the first's.
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("NOTES.md", "Logistic regression.\n")
    heads = [repo.commit("feature: first push")]
    with PullRequestOnGitHub() as github:
        bodies = []
        for push in range(2):
            if push:
                repo.write("NOTES.md", "Logistic regression, again.\n")
                heads.append(repo.commit("feature: second push"))
            done = act.pull_request(repo, github, recorded[1], heads[-1],
                                    artifacts=tmp_path / f"pr-{push}")  # fmt: skip
            assert done.returncode == 0, log_of(done)
            comments = github.pull_comments()
            assert len(comments) == 1
            bodies.append(str(comments[0]["body"]))
    print(f"act wall time: {act.wall_times}")

    trend = next(table for table in parse_tables(bodies[0]) if table[0][0] == "Metric"
                 and "this PR" in table[0])  # fmt: skip
    assert trend[0][1:3] == [sha[:7] for sha in recorded]
    assert {row[0] for row in trend[1:]} == {"accuracy", "f1_macro", "log_loss"}
    assert "#### Trend on the base branch" in bodies[0]
    assert "```mermaid" in bodies[0]  # the trend charts
    assert "This pull request's pushes" not in bodies[0]
    pushes = next(table for table in parse_tables(bodies[1]) if table[0][0] == "Push")
    assert [row[0] for row in pushes[1:]] == [heads[0][:7], f"{heads[1][:7]} (this push)"]
    assert pushes[1][1:] == pushes[2][1:]  # the same model: the same metrics on both pushes


def test_two_projects_a_deploy_push_records_both_and_the_pr_comment_shows_each_trend(
    tmp_path: Path, act: Act, mlci: Invoker
) -> None:
    """A repository of two models whose mlci.yaml files leave `report.id` at its default:
    the deploy workflow (`args: --all`) records both projects in one push, each under its own
    id, and a pull request's comment shows each project's trend."""
    repo = GitRepo(tmp_path / "models")
    remote = github_remote(tmp_path)
    repo.git("remote", "add", "origin", f"https://github.com/{REPOSITORY}.git")
    pull_workflow = template("mlci.yml").replace(
        "      train-command: python train.py\n", "      args: --all\n"
    )
    deploy = deploy_workflow().replace(
        "      train-command: python train.py\n", "      args: --all\n"
    )
    assert pull_workflow.count("args: --all") == deploy.count("args: --all") == 1
    repo.write(".github/workflows/mlci.yml", pull_workflow)
    repo.write(".github/workflows/deploy.yml", deploy)
    repo.write("mlci.yaml", "projects: [churn, ltv]\nreport: {title: acme models}\n")
    repo.write("churn/mlci.yaml", "metrics: {files: [metrics.json]}\n"
               "gates: [{metric: auc, min: 0.7}]\nhistory: {}\n")  # fmt: skip
    repo.write("ltv/mlci.yaml", "metrics: {files: [metrics.json]}\n"
               "gates: [{metric: rmse, max: 4}]\nhistory: {}\n")  # fmt: skip

    def push(auc: float, rmse: float, message: str) -> str:
        repo.write("churn/metrics.json", json.dumps({"auc": auc}))
        repo.write("ltv/metrics.json", json.dumps({"rmse": rmse}))
        sha = repo.commit(message)
        repo.git("push", "-q", "origin", "main")
        return sha

    recorded = [push(0.80, 3.0, "two models")]
    # The first record by hand (what the history job runs), the next by the deploy workflow.
    report = tmp_path / "report.json"
    assert mlci("check", "--all", "-o", report, cwd=repo.path).exit_code == 0
    by_hand = mlci("history", "record", "--report", report, cwd=repo.path)
    assert by_hand.exit_code == 0, by_hand.stderr
    after = push(0.84, 2.5, "better models")
    done = deploy_push(act, repo, recorded[0], after, artifacts=tmp_path / "deploy")
    assert done.returncode == 0, log_of(done)
    assert f"mlci history: recorded {after[:12]} (churn, ltv) on origin/mlci-history" in (
        done.stdout
    )
    recorded.append(after)
    files = on_remote(remote, "ls-tree", "-r", "--name-only", "mlci-history").split()
    assert files == [
        "README.md",
        *sorted(f"churn/{sha}.json" for sha in recorded),
        *sorted(f"ltv/{sha}.json" for sha in recorded),
    ]
    log = on_remote(remote, "log", "--format=%s", "-n", "1", "mlci-history").strip()
    assert log == f"mlci history: record {after[:12]} (churn, ltv)"  # one commit, one push
    churn = parse_record(
        on_remote(remote, "show", f"mlci-history:churn/{after}.json").encode(), "remote"
    )
    assert [(m.name, m.value, m.gated) for m in churn.metrics] == [("auc", 0.84, True)]
    assert on_remote(remote, "rev-parse", "main").strip() == after

    repo.git("checkout", "-q", "-b", "feature")
    repo.write("churn/metrics.json", json.dumps({"auc": 0.9}))
    repo.write("ltv/metrics.json", json.dumps({"rmse": 2.0}))
    head = repo.commit("feature: both models improve")
    with PullRequestOnGitHub() as github:
        done = act.pull_request(repo, github, after, head, artifacts=tmp_path / "pr")
        assert done.returncode == 0, log_of(done)
        comments = github.pull_comments()
    print(f"act wall time: {act.wall_times}")
    assert len(comments) == 1
    body = str(comments[0]["body"])
    assert body.count("##### Trend on the base branch") == 2
    trends = [table for table in parse_tables(body) if table[0][0] == "Metric"
              and "this PR" in table[0]]  # fmt: skip
    assert [table[0][1:3] for table in trends] == [[sha[:7] for sha in recorded]] * 2
    assert [row[0] for table in trends for row in table[1:]] == ["auc", "rmse"]
    assert [table[1][1:4] for table in trends] == [["0.8", "0.84", "0.9"], ["3.0", "2.5", "2.0"]]
