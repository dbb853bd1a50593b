"""End to end under `act`, with the real templates: the check fanned out across jobs
(`shards:` of train-on-pr.yml) posts one merged sticky comment; a repository of two projects
where a pull request touches one runs one job for it, and the comment has both sections.

The act stand-ins of upload-artifact and download-artifact (tests/act_stubs/) pass the partial
reports between the jobs through a directory, as GitHub's artifacts do between runners.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from act_workflows import (
    ACT_MARKS,
    OUTPUTS_JOB,
    Act,
    PullRequestOnGitHub,
    assert_churn_checked_and_ltv_unchanged,
    iris_config,
    iris_repo,
    log_of,
    outputs,
    report_in,
    template,
    two_projects,
    workflow_run_event,
)
from conftest import GitRepo

pytestmark = ACT_MARKS


def without_timings(report: dict[str, Any]) -> dict[str, Any]:
    """A report without what differs between two runs: wall times, and the config's path."""
    datasets = [{**d, "seconds": None} for d in report["datasets"]]
    return {**report, "datasets": datasets, "config": None}


def test_a_sharded_check_posts_one_merged_comment(
    tmp_path: Path, act: Act, trained_iris: Path
) -> None:
    """The same pull request checked by one job, then by a job per shard: the merged report is
    the one job's, posted as one comment."""
    one_job = template("mlci.yml")
    sharded = one_job.replace(
        "      extras: sklearn\n", "      extras: sklearn\n      shards: datasets:iris\n"
    )
    repo, base = iris_repo(
        tmp_path / "iris",
        workflow=one_job + OUTPUTS_JOB,
        config=iris_config(),
        mlci_source=act.action_source,
    )
    # The dataset's job does not train: the data it validates is committed.
    shutil.copytree(trained_iris / "data", repo.path / "data")
    repo.commit("the data")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("NOTES.md", "Logistic regression instead of the depth-2 tree.\n")
    repo.commit("logistic regression")
    runs: dict[str, Any] = {}
    bodies: dict[str, str] = {}
    for name, workflow in (("one job", one_job), ("sharded", sharded)):
        repo.write(".github/workflows/mlci.yml", workflow + OUTPUTS_JOB)
        head = repo.commit(name)
        with PullRequestOnGitHub() as github:
            runs[name] = act.pull_request(repo, github, base, head, artifacts=tmp_path / name)
            assert runs[name].returncode == 0, log_of(runs[name])
            comments = github.pull_comments()
            assert len(comments) == 1  # one sticky comment (from the merge job when sharded)
            bodies[name] = comments[0]["body"]
    print(f"act wall time: {json.dumps(act.wall_times)}")

    artifacts = tmp_path / "sharded"
    dataset_part = report_in(artifacts, "mlci-part-default-1-datasets-iris")
    rest_part = report_in(artifacts, "mlci-part-default-rest")
    assert dataset_part["partial"]["parts"] == ["datasets:iris"]
    assert [d["name"] for d in dataset_part["datasets"]] == ["iris"]
    assert "datasets:iris" not in rest_part["partial"]["parts"]
    merged = report_in(artifacts)
    assert merged["partial"] is None
    assert merged["head_sha"] == dataset_part["head_sha"] == rest_part["head_sha"]
    assert merged["status"] == "passed"
    single = report_in(tmp_path / "one job")
    assert without_timings({**merged, "head_sha": None}) == without_timings(
        {**single, "head_sha": None}
    )

    body = bodies["sharded"]
    assert body.startswith("<!-- mlci:report id=default -->\n### ✅ iris classifier: passed")
    assert "Partial report" not in body
    assert body.split("\n", 2)[1] == bodies["one job"].split("\n", 2)[1]  # the same headline
    assert json.loads(outputs(artifacts)["SUMMARY"])["counts"] == merged["counts"]
    # The shard jobs wrote no job summary: they passed --no-summary.
    assert runs["sharded"].stdout.count("--no-summary") >= 2


def sharded_projects(tmp_path: Path) -> tuple[GitRepo, str, str]:
    """Two models, a job per changed project; a pull request that changes one of them."""
    workflow = template("mlci.yml").replace(
        "      train-command: python train.py\n", "      shards: changed-projects\n"
    )
    return two_projects(tmp_path, workflow=workflow + OUTPUTS_JOB)


def test_two_projects_a_pull_request_touching_one_runs_one_job(tmp_path: Path, act: Act) -> None:
    repo, base, head = sharded_projects(tmp_path)
    artifacts = tmp_path / "artifacts"
    with PullRequestOnGitHub() as github:
        done = act.pull_request(repo, github, base, head, artifacts=artifacts)
        comments = github.pull_comments()
    print(f"act wall time: {act.wall_times['artifacts']} s (changed projects: plan, 1 job, merge)")
    assert done.returncode == 0, log_of(done)

    # One matrix job, for churn; ltv is listed by the planning job.
    parts = sorted(p.name for p in artifacts.iterdir() if p.name.startswith("mlci-part-"))
    assert parts == ["mlci-part-default-1-churn", "mlci-part-default-unchanged"]
    assert report_in(artifacts, "mlci-part-default-1-churn")["partial"]["parts"] == [
        "projects:churn"
    ]
    merged = report_in(artifacts)
    assert_churn_checked_and_ltv_unchanged(comments, merged)
    assert merged["partial"] is None


def test_a_pull_request_touching_no_project_runs_no_project_job(tmp_path: Path, act: Act) -> None:
    """An empty matrix is no job at all (GitHub refuses a matrix without values): the planning
    job lists both projects as unchanged and the merge job posts that."""
    repo, base, _ = sharded_projects(tmp_path)
    repo.git("checkout", "-q", "-b", "docs", base)
    repo.write("README.md", "Two models.\n")
    head = repo.commit("docs only")
    artifacts = tmp_path / "artifacts"
    with PullRequestOnGitHub() as github:
        done = act.pull_request(repo, github, base, head, artifacts=artifacts)
        comments = github.pull_comments()
    assert done.returncode == 0, log_of(done)
    parts = sorted(p.name for p in artifacts.iterdir() if p.name.startswith("mlci-part-"))
    assert parts == ["mlci-part-default-unchanged"]
    assert len(comments) == 1
    assert "projects: 2 unchanged" in comments[0]["body"]
    merged = report_in(artifacts)
    assert [(p["path"], p["status"]) for p in merged["projects"]] == [
        ("churn", "unchanged"),
        ("ltv", "unchanged"),
    ]


def test_a_failing_shard_on_a_fork_fails_the_merge_and_comments_through_workflow_run(
    tmp_path: Path, act: Act
) -> None:
    """A shard whose gate fails still uploads its report; the merge job fails with the merged
    verdict and, the fork's token being read-only, writes the comment artifact that the
    workflow_run half posts."""
    repo, base, _ = sharded_projects(tmp_path)
    repo.write("churn/metrics.json", '{"auc": 0.60}')  # under its gate, min 0.7
    repo.write(".github/workflows/mlci-comment.yml", template("mlci-comment.yml"))
    head = repo.commit("churn: a worse model")
    artifacts = tmp_path / "artifacts"
    with PullRequestOnGitHub() as github:
        pull = act.pull_request(repo, github, base, head, artifacts=artifacts,
                                head_repository="someone/models")  # fmt: skip
        assert pull.returncode != 0, log_of(pull)
        assert github.pull_comments() == []  # the fork's token cannot write
        assert (artifacts / "mlci-comment-default").is_dir()  # written by the merge job

        posted = act.run(repo, "workflow_run", workflow_run_event("failure", repository="models"),
                         ".github/workflows/mlci-comment.yml", artifacts=artifacts,
                         api_url=github.url)  # fmt: skip
        assert posted.returncode == 0, log_of(posted)
        comments = github.pull_comments()

    assert report_in(artifacts, "mlci-part-default-1-churn")["status"] == "failed"
    merged = report_in(artifacts)
    assert merged["status"] == "failed"
    assert merged["exit_code"] == 1
    assert "::error title=mlci::a gate or a data validation failed" in pull.stdout
    assert re.search(r"^\[[^\]]*/merge the reports\] 🏁  Job failed$", pull.stdout, re.M)
    assert len(comments) == 1
    body = comments[0]["body"]
    assert body.startswith("<!-- mlci:report id=default -->\n### ❌ acme models: failed")
    assert "projects: 1 failed, 1 unchanged" in body
    assert "| ltv | unchanged |" in body
