"""Against a real `mlflow server`: logging runs (CLI and the `log` step of `mlci check`), finding
the baseline by base commit and by registry alias, fetching its predictions, and the exit-2
errors for a missing model, alias, run or metric."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import GitRepo, Invoker
from mlflow_server import MlflowServer

from mlci.config import load_config
from mlci.pipeline.context import CheckContext

pytestmark = pytest.mark.slow  # shares one real MLflow server (~10 s to start) per session


@pytest.fixture
def server(mlflow_server: MlflowServer, monkeypatch: pytest.MonkeyPatch) -> MlflowServer:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.uri)
    return mlflow_server


@pytest.fixture
def client(server: MlflowServer) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=server.uri)


def _unique(request: pytest.FixtureRequest, prefix: str) -> str:
    return prefix + "-" + re.sub(r"[^A-Za-z0-9]+", "-", request.node.name).strip("-")


def _log(mlci: Invoker, cwd: Path, *args: str) -> dict[str, Any]:
    result = mlci("mlflow", "log", "--format", "json", *args, cwd=cwd)
    assert result.exit_code == 0, result.stderr
    logged: dict[str, Any] = json.loads(result.stdout)
    return logged


def _changes(report: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (change["path"], change["name"], change["old"], change["new"], change["verdict"])
        for change in report["diff"]["metrics"]
    ]


def test_log_records_metrics_params_predictions_model_and_tags(
    git_repo: GitRepo, mlci: Invoker, client: Any, request: pytest.FixtureRequest
) -> None:
    experiment = _unique(request, "exp")
    git_repo.write(
        "mlci.yaml",
        f"metrics:\n  files: [metrics.json]\n  params: [params.yaml]\n"
        f"mlflow:\n  experiment: {experiment}\n  run_name: nightly\n",
    )
    git_repo.write("metrics.json", '{"accuracy": 0.9, "loss": {"val": 0.25}, "model": "rf"}')
    git_repo.write("params.yaml", "lr: 0.1\ndepth: 4\nbootstrap: true\n")
    git_repo.write("preds.csv", "id,target,prediction\n1,0,0\n2,1,1\n")
    git_repo.write("model.pkl", "not really a model")
    sha = git_repo.commit("train")

    logged = _log(mlci, git_repo.path, "--predictions", "preds.csv", "--model", "model.pkl")

    run = client.get_run(logged["run_id"])
    assert run.info.run_name == "nightly"
    assert run.info.status == "FINISHED"
    assert run.data.metrics == {"accuracy": 0.9, "loss.val": 0.25}
    assert run.data.params == {"lr": "0.1", "depth": "4", "bootstrap": "true"}
    tags = {key: value for key, value in run.data.tags.items() if not key.startswith("mlflow.")}
    assert tags == {
        "mlci.version": __import__("mlci").__version__,
        "mlci.predictions": "predictions/preds.csv",
    }
    assert run.data.tags["mlflow.source.git.commit"] == sha
    assert run.data.tags["mlflow.source.git.branch"] == "main"
    assert sorted(item.path for item in client.list_artifacts(run.info.run_id)) == [
        "model",
        "predictions",
    ]
    assert [item.path for item in client.list_artifacts(run.info.run_id, "predictions")] == [
        "predictions/preds.csv"
    ]
    experiment_id = client.get_experiment_by_name(experiment).experiment_id
    assert logged == {
        "run_id": run.info.run_id,
        "experiment_id": experiment_id,
        "experiment": experiment,
        "tracking_uri": client.tracking_uri,
        "metrics": {"accuracy": 0.9, "loss.val": 0.25},
        "params": {"lr": "0.1", "depth": "4", "bootstrap": "true"},
        "tags": {
            "mlci.version": __import__("mlci").__version__,
            "mlflow.source.git.commit": sha,
            "mlflow.source.git.branch": "main",
            "mlci.predictions": "predictions/preds.csv",
        },
        "artifacts": ["predictions/preds.csv", "model/model.pkl"],
    }


def test_log_in_a_pull_request_tags_the_head_commit_and_pr(
    git_repo: GitRepo,
    mlci: Invoker,
    client: Any,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    experiment = _unique(request, "exp")
    git_repo.write("metrics.json", '{"accuracy": 0.9}')
    git_repo.commit("train")
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps({"number": 31, "pull_request": {"number": 31, "head": {"sha": "a" * 40}}})
    )
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    monkeypatch.setenv("GITHUB_SHA", "e" * 40)  # GitHub's merge commit: not what is tagged
    monkeypatch.setenv("GITHUB_HEAD_REF", "better-model")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/churn")
    logged = _log(mlci, git_repo.path, "--metrics", "metrics.json", "--experiment", experiment)
    tags = client.get_run(logged["run_id"]).data.tags
    assert tags["mlflow.source.git.commit"] == "a" * 40
    assert tags["mlflow.source.git.branch"] == "better-model"
    assert tags["mlci.pull_request"] == "31"
    assert tags["mlci.github.merge_commit"] == "e" * 40
    assert tags["mlflow.source.git.repoURL"] == "https://github.com/acme/churn"


def _two_branch_repo(git_repo: GitRepo, config: str, base: str, head: str) -> tuple[str, str]:
    git_repo.write("mlci.yaml", config)
    git_repo.write("metrics.json", base)
    git_repo.write("preds.csv", "id,target,prediction\n1,0,0\n2,1,0\n")
    base_sha = git_repo.commit("base")
    git_repo.git("checkout", "-q", "-b", "feature")
    git_repo.write("metrics.json", head)
    head_sha = git_repo.commit("head")
    return base_sha, head_sha


def test_check_finds_the_baseline_run_of_the_base_commit_and_logs_the_head(
    git_repo: GitRepo, mlci: Invoker, client: Any, request: pytest.FixtureRequest
) -> None:
    experiment = _unique(request, "exp")
    config = (
        "metrics:\n  files: [metrics.json]\n"
        f"baseline:\n  source: mlflow\n  mlflow: {{experiment: {experiment}}}\n"
        f"mlflow:\n  experiment: {experiment}\n  log: true\n"
    )
    base_sha, head_sha = _two_branch_repo(
        git_repo, config, '{"accuracy": 0.9, "loss": 0.3}', '{"accuracy": 0.85, "loss": 0.3}'
    )
    # The run of the base commit, as a push to main would have logged it.
    git_repo.git("checkout", "-q", "main")
    base_run = _log(mlci, git_repo.path)
    git_repo.git("checkout", "-q", "feature")

    result = mlci("check", "--format", "json", cwd=git_repo.path)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    label = f"mlflow run {base_run['run_id'][:12]} (commit {base_sha[:12]})"
    assert report["diff"]["base"] == label
    assert _changes(report) == [
        ("metrics.json", "accuracy", 0.9, 0.85, "regressed"),
        ("metrics.json", "loss", 0.3, 0.3, "unchanged"),
    ]
    # The `log` step recorded the head as a new run, tagged with the head commit.
    logged = report["mlflow_run"]
    assert logged["experiment"] == experiment
    head_run = client.get_run(logged["run_id"])
    assert head_run.data.metrics == {"accuracy": 0.85, "loss": 0.3}
    assert head_run.data.tags["mlflow.source.git.commit"] == head_sha
    assert head_run.data.tags["mlflow.source.git.branch"] == "feature"


def test_baseline_from_a_registry_alias_with_its_predictions(
    git_repo: GitRepo,
    mlci: Invoker,
    client: Any,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    experiment = _unique(request, "exp")
    model = _unique(request, "model")
    config = (
        "metrics:\n  files: [metrics.json]\n"
        f"baseline:\n  source: mlflow\n  mlflow: {{model: 'models:/{model}@champion'}}\n"
        f"mlflow:\n  experiment: {experiment}\n"
    )
    _two_branch_repo(git_repo, config, '{"accuracy": 0.95}', '{"accuracy": 0.97}')
    git_repo.git("checkout", "-q", "main")
    champion = _log(mlci, git_repo.path, "--predictions", "preds.csv")
    git_repo.git("checkout", "-q", "feature")
    git_repo.write("preds.csv", "id,target,prediction\n1,0,0\n2,1,1\n")
    promoted = mlci("promote", "--model", model, "--run", champion["run_id"], cwd=git_repo.path)
    assert promoted.exit_code == 0, promoted.stderr

    result = mlci("diff", "--json", cwd=git_repo.path)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {
        "metrics.json": {"accuracy": {"old": 0.95, "new": 0.97, "diff": pytest.approx(0.02)}}
    }
    loaded = load_config(git_repo.path / "mlci.yaml")
    context = CheckContext(config=loaded)
    assert context.base_metrics().label == f"models:/{model}@champion (version 1)"
    fetched = context.baseline.predictions("preds.csv")
    assert (fetched.path.name, fetched.label) == ("preds.csv", "predictions of the MLflow baseline")
    assert fetched.frame.to_dict("list") == {"id": [1, 2], "target": [0, 1], "prediction": [0, 0]}
    # It all happened on the server, none of it in a local store.
    assert client.get_model_version_by_alias(model, "champion").run_id == champion["run_id"]
    assert not (git_repo.path / "mlflow.db").exists()


def _check_problem(mlci: Invoker, repo: GitRepo) -> str:
    result = mlci("check", "--format", "json", cwd=repo.path)
    assert result.exit_code == 2, result.stdout + result.stderr
    report = json.loads(result.stdout)
    messages = [problem["message"] for problem in report["problems"] if problem["check"] == "diff"]
    assert len(messages) == 1, report["problems"]
    assert f"mlci: error: {messages[0]}\n" in result.stderr
    return messages[0]


def test_missing_model_alias_run_and_metric_are_input_errors(
    git_repo: GitRepo,
    mlci: Invoker,
    server: MlflowServer,
    request: pytest.FixtureRequest,
) -> None:
    experiment = _unique(request, "exp")
    model = _unique(request, "model")
    uri = server.uri

    def configure(baseline: str, gates: str = "") -> None:
        git_repo.write(
            "mlci.yaml",
            "metrics:\n  files: [metrics.json]\n"
            f"baseline:\n  source: mlflow\n  mlflow: {baseline}\n"
            f"mlflow:\n  experiment: {experiment}\n" + gates,
        )

    _two_branch_repo(git_repo, "{}", '{"accuracy": 0.9}', '{"accuracy": 0.91, "f1": 0.5}')
    configure(f"{{experiment: {experiment}}}")
    assert _check_problem(mlci, git_repo) == (
        f"MLflow experiment {experiment!r} not found at {uri} (log a run on the base branch "
        "first, or set baseline.mlflow.experiment)"
    )
    git_repo.git("checkout", "-q", "main")
    logged = _log(mlci, git_repo.path, "--metrics", "metrics.json")
    git_repo.git("checkout", "-q", "feature")
    configure(f"{{experiment: {experiment}, filter: \"params.lr = '9'\"}}")
    assert _check_problem(mlci, git_repo) == (
        f"no MLflow run in experiment {experiment!r} matches \"params.lr = '9'\" at {uri}"
    )

    configure(f"{{model: 'models:/{model}@champion'}}")
    assert _check_problem(mlci, git_repo) == f"registered model {model!r} not found at {uri}"
    promoted = mlci(
        "promote",
        "--model",
        model,
        "--run",
        logged["run_id"],
        "--alias",
        "staging",
        cwd=git_repo.path,
    )
    assert promoted.exit_code == 0, promoted.stderr
    assert _check_problem(mlci, git_repo) == (
        f"registered model {model!r} has no alias 'champion' at {uri} (set it with "
        f"`mlci promote --model {model} --alias champion --run RUN_ID`)"
    )
    configure(f"{{model: 'models:/{model}/7'}}")
    assert _check_problem(mlci, git_repo) == f"registered model {model!r} has no version 7 at {uri}"
    configure("{run: 0123456789abcdef0123456789abcdef}")
    assert _check_problem(mlci, git_repo) == (
        f"MLflow run '0123456789abcdef0123456789abcdef' not found at {uri}"
    )
    configure(
        f"{{model: 'models:/{model}@staging'}}",
        "gates:\n  - metric: f1\n    max_drop: 0.01\n",
    )
    assert _check_problem(mlci, git_repo) == (
        f"models:/{model}@staging (version 1) has no metric 'f1', which a gate compares against "
        "(it has: accuracy) (log the metric in the baseline run, or choose another baseline)"
    )
    configure("{model: 'churn@@x'}")
    assert _check_problem(mlci, git_repo) == (
        "baseline.mlflow.model 'churn@@x' is not a model URI (write models:/NAME@ALIAS (like "
        "models:/churn@champion) or models:/NAME/VERSION)"
    )


def test_no_run_for_the_base_commit(
    git_repo: GitRepo, mlci: Invoker, server: MlflowServer, request: pytest.FixtureRequest
) -> None:
    experiment = _unique(request, "exp")
    config = (
        "metrics:\n  files: [metrics.json]\n"
        f"baseline:\n  source: mlflow\n  mlflow: {{experiment: {experiment}}}\n"
    )
    base_sha, _ = _two_branch_repo(git_repo, config, '{"accuracy": 0.9}', '{"accuracy": 0.8}')
    # A run exists in the experiment, but for the head commit, not the base.
    _log(mlci, git_repo.path, "--experiment", experiment)
    assert _check_problem(mlci, git_repo) == (
        f"no MLflow run for the base commit {base_sha[:12]} in experiment {experiment!r} at "
        f"{server.uri} (log one on the base branch (`mlci evaluate --mlflow`, or "
        "`mlflow: {log: true}` with `mlci check`), or compare with a model: "
        "baseline.mlflow.model)"
    )


def test_evaluate_logs_to_mlflow(
    git_repo: GitRepo, mlci: Invoker, client: Any, request: pytest.FixtureRequest
) -> None:
    import joblib
    from sklearn.linear_model import LogisticRegression

    experiment = _unique(request, "exp")
    git_repo.write("mlci.yaml", f"mlflow:\n  experiment: {experiment}\n")
    rows = [(0.0, 0), (1.0, 0), (2.0, 1), (3.0, 1)]
    git_repo.write("data.csv", "x,y\n" + "".join(f"{x},{y}\n" for x, y in rows))
    model = LogisticRegression(C=2.0).fit([[x] for x, _ in rows], [y for _, y in rows])
    joblib.dump(model, git_repo.path / "model.joblib")
    sha = git_repo.commit("model")

    result = mlci(
        "evaluate",
        "--model",
        "model.joblib",
        "--data",
        "data.csv",
        "--target",
        "y",
        "--predictions",
        "preds.csv",
        "--mlflow",
        cwd=git_repo.path,
    )
    assert result.exit_code == 0, result.stderr
    last = result.stdout.splitlines()[-1]
    match = re.fullmatch(rf"logged MLflow run (\w+) to experiment '{experiment}' at (.+)", last)
    assert match is not None, result.stdout
    run = client.get_run(match[1])
    assert run.data.metrics["accuracy"] == 1.0
    assert run.data.params["estimator"] == "LogisticRegression"
    assert run.data.params["C"] == "2.0"
    assert run.data.params["task"] == "classification"
    assert run.data.tags["mlflow.source.git.commit"] == sha
    assert sorted(item.path for item in client.list_artifacts(run.info.run_id)) == [
        "model",
        "predictions",
    ]
