"""Fan-out across CI jobs: `mlci check --only PART` (and `--skip`) writes a partial report,
`mlci report merge` combines the partial reports into the report one whole check makes, and
`mlci projects --changed --json` lists the projects a pull request touches. Real git
repositories, real CSV files validated by pandera."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import GitRepo, Invoker

SCHEMA = """\
schema_type: dataframe
version: 0.20.0
columns:
  x:
    dtype: int64
    nullable: false
    checks:
      greater_than_or_equal_to: 0
"""

CONFIG = """\
datasets:
  - {name: train, path: data/train.csv, schema: schema.yaml}
  - {name: test, path: data/test.csv, schema: schema.yaml}
metrics: {files: [metrics.json]}
gates: [{metric: accuracy, min: 0.8}]
report: {title: fan-out}
"""


@pytest.fixture
def project(git_repo: GitRepo) -> GitRepo:
    git_repo.write("mlci.yaml", CONFIG)
    git_repo.write("schema.yaml", SCHEMA)
    git_repo.write("data/train.csv", "x\n1\n2\n3\n")
    git_repo.write("data/test.csv", "x\n4\n5\n")
    git_repo.write("metrics.json", '{"accuracy": 0.85}')
    git_repo.commit("model")
    git_repo.git("checkout", "-q", "-b", "feature")
    git_repo.write("metrics.json", '{"accuracy": 0.9}')
    git_repo.write("data/test.csv", "x\n4\n-5\n")  # one invalid row
    git_repo.commit("better model, a bad test row")
    return git_repo


def check_json(mlci: Invoker, repo: GitRepo, *args: str) -> tuple[int, dict[str, Any]]:
    done = mlci("check", "--format", "json", *args, cwd=repo.path)
    return done.exit_code, json.loads(done.stdout)


def without_timings(report: dict[str, Any]) -> dict[str, Any]:
    """A report without the one field that differs between two runs (docs/report.md)."""
    return {
        **report,
        "datasets": [{**d, "seconds": None} for d in report["datasets"]],
    }


def test_only_one_dataset_writes_a_partial_report(mlci: Invoker, project: GitRepo) -> None:
    code, report = check_json(mlci, project, "--only", "datasets:train")
    assert code == 0
    assert report["partial"] == {
        "parts": ["datasets:train"],
        "of": [
            *("train", "datasets:train", "datasets:test", "diff", "model", "gates", "history"),
            *("dvc", "log"),
        ],
    }
    assert [d["name"] for d in report["datasets"]] == ["train"]
    assert report["gates"] == []
    assert report["diff"] is None
    assert report["head_sha"] == project.git("rev-parse", "HEAD")

    code, report = check_json(mlci, project, "--only", "gates", "--only", "datasets:test")
    assert code == 1  # the invalid row
    assert report["partial"]["parts"] == ["datasets:test", "gates"]
    assert [(g["metric"], g["status"]) for g in report["gates"]] == [("accuracy", "passed")]

    whole = json.loads(mlci("check", "--format", "json", cwd=project.path).stdout)
    assert whole["partial"] is None


def test_a_bad_part_is_exit_2_naming_the_valid_ones(mlci: Invoker, project: GitRepo) -> None:
    done = mlci("check", "--only", "datasets:nope", cwd=project.path)
    assert done.exit_code == 2
    assert done.stderr.strip() == (
        "mlci: error: --only 'datasets:nope': no such part of this check; its parts are: "
        "train, datasets:train, datasets:test, diff, model, gates, history, dvc, log"
    )
    assert "Traceback" not in done.stderr
    done = mlci("check", "--skip", "gatez", cwd=project.path)
    assert done.exit_code == 2
    assert "--skip 'gatez': no such part" in done.stderr
    done = mlci("check", "--only", "projects:a", cwd=project.path)
    assert done.exit_code == 2
    assert "add --all or --changed" in done.stderr


def test_merged_shards_are_the_whole_check(mlci: Invoker, project: GitRepo, tmp_path: Path) -> None:
    shards = tmp_path / "shards"
    for name, args in {
        "train": ["--only", "datasets:train"],
        "test": ["--only", "datasets:test"],
        "rest": ["--skip", "datasets:train", "--skip", "datasets:test"],
    }.items():
        mlci("check", *args, "-o", shards / f"{name}.json", cwd=project.path)
    whole_done = mlci("check", "--format", "json", cwd=project.path)
    whole = json.loads(whole_done.stdout)

    done = mlci("report", "merge", shards, "--format", "json", cwd=project.path)
    assert done.exit_code == 1 == whole_done.exit_code  # the worst verdict: the invalid row
    merged = json.loads(done.stdout)
    assert without_timings(merged) == without_timings(whole)
    assert [d["name"] for d in merged["datasets"]] == ["train", "test"]  # the config's order

    # The order of the files does not matter, and a merged report merges to itself.
    files = sorted(shards.glob("*.json"), reverse=True)
    again = mlci("report", "merge", *files, "-o", tmp_path / "merged.json", cwd=project.path)
    assert again.exit_code == 1
    assert json.loads((tmp_path / "merged.json").read_text()) == merged
    once_more = mlci("report", "merge", tmp_path / "merged.json", "--format", "json")
    assert json.loads(once_more.stdout) == merged

    markdown = mlci("report", "merge", shards, "--format", "markdown", cwd=project.path).stdout
    assert markdown.count("<!-- mlci:report id=default -->") == 1
    assert "### ❌ fan-out: failed" in markdown
    assert "Partial report" not in markdown


def test_a_missing_shard_makes_the_merged_report_an_error(
    mlci: Invoker, project: GitRepo, tmp_path: Path
) -> None:
    mlci("check", "--only", "datasets:train", "-o", tmp_path / "a.json", cwd=project.path)
    mlci("check", "--only", "gates", "-o", tmp_path / "b.json", cwd=project.path)
    done = mlci("report", "merge", tmp_path / "a.json", tmp_path / "b.json", "--format", "json")
    assert done.exit_code == 2
    merged = json.loads(done.stdout)
    # gates read the model diff, which runs for them but stays the `model` part's to report
    assert merged["partial"]["parts"] == ["datasets:train", "gates"]
    missing = [p["message"] for p in merged["problems"] if p["check"] == "merge"]
    assert missing == [
        "no report holds the parts 'train', 'datasets:test', 'diff', 'model', 'history', 'dvc', 'log': "
        "their job did not run or did not upload its report"
    ]


def test_reports_that_disagree_are_exit_2_naming_the_files(
    mlci: Invoker, project: GitRepo, tmp_path: Path
) -> None:
    a, b, c = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json"
    mlci("check", "--only", "datasets:train", "-o", a, cwd=project.path)
    mlci("check", "--only", "datasets:train", "-o", b, cwd=project.path)
    done = mlci("report", "merge", a, b)
    assert done.exit_code == 2
    assert done.stderr.strip() == (
        f"mlci: error: {a} and {b} both hold the part 'datasets:train': a shard given twice "
        "(give each shard's report once)"
    )

    project.write("NOTES.md", "another commit\n")
    project.commit("notes")
    mlci("check", "--only", "datasets:test", "-o", c, cwd=project.path)
    done = mlci("report", "merge", a, c)
    assert done.exit_code == 2
    assert f"{a} and {c} are not reports of one check: their head_sha differ" in done.stderr

    old = json.loads(c.read_text())
    c.write_text(json.dumps({**old, "schema_version": 1}))
    done = mlci("report", "merge", a, c)
    assert done.exit_code == 2
    assert done.stderr.startswith(f"mlci: error: {c}: report schema_version 1 (mlci ")

    c.write_text("{not json")
    done = mlci("report", "merge", a, c)
    assert done.exit_code == 2
    assert done.stderr.startswith(f"mlci: error: {c}:1:2: not a JSON report:")
    c.write_text('{"schema_version": 2, "title": "x", "gates": [{"metric": 1}]}')
    done = mlci("report", "merge", c)
    assert done.exit_code == 2
    assert done.stderr.startswith(f"mlci: error: {c}: not an mlci report: ")
    done = mlci("report", "merge", tmp_path / "missing.json")
    assert done.exit_code == 2
    assert "Traceback" not in done.stderr


def test_merge_posts_one_sticky_comment_and_writes_the_job_summary(
    mlci: Invoker,
    project: GitRepo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fake_github import FakeGitHub

    shards = tmp_path / "shards"
    mlci("check", "--only", "datasets:train", "-o", shards / "a.json", cwd=project.path)
    mlci("check", "--skip", "datasets:train", "-o", shards / "b.json", cwd=project.path)
    summary, outputs = tmp_path / "summary.md", tmp_path / "outputs"
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 3, "head": {"sha": "a" * 40}}}))
    with FakeGitHub(token="t0ken") as github:
        github.add_pull("acme/models", 3, head_sha="a" * 40)
        for key, value in {
            "GITHUB_ACTIONS": "true",
            "GITHUB_REPOSITORY": "acme/models",
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_API_URL": github.url,
            "GITHUB_TOKEN": "t0ken",
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_OUTPUT": str(outputs),
        }.items():
            monkeypatch.setenv(key, value)
        for _ in range(2):  # the second run updates the comment
            done = mlci("report", "merge", shards, "--comment", cwd=project.path)
            assert done.exit_code == 1, done.stderr
        comments = github.comments("acme/models", 3)
    assert len(comments) == 1
    assert comments[0]["body"].startswith("<!-- mlci:report id=default -->\n### ❌ fan-out: failed")
    assert summary.read_text().count("fan-out: failed") == 2  # one per run
    assert "exit-code=1" in outputs.read_text() or "exit-code" in outputs.read_text()


def test_a_sharded_job_writes_no_summary(
    mlci: Invoker, project: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    done = mlci("check", "--only", "datasets:test", "--no-summary", cwd=project.path)
    assert done.exit_code == 1  # the invalid row: annotated by the job that merges, not here
    assert not summary.exists()
    assert "::error" not in done.stdout
    with_summary = mlci("check", "--only", "datasets:test", cwd=project.path)
    assert "::error" in with_summary.stdout
    assert summary.exists()


MONOREPO = """\
projects: [models/churn, models/ltv]
report: {title: acme models}
"""


@pytest.fixture
def monorepo(git_repo: GitRepo) -> GitRepo:
    git_repo.write("mlci.yaml", MONOREPO)
    for name, metric in (("churn", "auc: 0.8"), ("ltv", "r2: 0.5")):
        git_repo.write(f"models/{name}/mlci.yaml", "metrics: {files: [metrics.json]}\n")
        git_repo.write(f"models/{name}/metrics.json", "{" + f'"{metric.split(":")[0]}": 0.5' + "}")
    git_repo.commit("two models")
    git_repo.git("checkout", "-q", "-b", "feature")
    git_repo.write("models/churn/metrics.json", '{"auc": 0.9}')
    git_repo.commit("churn")
    return git_repo


def test_projects_changed_json_lists_the_matrix(mlci: Invoker, monorepo: GitRepo) -> None:
    done = mlci("projects", "--changed", "--json", cwd=monorepo.path)
    assert done.exit_code == 0, done.stderr
    listed = json.loads(done.stdout)
    assert listed["run"] == ["projects:models/churn"]
    assert listed["base"].startswith("merge-base(")
    assert [(p["path"], p["changed"], p["reason"]) for p in listed["projects"]] == [
        ("models/churn", True, "models/churn/metrics.json"),
        ("models/ltv", False, None),
    ]
    text = mlci("projects", "--changed", cwd=monorepo.path).stdout
    assert text.splitlines()[0] == "models/churn: changed (models/churn/metrics.json)"
    every = json.loads(mlci("projects", "--format", "json", cwd=monorepo.path).stdout)
    assert every["run"] == ["projects:models/churn", "projects:models/ltv"]


def test_changed_projects_fan_out_and_merge_into_one_report(
    mlci: Invoker, monorepo: GitRepo, tmp_path: Path
) -> None:
    parts = tmp_path / "parts"
    run = json.loads(mlci("projects", "--changed", "--json", cwd=monorepo.path).stdout)["run"]
    for index, part in enumerate(run):
        mlci("check", "--changed", "--only", part, "-o", parts / f"leg{index}.json",
             cwd=monorepo.path)  # fmt: skip
    skips = [arg for part in run for arg in ("--skip", part)]
    rest = mlci("check", "--changed", *skips, "-o", parts / "rest.json", cwd=monorepo.path)
    assert rest.exit_code == 0, rest.stderr
    assert json.loads((parts / "rest.json").read_text())["partial"]["parts"] == [
        "projects:models/ltv"
    ]
    done = mlci("report", "merge", parts, "--format", "json")
    assert done.exit_code == 0, done.stderr
    merged = json.loads(done.stdout)
    whole = json.loads(mlci("check", "--changed", "--format", "json", cwd=monorepo.path).stdout)
    assert merged == whole
    assert [(p["path"], p["status"]) for p in merged["projects"]] == [
        ("models/churn", "passed"),
        ("models/ltv", "unchanged"),
    ]


def test_report_plan_prints_the_job_matrix(mlci: Invoker, project: GitRepo) -> None:
    done = mlci("report", "plan", "datasets:train", "datasets:test", cwd=project.path)
    assert done.exit_code == 0, done.stderr
    assert json.loads(done.stdout) == {
        "jobs": [
            {"name": "datasets:train", "key": "1-datasets-train",
             "args": "--only datasets:train --no-summary", "train": False},
            {"name": "datasets:test", "key": "2-datasets-test",
             "args": "--only datasets:test --no-summary", "train": False},
            {"name": "the rest", "key": "rest",
             "args": "--skip datasets:train --skip datasets:test --no-summary", "train": True},
        ],
        "has_jobs": True,
        "unchanged": "",
    }  # fmt: skip
    done = mlci("report", "plan", "datasets", "datasets:test", cwd=project.path)
    assert done.exit_code == 2
    assert "shard 'datasets:test' repeats the part 'datasets:test' of shard 'datasets'" in (
        done.stderr
    )
    done = mlci("report", "plan", "datasets:nope", cwd=project.path)
    assert done.exit_code == 2
    assert "--only 'datasets:nope': no such part" in done.stderr


def test_report_plan_of_changed_projects_lists_the_unchanged_itself(
    mlci: Invoker, monorepo: GitRepo
) -> None:
    done = mlci("report", "plan", "changed-projects", cwd=monorepo.path)
    assert done.exit_code == 0, done.stderr
    assert json.loads(done.stdout) == {
        "jobs": [{"name": "models/churn", "key": "1-models-churn",
                  "args": "--changed --only projects:models/churn --no-summary", "train": True}],
        "has_jobs": True,
        "unchanged": "--changed --skip projects:models/churn --no-summary",
    }  # fmt: skip
    monorepo.git("checkout", "-q", "main")  # nothing changed: no job, only the listing
    planned = json.loads(mlci("report", "plan", "changed-projects", cwd=monorepo.path).stdout)
    assert planned == {"jobs": [], "has_jobs": False, "unchanged": "--changed --no-summary"}


def test_a_name_that_could_start_a_workflow_command_names_no_job(
    mlci: Invoker, git_repo: GitRepo, tmp_path: Path
) -> None:
    evil = "x\n::error::pwned ##[warning]"
    git_repo.write("mlci.yaml", json.dumps({
        "datasets": [{"name": evil, "path": "d.csv", "schema": "schema.yaml"},
                     {"name": "*bold* <b>x</b>", "path": "d.csv", "schema": "schema.yaml"}],
        "report": {"title": "t"},
    }))  # fmt: skip
    git_repo.write("schema.yaml", SCHEMA)
    git_repo.write("d.csv", "x\n1\n")
    git_repo.commit("names")
    done = mlci("report", "plan", "datasets", cwd=git_repo.path)
    assert done.exit_code == 2
    assert done.stderr.startswith("mlci: error: the part 'datasets:x\\n::error::pwned")
    assert "\n::error" not in done.stdout + done.stderr
    # The report of a part escapes the names as every report does.
    part = "datasets:*bold* <b>x</b>"
    mlci("check", "--only", part, "-o", tmp_path / "p.md", cwd=git_repo.path)
    markdown = (tmp_path / "p.md").read_text()
    partial_line = next(line for line in markdown.splitlines() if "Partial report" in line)
    assert "<b>" not in partial_line
    assert "*bold*" not in partial_line
