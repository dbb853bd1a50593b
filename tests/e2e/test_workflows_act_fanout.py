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
import time
from pathlib import Path
from typing import Any

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
    outputs,
    pull_request_event,
    run_act,
    template,
)
from test_workflows_act import action_source as action_source  # a fixture
from test_workflows_act import job_bin as job_bin  # a fixture
from test_workflows_act import pytestmark as act_marks

pytestmark = act_marks


def report_in(artifacts: Path, name: str) -> dict[str, Any]:
    [path] = (artifacts / name).glob("*.json")
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def without_timings(report: dict[str, Any]) -> dict[str, Any]:
    """A report without what differs between two runs: wall times, and the config's path."""
    datasets = [{**d, "seconds": None} for d in report["datasets"]]
    return {**report, "datasets": datasets, "config": None}


def test_a_sharded_check_posts_one_merged_comment(
    tmp_path: Path, action_source: Path, job_bin: Path, trained_iris: Path
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
        mlci_source=action_source,
    )
    # The dataset's job does not train: the data it validates is committed.
    shutil.copytree(trained_iris / "data", repo.path / "data")
    repo.commit("the data")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("NOTES.md", "Logistic regression instead of the depth-2 tree.\n")
    repo.commit("logistic regression")
    timings: dict[str, float] = {}
    runs: dict[str, Any] = {}
    bodies: dict[str, str] = {}
    for name, workflow in (("one job", one_job), ("sharded", sharded)):
        repo.write(".github/workflows/mlci.yml", workflow + OUTPUTS_JOB)
        head = repo.commit(name)
        with FakeGitHub(token=TOKEN) as github:
            github.add_pull(REPOSITORY, PR, head_sha=head)
            started = time.monotonic()
            runs[name] = run_act(repo, "pull_request", pull_request_event(base, head),
                                 ".github/workflows/mlci.yml", action_source=action_source,
                                 job_bin=job_bin, artifacts=tmp_path / name,
                                 api_url=github.url)  # fmt: skip
            timings[name] = time.monotonic() - started
            assert runs[name].returncode == 0, log_of(runs[name])
            comments = github.comments(REPOSITORY, PR)
            assert len(comments) == 1  # one sticky comment (from the merge job when sharded)
            bodies[name] = comments[0]["body"]
    print(f"act wall time: {json.dumps({k: round(v, 1) for k, v in timings.items()})}")

    artifacts = tmp_path / "sharded"
    dataset_part = report_in(artifacts, "mlci-part-default-1-datasets-iris")
    rest_part = report_in(artifacts, "mlci-part-default-rest")
    assert dataset_part["partial"]["parts"] == ["datasets:iris"]
    assert [d["name"] for d in dataset_part["datasets"]] == ["iris"]
    assert "datasets:iris" not in rest_part["partial"]["parts"]
    merged = report_in(artifacts, "mlci-report-default")
    assert merged["partial"] is None
    assert merged["head_sha"] == dataset_part["head_sha"] == rest_part["head_sha"]
    assert merged["status"] == "passed"
    single = report_in(tmp_path / "one job", "mlci-report-default")
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


def two_projects(tmp_path: Path) -> tuple[GitRepo, str, str]:
    """A repository of two models; a pull request that changes one of them."""
    workflow = template("mlci.yml").replace(
        "      train-command: python train.py\n", "      shards: changed-projects\n"
    )
    repo = GitRepo(tmp_path / "models")
    repo.git("remote", "add", "origin", f"https://github.com/{REPOSITORY}.git")
    repo.write(".github/workflows/mlci.yml", workflow + OUTPUTS_JOB)
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
    return repo, base, head


def test_two_projects_a_pull_request_touching_one_runs_one_job(
    tmp_path: Path, action_source: Path, job_bin: Path
) -> None:
    repo, base, head = two_projects(tmp_path)
    artifacts = tmp_path / "artifacts"
    with FakeGitHub(token=TOKEN) as github:
        github.add_pull(REPOSITORY, PR, head_sha=head)
        started = time.monotonic()
        done = run_act(repo, "pull_request", pull_request_event(base, head),
                       ".github/workflows/mlci.yml", action_source=action_source,
                       job_bin=job_bin, artifacts=artifacts, api_url=github.url)  # fmt: skip
        seconds = time.monotonic() - started
        comments = github.comments(REPOSITORY, PR)
    print(f"act wall time: {seconds:.1f} s (changed projects: plan, 1 job, merge)")
    assert done.returncode == 0, log_of(done)

    # One matrix job, for churn; ltv is listed by the planning job.
    parts = sorted(p.name for p in artifacts.iterdir() if p.name.startswith("mlci-part-"))
    assert parts == ["mlci-part-default-1-churn", "mlci-part-default-unchanged"]
    assert report_in(artifacts, "mlci-part-default-1-churn")["partial"]["parts"] == [
        "projects:churn"
    ]
    assert len(comments) == 1
    body = comments[0]["body"]
    assert "### ✅ acme models: passed · projects: 1 passed, 1 unchanged" in body
    assert "| churn | passed | 1/1 |  |" in body
    assert "| ltv | unchanged |  | not run: nothing under it changed against merge-base(" in body
    assert "#### ✅ churn: passed" in body
    assert "#### ✅ ltv" not in body
    merged = report_in(artifacts, "mlci-report-default")
    assert [(p["path"], p["status"]) for p in merged["projects"]] == [
        ("churn", "passed"),
        ("ltv", "unchanged"),
    ]
    assert merged["partial"] is None


def test_a_pull_request_touching_no_project_runs_no_project_job(
    tmp_path: Path, action_source: Path, job_bin: Path
) -> None:
    """An empty matrix is no job at all (GitHub refuses a matrix without values): the planning
    job lists both projects as unchanged and the merge job posts that."""
    repo, base, _ = two_projects(tmp_path)
    repo.git("checkout", "-q", "-b", "docs", base)
    repo.write("README.md", "Two models.\n")
    head = repo.commit("docs only")
    artifacts = tmp_path / "artifacts"
    with FakeGitHub(token=TOKEN) as github:
        github.add_pull(REPOSITORY, PR, head_sha=head)
        done = run_act(repo, "pull_request", pull_request_event(base, head),
                       ".github/workflows/mlci.yml", action_source=action_source,
                       job_bin=job_bin, artifacts=artifacts, api_url=github.url)  # fmt: skip
        comments = github.comments(REPOSITORY, PR)
    assert done.returncode == 0, log_of(done)
    parts = sorted(p.name for p in artifacts.iterdir() if p.name.startswith("mlci-part-"))
    assert parts == ["mlci-part-default-unchanged"]
    assert len(comments) == 1
    assert "projects: 2 unchanged" in comments[0]["body"]
    merged = report_in(artifacts, "mlci-report-default")
    assert [(p["path"], p["status"]) for p in merged["projects"]] == [
        ("churn", "unchanged"),
        ("ltv", "unchanged"),
    ]


def test_a_failing_shard_on_a_fork_fails_the_merge_and_comments_through_workflow_run(
    tmp_path: Path, action_source: Path, job_bin: Path
) -> None:
    """A shard whose gate fails still uploads its report; the merge job fails with the merged
    verdict and, the fork's token being read-only, writes the comment artifact that the
    workflow_run half posts."""
    repo, base, _ = two_projects(tmp_path)
    repo.write("churn/metrics.json", '{"auc": 0.60}')  # under its gate, min 0.7
    repo.write(".github/workflows/mlci-comment.yml", template("mlci-comment.yml"))
    head = repo.commit("churn: a worse model")
    artifacts = tmp_path / "artifacts"
    with FakeGitHub(token=TOKEN) as github:
        github.add_pull(REPOSITORY, PR, head_sha=head)
        kwargs = {"action_source": action_source, "job_bin": job_bin, "api_url": github.url,
                  "artifacts": artifacts}  # fmt: skip
        event = pull_request_event(base, head, head_repository="someone/models")
        pull = run_act(repo, "pull_request", event, ".github/workflows/mlci.yml", **kwargs)
        assert pull.returncode != 0, log_of(pull)
        assert github.comments(REPOSITORY, PR) == []  # the fork's token cannot write
        assert (artifacts / "mlci-comment-default").is_dir()  # written by the merge job

        workflow_run = {
            "action": "completed",
            "workflow_run": {"id": 4242, "event": "pull_request", "conclusion": "failure"},
            "repository": {"full_name": REPOSITORY, "name": "models", "owner": {"login": "acme"}},
        }
        posted = run_act(repo, "workflow_run", workflow_run, ".github/workflows/mlci-comment.yml",
                         **kwargs)  # fmt: skip
        assert posted.returncode == 0, log_of(posted)
        comments = github.comments(REPOSITORY, PR)

    assert report_in(artifacts, "mlci-part-default-1-churn")["status"] == "failed"
    merged = report_in(artifacts, "mlci-report-default")
    assert merged["status"] == "failed"
    assert merged["exit_code"] == 1
    assert "::error title=mlci::a gate or a data validation failed" in pull.stdout
    assert re.search(r"^\[[^\]]*/merge the reports\] 🏁  Job failed$", pull.stdout, re.M)
    assert len(comments) == 1
    body = comments[0]["body"]
    assert body.startswith("<!-- mlci:report id=default -->\n### ❌ acme models: failed")
    assert "projects: 1 failed, 1 unchanged" in body
    assert "| ltv | unchanged |" in body
