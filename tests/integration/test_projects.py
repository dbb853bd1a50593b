"""Several models in one repository: `mlci check --all` runs every project into one report with
a section each and the worst exit code; `--changed` runs only the projects something changed
under against the base (every one when a shared path changed)."""

from __future__ import annotations

import json

import pytest
from conftest import GitRepo, Invoker

from mlci.pipeline.projects import affected, glob_pattern

ROOT_CONFIG = """\
projects: [models/churn, models/ltv]
shared_paths: [libs/**, requirements.txt]
report: {title: acme models}
"""


@pytest.fixture
def monorepo(git_repo: GitRepo) -> GitRepo:
    git_repo.write("mlci.yaml", ROOT_CONFIG)
    git_repo.write("requirements.txt", "scikit-learn\n")
    git_repo.write("libs/features.py", "SCALE = 1\n")
    git_repo.write("models/churn/mlci.yaml", "metrics: {files: [metrics.json]}\n"
                   "gates: [{metric: auc, min: 0.7}]\n")  # fmt: skip
    git_repo.write("models/churn/metrics.json", '{"auc": 0.80}')
    git_repo.write("models/ltv/mlci.yaml", "metrics: {files: [metrics.json]}\n"
                   "gates: [{metric: rmse, max: 4}]\n")  # fmt: skip
    git_repo.write("models/ltv/metrics.json", '{"rmse": 3.0}')
    git_repo.commit("two models")
    git_repo.git("checkout", "-q", "-b", "feature")
    return git_repo


def statuses(report: dict[str, object]) -> list[tuple[str, str]]:
    return [(p["path"], p["status"]) for p in report["projects"]]  # type: ignore[attr-defined,index]


def test_all_runs_every_project_with_the_worst_exit_code(mlci: Invoker, monorepo: GitRepo) -> None:
    monorepo.write("models/ltv/metrics.json", '{"rmse": 5.0}')  # over its gate
    done = mlci("check", "--all", "--format", "json", cwd=monorepo.path)
    assert done.exit_code == 1
    report = json.loads(done.stdout)
    assert statuses(report) == [("models/churn", "passed"), ("models/ltv", "failed")]
    assert report["status"] == "failed"
    assert report["counts"]["gates"] == {"passed": 1, "failed": 1, "warned": 0, "skipped": 0}
    [ltv] = [p["report"] for p in report["projects"] if p["path"] == "models/ltv"]
    assert [(g["metric"], g["status"]) for g in ltv["gates"]] == [("rmse", "failed")]

    markdown = mlci("check", "--all", "--format", "markdown", cwd=monorepo.path).stdout
    assert markdown.startswith("<!-- mlci:report id=default -->\n### ❌ acme models: failed")
    assert markdown.count("<!-- mlci:report") == 1  # one comment, one marker
    assert "| models/churn | passed | 1/1 |  |" in markdown
    assert "| models/ltv | failed | 0/1 |  |" in markdown
    assert "#### ✅ models/churn: passed" in markdown
    assert "#### ❌ models/ltv: failed" in markdown
    assert "##### Gates" in markdown


def test_changed_runs_only_the_changed_project(mlci: Invoker, monorepo: GitRepo) -> None:
    monorepo.write("models/churn/metrics.json", '{"auc": 0.85}')
    monorepo.commit("churn: better")
    done = mlci("check", "--changed", "--format", "json", cwd=monorepo.path)
    assert done.exit_code == 0, done.stderr
    report = json.loads(done.stdout)
    assert statuses(report) == [("models/churn", "passed"), ("models/ltv", "unchanged")]
    [ltv] = [p for p in report["projects"] if p["path"] == "models/ltv"]
    assert ltv["report"] is None
    assert ltv["reason"].startswith("not run: nothing under it changed against merge-base(")
    text = mlci("check", "--changed", cwd=monorepo.path).stdout
    assert text.splitlines()[0] == "acme models: PASSED: projects 1 passed, 1 unchanged"


def test_a_shared_path_runs_every_project(mlci: Invoker, monorepo: GitRepo) -> None:
    monorepo.write("libs/features.py", "SCALE = 2\n")  # uncommitted counts too
    report = json.loads(mlci("check", "--changed", "--format", "json", cwd=monorepo.path).stdout)
    assert statuses(report) == [("models/churn", "passed"), ("models/ltv", "passed")]


def test_projects_are_found_when_not_listed(mlci: Invoker, monorepo: GitRepo) -> None:
    monorepo.write("mlci.yaml", "report: {title: acme models}\n")
    monorepo.write("models/fraud/mlci.yaml", "metrics: {files: [metrics.json]}\n")
    monorepo.write("models/fraud/metrics.json", '{"recall": 0.5}')
    report = json.loads(mlci("check", "--all", "--format", "json", cwd=monorepo.path).stdout)
    assert [p["path"] for p in report["projects"]] == [
        "models/churn",
        "models/fraud",
        "models/ltv",
    ]


def test_a_listed_project_without_config_is_one_line_exit_2(
    mlci: Invoker, monorepo: GitRepo
) -> None:
    monorepo.write("mlci.yaml", "projects: [models/churn, models/gone]\n")
    done = mlci("check", "--all", cwd=monorepo.path)
    assert done.exit_code == 2
    assert done.stderr == (
        "mlci: error: mlci.yaml: projects[1] 'models/gone' has no mlci.yaml "
        "(each project is a directory with its own mlci.yaml)\n"
    )


def test_a_broken_project_is_an_error_and_the_others_still_run(
    mlci: Invoker, monorepo: GitRepo
) -> None:
    monorepo.write("models/ltv/mlci.yaml", "gates: [{metric: rmse}]\n")  # a gate without a rule
    done = mlci("check", "--all", "--format", "json", cwd=monorepo.path)
    assert done.exit_code == 2
    report = json.loads(done.stdout)
    assert statuses(report) == [("models/churn", "passed"), ("models/ltv", "error")]
    assert "has no rule" in report["projects"][1]["reason"]


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("libs/**", "libs/a/b.py", True),
        ("libs", "libs/a.py", True),
        ("src/**/*.py", "src/x.py", True),
        ("src/**/*.py", "src/a/b/x.py", True),
        ("src/*.py", "src/a/x.py", False),
        ("requirements.txt", "requirements.txt", True),
        ("requirements.txt", "models/requirements.txt", False),
    ],
)
def test_shared_path_globs(pattern: str, path: str, matches: bool) -> None:
    assert bool(glob_pattern(pattern).fullmatch(path)) is matches


def test_affected_names_the_file() -> None:
    changed = {"README.md", "models/ltv/train.py"}
    assert affected("models/ltv", changed, []) == "models/ltv/train.py"
    assert affected("models/churn", changed, []) is None
    assert affected("models/churn", changed, ["*.md"]) == "README.md"
    assert affected("models/lt", changed, []) is None  # a prefix of a name is not a parent
