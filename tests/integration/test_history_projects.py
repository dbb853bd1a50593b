"""The base-branch history of a repository of several projects, against real git: a report of
`mlci check --all` records every project in one commit and one push to a local bare remote,
each under its own report id; `mlci check --all`, `mlci history` and the history baseline then
read each project's own records, from the root or from the project's directory. The MLflow
store against a real `mlflow server`: one run per project."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import GitRepo, Invoker
from mlflow_server import MlflowServer

from mlci.sources.history import parse_record

CHURN = """\
metrics: {files: [metrics.json]}
gates: [{metric: auc, min: 0.7}]
history: {}
"""
LTV = """\
metrics: {files: [scores.json]}
gates: [{metric: rmse, max: 4}]
history: {}
"""


def on_remote(remote: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=remote, capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture
def models(tmp_path: Path) -> tuple[Path, GitRepo]:
    """A bare remote and a clone of a repository of two models, churn and ltv, neither of
    which names its report: both report ids are `default`."""
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", remote], check=True)
    repo = GitRepo(tmp_path / "models")
    repo.git("remote", "add", "origin", str(remote))
    repo.write("mlci.yaml", "projects: [churn, models/ltv]\nreport: {title: acme models}\n")
    repo.write("churn/mlci.yaml", CHURN)
    repo.write("models/ltv/mlci.yaml", LTV)
    return remote, repo


def push_metrics(repo: GitRepo, auc: float, rmse: float, message: str) -> str:
    repo.write("churn/metrics.json", json.dumps({"auc": auc, "n_rows": 100}))
    repo.write("models/ltv/scores.json", json.dumps({"rmse": rmse}))
    sha = repo.commit(message)
    repo.git("push", "-q", "origin", "HEAD:main")
    return sha


def record_all(mlci: Invoker, repo: GitRepo, report: Path, *check: str) -> str:
    """What the deploy workflow does: the gates job's `mlci check --all -o report.json`,
    then the history job's `mlci history record --report report.json`."""
    checked = mlci("check", "--all", *check, "-o", report, cwd=repo.path)
    assert checked.exit_code == 0, checked.stdout + checked.stderr
    done = mlci("history", "record", "--report", report, cwd=repo.path)
    assert done.exit_code == 0, done.stderr
    return done.stdout


def test_a_report_of_two_projects_records_each_in_one_push_and_each_reads_its_own(
    models: tuple[Path, GitRepo], tmp_path: Path, mlci: Invoker
) -> None:
    remote, repo = models
    shas = []
    for step, (auc, rmse) in enumerate([(0.80, 3.0), (0.84, 2.5)]):
        shas.append(push_metrics(repo, auc, rmse, f"c{step}"))
        said = record_all(mlci, repo, tmp_path / f"report{step}.json")
        assert said == (
            f"mlci history: recorded {shas[-1][:12]} (churn, models-ltv) on "
            f"origin/mlci-history at {on_remote(remote, 'rev-parse', 'mlci-history')[:12]}\n"
        )
    again = mlci("history", "record", "--report", tmp_path / "report1.json", cwd=repo.path)
    assert again.stdout == (
        f"mlci history: {shas[1][:12]} (churn, models-ltv) was already recorded on "
        "origin/mlci-history\n"
    )

    # One commit per recorded commit, holding both projects' files under their own ids.
    files = on_remote(remote, "ls-tree", "-r", "--name-only", "mlci-history").split()
    assert files == [
        "README.md",
        *sorted(f"churn/{sha}.json" for sha in shas),
        *sorted(f"models-ltv/{sha}.json" for sha in shas),
    ]
    log = on_remote(remote, "log", "--format=%s", "mlci-history").splitlines()
    assert log == [f"mlci history: record {sha[:12]} (churn, models-ltv)" for sha in shas[::-1]]
    churn = parse_record(
        on_remote(remote, "show", f"mlci-history:churn/{shas[1]}.json").encode(), "test"
    )
    assert churn.report_id == "churn"
    assert churn.parents == (shas[0],)
    assert [(m.path, m.name, m.value, m.gated) for m in churn.metrics] == [
        ("metrics.json", "auc", 0.84, True),  # churn's gate, not ltv's
        ("metrics.json", "n_rows", 100.0, False),
    ]
    ltv = parse_record(
        on_remote(remote, "show", f"mlci-history:models-ltv/{shas[1]}.json").encode(), "test"
    )
    assert [(m.path, m.name, m.value, m.gated) for m in ltv.metrics] == [
        ("scores.json", "rmse", 2.5, True)
    ]

    # `mlci history --all` at the root; `mlci history` in a project's directory: its own.
    listed = json.loads(mlci("history", "--all", "--json", cwd=repo.path).stdout)
    assert [(p["path"], p["report_id"]) for p in listed["projects"]] == [
        ("churn", "churn"),
        ("models/ltv", "models-ltv"),
    ]
    assert [p["values"] for p in listed["projects"][0]["points"]] == [[0.80], [0.84]]
    assert [p["values"] for p in listed["projects"][1]["points"]] == [[3.0], [2.5]]
    assert mlci("history", cwd=repo.path).stdout == (
        "no commit of origin/main is recorded in origin/mlci-history (this mlci.yaml lists "
        "projects: `mlci history --all` shows each one's)\n"
    )
    text = mlci("history", "--all", cwd=repo.path).stdout
    assert "churn: Gated metrics of the last 2 recorded commits (origin/mlci-history)" in text
    assert "models/ltv: Gated metrics of the last 2 recorded commits" in text
    alone = json.loads(mlci("history", "--json", cwd=repo.path / "models" / "ltv").stdout)
    assert [p["values"] for p in alone["points"]] == [[3.0], [2.5]]

    # A pull request: `mlci check --all` shows each project's trend, and ltv, which compares
    # with the history, compares with its own record of the merge-base.
    repo.git("fetch", "-q", "origin")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("models/ltv/mlci.yaml", LTV + "baseline: {source: history}\n")
    repo.write("churn/metrics.json", json.dumps({"auc": 0.9, "n_rows": 100}))
    repo.write("models/ltv/scores.json", json.dumps({"rmse": 2.0}))
    repo.commit("feature")
    checked = mlci("check", "--all", "--format", "json", cwd=repo.path)
    assert checked.exit_code == 0, checked.stdout + checked.stderr
    reports = {p["path"]: p["report"] for p in json.loads(checked.stdout)["projects"]}
    for path, values, head in [("churn", [[0.80], [0.84]], [0.9]),
                               ("models/ltv", [[3.0], [2.5]], [2.0])]:  # fmt: skip
        trend = reports[path]["history"]
        assert [point["commit"] for point in trend["points"]] == shas
        assert [point["values"] for point in trend["points"]] == values
        assert trend["head"] == head
    assert reports["models/ltv"]["base"] == f"the record of {shas[1][:7]} (the merge-base)"
    changes = {row["name"]: row["old"] for row in reports["models/ltv"]["diff"]["metrics"]}
    assert changes == {"rmse": 2.5}


def test_projects_that_did_not_run_are_said_and_the_others_recorded(
    models: tuple[Path, GitRepo], tmp_path: Path, mlci: Invoker
) -> None:
    remote, repo = models
    push_metrics(repo, 0.80, 3.0, "both")
    repo.git("fetch", "-q", "origin")
    repo.write("churn/metrics.json", json.dumps({"auc": 0.82}))
    sha = repo.commit("churn only")
    repo.git("push", "-q", "origin", "HEAD:main")
    # On a push, --changed compares with the commit before it: only churn runs.
    said = record_all(mlci, repo, tmp_path / "report.json", "--changed", "--base", "HEAD~1")
    assert said.splitlines()[1:] == ["mlci history: not recorded: models/ltv: not run (unchanged)"]
    files = on_remote(remote, "ls-tree", "-r", "--name-only", "mlci-history").split()
    assert files == ["README.md", f"churn/{sha}.json"]


def test_two_projects_with_one_report_id_exit_2_before_anything_is_pushed(
    models: tuple[Path, GitRepo], tmp_path: Path, mlci: Invoker
) -> None:
    remote, repo = models
    repo.write("churn/mlci.yaml", CHURN + "report: {id: models}\n")
    repo.write("models/ltv/mlci.yaml", LTV + "report: {id: models}\n")
    push_metrics(repo, 0.80, 3.0, "both")
    report = tmp_path / "report.json"
    assert mlci("check", "--all", "-o", report, cwd=repo.path).exit_code == 0
    done = mlci("history", "record", "--report", report, cwd=repo.path)
    assert done.exit_code == 2
    assert done.stderr == (
        "mlci: error: projects churn and models/ltv both record under the report id 'models' "
        "(give each project its own `report.id` in its mlci.yaml (it names the project's "
        "records))\n"
    )
    assert on_remote(remote, "branch", "--list", "mlci-history") == ""


def test_a_project_report_recorded_from_elsewhere_exits_2(
    models: tuple[Path, GitRepo], tmp_path: Path, mlci: Invoker
) -> None:
    _, repo = models
    push_metrics(repo, 0.80, 3.0, "both")
    report = tmp_path / "report.json"
    assert mlci("check", "--all", "-o", report, cwd=repo.path).exit_code == 0
    done = mlci("history", "record", "--report", report, "--dry-run", cwd=repo.path / "churn")
    assert done.exit_code == 2
    assert "the report's project 'churn' has no mlci.yaml under" in done.stderr
    dry = mlci("history", "record", "--report", report, "--dry-run", cwd=repo.path)
    assert [record["report_id"] for record in json.loads(dry.stdout)] == ["churn", "models-ltv"]


def test_mlflow_store_logs_one_run_per_project(
    models: tuple[Path, GitRepo], tmp_path: Path, mlci: Invoker, mlflow_server: MlflowServer
) -> None:
    from mlflow.tracking import MlflowClient

    remote, repo = models
    experiment = f"history-{tmp_path.name}"
    tracking = f"mlflow: {{tracking_uri: '{mlflow_server.uri}', experiment: {experiment}}}\n"
    repo.write("churn/mlci.yaml", CHURN + tracking)
    repo.write("models/ltv/mlci.yaml", LTV + tracking)
    sha = push_metrics(repo, 0.80, 3.0, "both")
    said = record_all(mlci, repo, tmp_path / "report.json").splitlines()
    assert [line.split(" as MLflow run ")[0] for line in said] == [
        f"mlci history: recorded {sha[:12]} of churn (churn)",
        f"mlci history: recorded {sha[:12]} of models/ltv (models-ltv)",
    ]

    client = MlflowClient(tracking_uri=mlflow_server.uri)
    runs = client.search_runs([client.get_experiment_by_name(experiment).experiment_id])
    by_id = {run.data.tags["mlci.history.report_id"]: run for run in runs}
    assert sorted(by_id) == ["churn", "models-ltv"]
    assert by_id["churn"].data.metrics == {"auc": 0.80, "n_rows": 100.0}
    assert by_id["models-ltv"].data.metrics == {"rmse": 3.0}
    assert {run.data.tags["mlflow.source.git.commit"] for run in runs} == {sha}
    assert on_remote(remote, "branch", "--list", "mlci-history") == ""
    # A re-run of the job logs no second run of the same metrics.
    again = mlci("history", "record", "--report", tmp_path / "report.json", cwd=repo.path)
    assert [line.split(" was already recorded ")[0] for line in again.stdout.splitlines()] == [
        f"mlci history: {sha[:12]} of churn (churn)",
        f"mlci history: {sha[:12]} of models/ltv (models-ltv)",
    ]
    assert len(client.search_runs([runs[0].info.experiment_id])) == 2
    listed = json.loads(mlci("history", "--all", "--json", cwd=repo.path).stdout)
    assert [p["points"][0]["values"] for p in listed["projects"]] == [[0.80], [3.0]]


def test_a_failing_mlflow_write_leaves_no_project_recorded(
    models: tuple[Path, GitRepo], tmp_path: Path, mlci: Invoker, mlflow_server: MlflowServer
) -> None:
    """churn's run is logged, then ltv's server cannot be reached: churn's run is deleted
    again, and the error names ltv's server."""
    import socket

    from mlflow.tracking import MlflowClient

    _, repo = models
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        unreachable = f"http://127.0.0.1:{free.getsockname()[1]}"
    experiment = f"history-{tmp_path.name}"
    repo.write(
        "churn/mlci.yaml",
        CHURN + f"mlflow: {{tracking_uri: '{mlflow_server.uri}', experiment: {experiment}}}\n",
    )
    repo.write(
        "models/ltv/mlci.yaml",
        LTV + f"mlflow: {{tracking_uri: '{unreachable}', experiment: {experiment}}}\n",
    )
    push_metrics(repo, 0.80, 3.0, "both")
    report = tmp_path / "report.json"
    assert mlci("check", "--all", "-o", report, cwd=repo.path).exit_code == 0
    failed = mlci("history", "record", "--report", report, cwd=repo.path)
    assert failed.exit_code == 2, failed.stderr
    assert unreachable in failed.stderr
    assert "Traceback" not in failed.stderr
    assert failed.stdout == ""
    client = MlflowClient(tracking_uri=mlflow_server.uri)
    found = client.get_experiment_by_name(experiment)
    assert found is not None  # churn's run was logged there, then deleted
    assert client.search_runs([found.experiment_id]) == []


def test_a_single_project_in_a_subdirectory_reads_its_records(
    tmp_path: Path, mlci: Invoker
) -> None:
    """mlci.yaml below the repository's top: `git ls-tree` run there lists only that
    directory, so the records were written but never found (fixed: the data branch is read
    from the top)."""
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", remote], check=True)
    repo = GitRepo(tmp_path / "repo")
    repo.git("remote", "add", "origin", str(remote))
    repo.write("model/mlci.yaml", CHURN)
    repo.write("model/metrics.json", json.dumps({"auc": 0.8}))
    sha = repo.commit("model")
    repo.git("push", "-q", "origin", "HEAD:main")
    assert mlci("history", "record", cwd=repo.path / "model").exit_code == 0
    files = on_remote(remote, "ls-tree", "-r", "--name-only", "mlci-history").split()
    assert files == ["README.md", f"default/{sha}.json"]
    shown = json.loads(mlci("history", "--json", cwd=repo.path / "model").stdout)
    assert [point["commit"] for point in shown["points"]] == [sha]


def record_as_before_history_ids(mlci: Invoker, repo: GitRepo) -> str:
    """ltv's record of a new commit as earlier versions wrote it, under `default`: recorded
    while the root mlci.yaml (which makes ltv a project) is away."""
    sha = push_metrics(repo, 0.8, 3.0, "before the upgrade")
    root = (repo.path / "mlci.yaml").read_text()
    (repo.path / "mlci.yaml").unlink()
    assert mlci("history", "record", cwd=repo.path / "models" / "ltv").exit_code == 0
    (repo.path / "mlci.yaml").write_text(root)
    return sha


def ltv_points(mlci: Invoker, repo: GitRepo) -> list[str]:
    shown = json.loads(mlci("history", "--json", cwd=repo.path / "models" / "ltv").stdout)
    return [point["commit"] for point in shown["points"]]


def test_records_from_before_history_ids_moved_on_the_data_branch_are_found(
    models: tuple[Path, GitRepo], mlci: Invoker
) -> None:
    """docs/history.md, "Upgrading from a version without history ids", its git commands."""
    remote, repo = models
    sha = record_as_before_history_ids(mlci, repo)
    assert on_remote(remote, "ls-tree", "-r", "--name-only", "mlci-history").split() == [
        "README.md",
        f"default/{sha}.json",
    ]
    assert ltv_points(mlci, repo) == []
    repo.git("fetch", "-q", "origin", "mlci-history")
    repo.git("switch", "-q", "mlci-history")
    repo.git("mv", "default", "models-ltv")
    repo.git("commit", "-q", "-m", "history: models/ltv's records under its id")
    repo.git("push", "-q", "origin", "mlci-history")
    repo.git("switch", "-q", "-")
    assert ltv_points(mlci, repo) == [sha]


def test_records_from_before_history_ids_retagged_in_mlflow_are_found(
    models: tuple[Path, GitRepo], tmp_path: Path, mlci: Invoker, mlflow_server: MlflowServer
) -> None:
    """The same page's MLflow snippet, run as written against a real server."""
    _, repo = models
    experiment = f"history-{tmp_path.name}"  # the server is shared with other tests
    tracking = f"mlflow: {{tracking_uri: '{mlflow_server.uri}', experiment: {experiment}}}\n"
    repo.write("models/ltv/mlci.yaml", LTV + tracking)
    sha = record_as_before_history_ids(mlci, repo)
    assert ltv_points(mlci, repo) == []
    docs = (Path(__file__).resolve().parents[2] / "docs" / "history.md").read_text()
    snippet = docs.split("In MLflow, re-tag the runs")[1].split("```python\n")[1].split("```")[0]
    assert '"mlci-history"' in snippet
    snippet = snippet.replace('"mlci-history"', repr(experiment))
    subprocess.run(
        [sys.executable, "-c", snippet],
        env={**os.environ, "MLFLOW_TRACKING_URI": mlflow_server.uri},
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    assert ltv_points(mlci, repo) == [sha]


def test_a_project_whose_check_did_not_run_exits_2_naming_the_report(
    models: tuple[Path, GitRepo], tmp_path: Path, mlci: Invoker
) -> None:
    """The other projects are still recorded (nothing is lost), then exit 2: the report names
    a project that should have been recorded and was not."""
    remote, repo = models
    repo.write("models/ltv/mlci.yaml", "gates: 3\n")
    sha = push_metrics(repo, 0.80, 3.0, "ltv's mlci.yaml is broken")
    report = tmp_path / "report.json"
    checked = mlci("check", "--all", "-o", report, cwd=repo.path)
    assert checked.exit_code == 2
    not_run = (
        f"mlci: error: {report}: not recorded: models/ltv: its check did not run "
        "(models/ltv/mlci.yaml:1:8: gates: expected a list, got an integer) (fix what the check "
        "says and run `mlci check --all` again; "
    )
    dry = mlci("history", "record", "--report", report, "--dry-run", cwd=repo.path)
    assert dry.exit_code == 2
    assert [record["report_id"] for record in json.loads(dry.stdout)] == ["churn"]
    assert dry.stderr == not_run + "nothing was recorded)\n"
    done = mlci("history", "record", "--report", report, cwd=repo.path)
    assert done.exit_code == 2
    assert done.stdout.startswith(f"mlci history: recorded {sha[:12]} (churn) on ")
    assert done.stderr == not_run + "the report's other projects were recorded)\n"
    files = on_remote(remote, "ls-tree", "-r", "--name-only", "mlci-history").split()
    assert files == ["README.md", f"churn/{sha}.json"]

    # No project ran: nothing to record, the same message.
    repo.write("churn/mlci.yaml", "gates: 3\n")
    repo.commit("churn's too")
    assert mlci("check", "--all", "-o", report, cwd=repo.path).exit_code == 2
    done = mlci("history", "record", "--report", report, cwd=repo.path)
    assert done.exit_code == 2
    assert done.stdout == ""
    assert done.stderr.startswith(f"mlci: error: {report}: not recorded: churn: its check did")
    assert done.stderr.endswith("nothing was recorded)\n")


def test_a_partial_report_exits_2(
    models: tuple[Path, GitRepo], tmp_path: Path, mlci: Invoker
) -> None:
    """A report of `mlci check --only` holds some projects: recording it would leave the
    others without a record of this commit, silently."""
    remote, repo = models
    push_metrics(repo, 0.80, 3.0, "both")
    report = tmp_path / "report.json"
    assert (
        mlci("check", "--all", "--only", "projects:churn", "-o", report, cwd=repo.path).exit_code
        == 0
    )
    done = mlci("history", "record", "--report", report, cwd=repo.path)
    assert done.exit_code == 2
    assert done.stderr == (
        f"mlci: error: {report}: the report holds only some parts of the check (projects:churn: "
        "`mlci check --only/--skip`), so it would record some projects or metrics of this "
        "commit and not the others (merge the parts' reports with `mlci report merge` and "
        "record the merged one)\n"
    )
    assert on_remote(remote, "branch", "--list", "mlci-history") == ""
