"""The base-branch history against real git: records pushed to a data branch of a local bare
remote (two and three racing pushes included), read back by `mlci history` in another clone
that has to fetch the branch, and `baseline: {source: history}` finding the merge-base's record
or its nearest recorded ancestor. The MLflow store against a real `mlflow server`."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

import pytest
from conftest import GitRepo, Invoker
from mlflow_server import MlflowServer

from mlci.sources.git import Git
from mlci.sources.history import DataBranch, HistoryRecord, RecordedMetric, parse_record

CONFIG = """\
metrics: {files: [metrics.json]}
gates:
  - {metric: accuracy, min: 0.5}
  - {metric: loss, max: 1.0}
history: {}
"""


def bare_remote(tmp_path: Path) -> Path:
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", remote], check=True)
    return remote


def clone(remote: Path, path: Path, *args: str) -> GitRepo:
    subprocess.run(["git", "clone", "-q", *args, str(remote), str(path)], check=True)
    repo = GitRepo.__new__(GitRepo)
    repo.path = path
    return repo


def push_commit(repo: GitRepo, metrics: dict[str, float], message: str) -> str:
    repo.write("metrics.json", json.dumps(metrics))
    sha = repo.commit(message)
    repo.git("push", "-q", "origin", "HEAD:main")
    return sha


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, GitRepo]:
    """A bare remote and a clone whose main has mlci.yaml."""
    remote = bare_remote(tmp_path)
    repo = GitRepo(tmp_path / "work")
    repo.git("remote", "add", "origin", str(remote))
    repo.write("mlci.yaml", CONFIG)
    return remote, repo


def test_records_then_reads_them_from_a_fresh_clone(
    project: tuple[Path, GitRepo], tmp_path: Path, mlci: Invoker
) -> None:
    remote, repo = project
    shas = []
    for step, (accuracy, loss) in enumerate([(0.80, 0.30), (0.85, 0.25), (0.83, 0.27)]):
        shas.append(push_commit(repo, {"accuracy": accuracy, "loss": loss, "note": 1}, f"c{step}"))
        done = mlci("history", "record", cwd=repo.path)
        assert done.exit_code == 0, done.stderr
        assert done.stdout.startswith(f"mlci history: recorded {shas[-1][:12]} on origin/")
    again = mlci("history", "record", cwd=repo.path)
    assert again.stdout.strip() == (
        f"mlci history: {shas[-1][:12]} was already recorded on origin/mlci-history"
    )

    # The data branch: a README and one file per commit, no history shared with main.
    files = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", "mlci-history"],
        cwd=remote, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert files == ["README.md", *sorted(f"default/{sha}.json" for sha in shas)]
    blob = subprocess.run(
        ["git", "show", f"mlci-history:default/{shas[1]}.json"],
        cwd=remote, capture_output=True, check=True,
    ).stdout  # fmt: skip
    record = parse_record(blob, "test")
    assert record.commit == shas[1]
    assert record.parents == (shas[0],)
    assert [(m.name, m.value, m.direction, m.gated) for m in record.metrics] == [
        ("accuracy", 0.85, "higher", True),
        ("loss", 0.25, "lower", True),
        ("note", 1.0, None, False),
    ]

    # A clone of main only, as actions/checkout makes one: `mlci history` fetches the branch.
    other = clone(remote, tmp_path / "other", "--single-branch", "--branch", "main")
    assert "mlci-history" not in other.git("branch", "-a")
    shown = mlci("history", "--json", "-n", "2", cwd=other.path)
    assert shown.exit_code == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert [point["commit"] for point in data["points"]] == shas[1:]
    assert [point["values"] for point in data["points"]] == [[0.85, 0.25], [0.83, 0.27]]
    assert [metric["name"] for metric in data["metrics"]] == ["accuracy", "loss"]
    text = mlci("history", cwd=other.path).stdout
    assert text.splitlines()[0] == (
        "Gated metrics of the last 3 recorded commits (origin/mlci-history)"
    )
    assert shas[2][:12] in text.splitlines()[3]  # newest first
    markdown = mlci("history", "--md", cwd=other.path).stdout
    assert "| Commit | Recorded | accuracy | loss |" in markdown


def _writer(path: Path, sha: str, results: list[object], barrier: threading.Barrier) -> None:
    """Records `sha`; the first clone records two projects of it (`a`, `b`) in one push."""
    branch = DataBranch(Git(path), sleep=lambda seconds: None)
    ids = ["a", "b"] if path.name == "clone0" else ["default"]
    records = [
        HistoryRecord(
            commit=sha,
            parents=(),
            recorded_at="2026-11-30T21:00:00Z",
            report_id=report_id,
            metrics=(RecordedMetric("metrics.json", "accuracy", 0.9, "higher", True),),
        )
        for report_id in ids
    ]
    barrier.wait()
    try:
        results.append(branch.write_all(records))
    except Exception as error:  # the test reports it
        results.append(error)


def test_racing_pushes_all_land(tmp_path: Path) -> None:
    """Three clones record three commits at once, the first for two projects in one push. The
    remote holds each push a moment before it updates the branch (a pre-receive hook), so the
    pushes meet: one wins, the others are refused, fetch the new tip, add their files to it
    and push again. Nothing is lost, nothing is forced."""
    remote = bare_remote(tmp_path)
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\ncat >/dev/null\nsleep 1\n")
    hook.chmod(0o755)
    seed = GitRepo(tmp_path / "seed")
    seed.git("remote", "add", "origin", str(remote))
    seed.write("mlci.yaml", CONFIG)
    seed.commit("seed")
    seed.git("push", "-q", "origin", "HEAD:main")
    clones = [clone(remote, tmp_path / f"clone{index}") for index in range(3)]
    shas = [f"{index:x}" * 40 for index in (10, 11, 12)]
    results: list[object] = []
    barrier = threading.Barrier(len(clones))
    threads = [
        threading.Thread(target=_writer, args=(repo.path, sha, results, barrier))
        for repo, sha in zip(clones, shas, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert all(not isinstance(result, Exception) for result in results), results
    attempts = sorted(result.attempts for result in results)  # type: ignore[attr-defined]
    assert attempts[0] == 1
    assert attempts[-1] >= 2, "the pushes did not meet"
    files = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", "mlci-history"],
        cwd=remote, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert files == [
        "README.md",
        f"a/{shas[0]}.json",
        f"b/{shas[0]}.json",
        *sorted(f"default/{sha}.json" for sha in shas[1:]),
    ]
    log = subprocess.run(
        ["git", "log", "--format=%s", "mlci-history"],
        cwd=remote, capture_output=True, text=True, check=True,
    ).stdout.split("\n")  # fmt: skip
    assert len([line for line in log if line]) == 3  # one commit per record, none overwritten


def test_history_baseline_names_the_recorded_ancestor(
    project: tuple[Path, GitRepo], mlci: Invoker
) -> None:
    _, repo = project
    recorded = push_commit(repo, {"accuracy": 0.90, "loss": 0.20}, "recorded")
    assert mlci("history", "record", cwd=repo.path).exit_code == 0
    push_commit(repo, {"accuracy": 0.91, "loss": 0.19}, "not recorded")
    # The metrics file is not committed on the branch the PR starts from: only the record has it.
    repo.git("rm", "-q", "--cached", "metrics.json")
    repo.write(".gitignore", "metrics.json\n")
    repo.commit("stop committing metrics")
    repo.git("push", "-q", "origin", "HEAD:main")
    repo.git("fetch", "-q", "origin")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("mlci.yaml", CONFIG + "baseline: {source: history}\n")
    repo.commit("use the history baseline")
    repo.write("metrics.json", json.dumps({"accuracy": 0.70, "loss": 0.40}))

    done = mlci("check", "--format", "json", cwd=repo.path)
    report = json.loads(done.stdout)
    label = f"the record of {recorded[:7]}, 2 commits before the merge-base"
    assert report["base"] == label
    assert report["diff"]["base"] == label
    changes = {row["name"]: (row["old"], row["new"]) for row in report["diff"]["metrics"]}
    assert changes == {"accuracy": (0.90, 0.70), "loss": (0.20, 0.40)}
    baseline = {gate["metric"]: gate["baseline"] for gate in report["gates"]}
    assert baseline == {"accuracy": 0.90, "loss": 0.20}
    trend = report["history"]
    assert [point["commit"] for point in trend["points"]] == [recorded]
    assert trend["head"] == [0.70, 0.40]
    text = mlci("check", cwd=repo.path).stdout
    assert f"compared with: {label}" in text


def test_history_baseline_without_any_record_exits_2(
    project: tuple[Path, GitRepo], mlci: Invoker
) -> None:
    _, repo = project
    push_commit(repo, {"accuracy": 0.90, "loss": 0.20}, "main")
    repo.git("fetch", "-q", "origin")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("mlci.yaml", CONFIG + "baseline: {source: history}\n")
    repo.write("metrics.json", json.dumps({"accuracy": 0.70, "loss": 0.40}))

    done = mlci("check", cwd=repo.path)
    assert done.exit_code == 2
    assert "no history record of the merge-base" in done.stdout + done.stderr
    assert "mlci history record" in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_a_malformed_record_exits_2_naming_it(
    project: tuple[Path, GitRepo], tmp_path: Path, mlci: Invoker
) -> None:
    remote, repo = project
    sha = push_commit(repo, {"accuracy": 0.9, "loss": 0.2}, "main")
    # Someone pushes a hand-made file in the record's place.
    hand = GitRepo(tmp_path / "hand")
    hand.write(f"default/{sha}.json", '{"schema_version": 1, "commit": "x"}')
    hand.commit("by hand")
    hand.git("push", "-q", str(remote), "HEAD:refs/heads/mlci-history")

    done = mlci("history", cwd=repo.path)
    assert done.exit_code == 2
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert lines == [
        f"mlci: error: history record mlci-history:default/{sha}.json: commit is not a full "
        "commit sha (it was not written by `mlci history record`: delete it from the data branch)"
    ]
    assert "Traceback" not in done.stderr


def test_record_without_metrics_and_bad_report_exit_2(
    project: tuple[Path, GitRepo], tmp_path: Path, mlci: Invoker
) -> None:
    _, repo = project
    repo.commit("no metrics yet")
    done = mlci("history", "record", cwd=repo.path)
    assert done.exit_code == 2
    assert "no numeric metric to record" in done.stderr
    bad = tmp_path / "report.json"
    bad.write_text("{not json")
    done = mlci("history", "record", "--report", bad, cwd=repo.path)
    assert done.exit_code == 2
    assert "not a JSON report of mlci check" in done.stderr
    assert "Traceback" not in done.stderr


def test_mlflow_store_records_runs_tagged_with_the_commit(
    project: tuple[Path, GitRepo], mlci: Invoker, mlflow_server: MlflowServer, tmp_path: Path
) -> None:
    from mlflow.tracking import MlflowClient

    remote, repo = project
    experiment = f"history-{tmp_path.name}"
    repo.write(
        "mlci.yaml",
        CONFIG + f"mlflow: {{tracking_uri: '{mlflow_server.uri}', experiment: {experiment}}}\n",
    )
    first = push_commit(repo, {"accuracy": 0.80, "loss": 0.30}, "first")
    assert mlci("history", "record", cwd=repo.path).exit_code == 0
    second = push_commit(repo, {"accuracy": 0.86, "loss": 0.22}, "second")
    done = mlci("history", "record", cwd=repo.path)
    assert done.exit_code == 0, done.stderr
    assert "as MLflow run" in done.stdout

    client = MlflowClient(tracking_uri=mlflow_server.uri)
    runs = client.search_runs(
        [client.get_experiment_by_name(experiment).experiment_id],
        order_by=["attributes.start_time DESC"],
    )
    assert [run.data.tags["mlflow.source.git.commit"] for run in runs] == [second, first]
    assert runs[0].data.metrics == {"accuracy": 0.86, "loss": 0.22}
    assert runs[0].data.tags["mlci.history.parents"] == first
    # Nothing went to a data branch.
    branches = subprocess.run(
        ["git", "branch", "--list", "mlci-history"], cwd=remote, capture_output=True, text=True
    ).stdout
    assert branches == ""

    shown = json.loads(mlci("history", "--json", cwd=repo.path).stdout)
    assert [point["commit"] for point in shown["points"]] == [first, second]
    assert shown["points"][1]["values"] == [0.86, 0.22]
    assert shown["source"].startswith(f"MLflow experiment '{experiment}'")

    repo.git("fetch", "-q", "origin")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write(
        "mlci.yaml", repo.path.joinpath("mlci.yaml").read_text() + "baseline:\n  source: history\n"
    )
    repo.write("metrics.json", json.dumps({"accuracy": 0.70, "loss": 0.40}))
    report = json.loads(mlci("check", "--format", "json", cwd=repo.path).stdout)
    assert report["base"] == f"the record of {second[:7]} (the merge-base)"
    assert [point["commit"] for point in report["history"]["points"]] == [first, second]


def test_a_history_that_cannot_be_read_is_a_note_not_a_failure(
    project: tuple[Path, GitRepo], tmp_path: Path, mlci: Invoker
) -> None:
    """The trend only informs: with the remote gone, `mlci check` still passes and says why
    there is no trend."""
    _, repo = project
    push_commit(repo, {"accuracy": 0.9, "loss": 0.2}, "main")
    repo.git("fetch", "-q", "origin")
    repo.git("remote", "set-url", "origin", str(tmp_path / "gone.git"))
    repo.write("metrics.json", json.dumps({"accuracy": 0.91, "loss": 0.2}))
    done = mlci("check", "--format", "json", cwd=repo.path)
    assert done.exit_code == 0, done.stderr
    note = json.loads(done.stdout)["history"]["note"]
    assert note.startswith(
        "the base-branch history could not be read: cannot fetch the history branch "
        "'mlci-history' from 'origin'"
    )


def test_fetch_refreshes_a_stale_copy(
    project: tuple[Path, GitRepo], tmp_path: Path, mlci: Invoker, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote, repo = project
    first = push_commit(repo, {"accuracy": 0.8, "loss": 0.3}, "first")
    assert mlci("history", "record", cwd=repo.path).exit_code == 0
    reader = clone(remote, tmp_path / "reader")
    assert len(json.loads(mlci("history", "--json", cwd=reader.path).stdout)["points"]) == 1
    second = push_commit(repo, {"accuracy": 0.9, "loss": 0.2}, "second")
    assert mlci("history", "record", cwd=repo.path).exit_code == 0
    reader.git("pull", "-q", "origin", "main")
    stale = json.loads(mlci("history", "--json", cwd=reader.path).stdout)
    assert [point["commit"] for point in stale["points"]] == [first]
    fresh = json.loads(mlci("history", "--json", "--fetch", cwd=reader.path).stdout)
    assert [point["commit"] for point in fresh["points"]] == [first, second]
    # In a workflow the branch is always fetched first: the checkout's copy may be older.
    third = push_commit(repo, {"accuracy": 0.95, "loss": 0.1}, "third")
    assert mlci("history", "record", cwd=repo.path).exit_code == 0
    reader.git("pull", "-q", "origin", "main")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    shown = json.loads(mlci("history", "--json", cwd=reader.path).stdout)
    assert [point["commit"] for point in shown["points"]] == [first, second, third]


def test_failed_fetches_and_pushes_say_why_in_one_line(
    project: tuple[Path, GitRepo], tmp_path: Path, mlci: Invoker
) -> None:
    """Real failing remotes: git's last line ("and the repository exists.", "error: failed to
    push some refs") says nothing; the line that explains is reported."""
    remote, repo = project
    push_commit(repo, {"accuracy": 0.9, "loss": 0.2}, "main")

    # A remote whose path does not exist.
    missing = tmp_path / "missing.git"
    repo.git("remote", "set-url", "origin", str(missing))
    done = mlci("history", "record", cwd=repo.path)
    assert done.exit_code == 2
    assert done.stderr == (
        "mlci: error: cannot fetch the history branch 'mlci-history' from 'origin': "
        f"'{missing}' does not appear to be a git repository (check that the remote 'origin' "
        "exists and can be read (`history.remote` in mlci.yaml))\n"
    )
    # A remote name that is not configured: the same line, naming it.
    repo.write("mlci.yaml", CONFIG.replace("history: {}", "history: {remote: upstream}"))
    done = mlci("history", "--fetch", cwd=repo.path)
    assert done.exit_code == 2
    assert "from 'upstream': 'upstream' does not appear to be a git repository" in done.stderr
    repo.write("mlci.yaml", CONFIG)

    # A remote without the branch is no error: no history yet, and the first record makes it.
    repo.git("remote", "set-url", "origin", str(remote))
    shown = mlci("history", "--fetch", cwd=repo.path)
    assert shown.exit_code == 0, shown.stderr
    assert shown.stdout == "no commit of origin/main is recorded in origin/mlci-history\n"

    # A remote whose pre-receive hook refuses the push (as a protected branch on GitHub).
    hook = remote / "hooks" / "pre-receive"
    hook.write_text(
        "#!/bin/sh\ncat >/dev/null\n"
        "echo 'error: GH006: Protected branch update failed for refs/heads/mlci-history.' >&2\n"
        "exit 1\n"
    )
    hook.chmod(0o755)
    done = mlci("history", "record", cwd=repo.path)
    assert done.exit_code == 2
    assert done.stderr == (
        "mlci: error: the remote 'origin' refused the history branch 'mlci-history': "
        "error: GH006: Protected branch update failed for refs/heads/mlci-history. "
        "(pre-receive hook declined) (the remote's rules refused it: let the workflow push "
        "'mlci-history' (leave it unprotected, or allow the GitHub Actions app to push to "
        "it); see docs/history.md)\n"
    )
    # A hook that says nothing: git's reason.
    hook.write_text("#!/bin/sh\ncat >/dev/null\nexit 1\n")
    done = mlci("history", "record", cwd=repo.path)
    assert "refused the history branch 'mlci-history': pre-receive hook declined (" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_report_of_another_commit_is_refused(
    project: tuple[Path, GitRepo], tmp_path: Path, mlci: Invoker
) -> None:
    """A report.json left from an earlier commit would record that commit's metrics as this
    one's: refused, unless --commit names the report's own commit."""
    remote, repo = project
    first = push_commit(repo, {"accuracy": 0.8, "loss": 0.3}, "first")
    report = tmp_path / "report.json"
    assert mlci("check", "-o", report, cwd=repo.path).exit_code == 0
    second = push_commit(repo, {"accuracy": 0.9, "loss": 0.2}, "second")
    done = mlci("history", "record", "--report", report, cwd=repo.path)
    assert done.exit_code == 2
    assert done.stderr == (
        f"mlci: error: {report} is the report of commit {first[:12]}, not of {second[:12]} "
        f"(HEAD) (record it as its own commit with --commit {first[:12]}, or run `mlci check "
        "-o` again at this commit)\n"
    )
    done = mlci("history", "record", "--report", report, "--commit", first[:12], cwd=repo.path)
    assert done.exit_code == 0, done.stderr
    files = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", "mlci-history"],
        cwd=remote, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert files == ["README.md", f"default/{first}.json"]
