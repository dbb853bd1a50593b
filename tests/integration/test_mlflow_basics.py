"""MLflow pieces that need no server: tracking URI resolution, provenance, metric-name mapping,
the default SQLite store in the repository, and failing fast on an unreachable server."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from conftest import GitRepo, Invoker

from mlci.config import default_config
from mlci.config_file import ConfigFile
from mlci.integrations.mlflow import (
    display_uri,
    experiment_for,
    metric_keys,
    metrics_to_log,
    params_to_log,
    resolve_tracking_uri,
    run_metric_set,
    run_tags,
)
from mlci.integrations.provenance import Provenance, detect_provenance
from mlci.sources.git import Git
from mlci.sources.metrics import MetricSet


def test_tracking_uri_precedence(tmp_path: Path) -> None:
    env = {"MLFLOW_TRACKING_URI": "http://tracking.example:5000"}
    assert resolve_tracking_uri("http://configured:5000", env, tmp_path) == "http://configured:5000"
    assert resolve_tracking_uri(None, env, tmp_path) == "http://tracking.example:5000"
    assert resolve_tracking_uri(None, {}, tmp_path) == f"sqlite:///{tmp_path}/mlflow.db"
    # A relative SQLite path in mlci.yaml is relative to the config file, not the cwd.
    base = tmp_path / "project"
    assert resolve_tracking_uri("sqlite:///runs.db", {}, tmp_path, base=base) == (
        f"sqlite:///{base}/runs.db"
    )
    assert resolve_tracking_uri("sqlite:////abs/runs.db", {}, tmp_path, base=base) == (
        "sqlite:////abs/runs.db"
    )


def test_display_uri_hides_credentials() -> None:
    assert display_uri("https://user:s3cret@mlflow.example/api") == "https://mlflow.example/api"
    assert display_uri("https://token@mlflow.example:8443") == "https://mlflow.example:8443"
    assert display_uri("http://127.0.0.1:5000") == "http://127.0.0.1:5000"


def test_experiment_defaults(tmp_path: Path) -> None:
    config = ConfigFile(config=default_config().config, path=tmp_path / "churn" / "mlci.yaml")
    assert experiment_for(config, {}, None) == "churn"
    assert experiment_for(config, {"GITHUB_REPOSITORY": "acme/churn-model"}, None) == "churn-model"
    assert experiment_for(config, {"MLFLOW_EXPERIMENT_NAME": "exp"}, None) == "exp"


def test_metric_names_round_trip_through_mlflow_keys() -> None:
    head = MetricSet(
        label="workspace",
        data={
            "metrics.json": {"acc": 0.9, "loss": {"train": 0.2}, "model": "rf", "ok": True},
            "eval/scores.json": {"acc": 0.8, "f1 [macro]": 0.7},
        },
    )
    assert metric_keys(head) == {
        ("eval/scores.json", "acc"): "eval/scores.json/acc",
        ("eval/scores.json", "f1 [macro]"): "f1 _macro_",
        ("metrics.json", "acc"): "metrics.json/acc",
        ("metrics.json", "loss.train"): "loss.train",
        ("metrics.json", "model"): "model",
        ("metrics.json", "ok"): "ok",
    }
    # MLflow has numeric metrics only: strings and booleans are left out.
    logged = metrics_to_log(head)
    assert logged == {
        "eval/scores.json/acc": 0.8,
        "f1 _macro_": 0.7,
        "metrics.json/acc": 0.9,
        "loss.train": 0.2,
    }
    back = run_metric_set(logged, ["metrics.json", "eval/scores.json"], "run")
    assert back.data == {
        "eval/scores.json": {"acc": 0.8},
        "metrics.json": {"acc": 0.9},
        "mlflow": {"f1 _macro_": 0.7, "loss.train": 0.2},
    }
    single = run_metric_set({"acc": 0.9}, ["metrics.json"], "run")
    assert single.data == {"metrics.json": {"acc": 0.9}}


def test_params_keep_their_type_through_mlflow_strings() -> None:
    params = MetricSet(
        label="workspace",
        data={
            "params.yaml": {"lr": 0.1, "epochs": 10, "shuffle": True, "model": "rf", "none": None}
        },
    )
    logged = params_to_log(params)
    assert logged == {
        "lr": "0.1",
        "epochs": "10",
        "shuffle": "true",
        "model": "rf",
        "none": "null",
    }
    back = run_metric_set(logged, ["params.yaml"], "run", params=True)
    assert back.data == {
        "params.yaml": {"lr": 0.1, "epochs": 10, "shuffle": True, "model": "rf", "none": "null"}
    }


def _event(tmp_path: Path, payload: dict[str, object]) -> str:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload))
    return str(path)


def test_provenance_in_a_pull_request_is_the_head_not_the_merge_commit(tmp_path: Path) -> None:
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_SHA": "f" * 40,
        "GITHUB_HEAD_REF": "feature/better-model",
        "GITHUB_REPOSITORY": "acme/churn",
        "GITHUB_RUN_ID": "42",
        "GITHUB_EVENT_PATH": _event(
            tmp_path,
            {"number": 7, "pull_request": {"number": 7, "head": {"sha": "a" * 40, "ref": "x"}}},
        ),
    }
    found = detect_provenance(env, None)
    assert found == Provenance(
        commit="a" * 40,
        branch="feature/better-model",
        pull_request=7,
        merge_commit="f" * 40,
        repository_url="https://github.com/acme/churn",
        run_url="https://github.com/acme/churn/actions/runs/42",
    )
    assert run_tags(found, predictions="predictions/preds.csv") == {
        "mlci.version": __import__("mlci").__version__,
        "mlflow.source.git.commit": "a" * 40,
        "mlflow.source.git.branch": "feature/better-model",
        "mlci.pull_request": "7",
        "mlci.github.merge_commit": "f" * 40,
        "mlflow.source.git.repoURL": "https://github.com/acme/churn",
        "mlci.github.run_url": "https://github.com/acme/churn/actions/runs/42",
        "mlci.predictions": "predictions/preds.csv",
    }


def test_provenance_on_push_and_workflow_run(tmp_path: Path) -> None:
    push = {
        "GITHUB_SHA": "b" * 40,
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_REF_NAME": "main",
        "GITHUB_EVENT_PATH": _event(tmp_path, {"ref": "refs/heads/main"}),
    }
    assert detect_provenance(push, None) == Provenance(commit="b" * 40, branch="main")
    workflow_run = {
        "GITHUB_SHA": "c" * 40,
        "GITHUB_EVENT_PATH": _event(
            tmp_path,
            {
                "workflow_run": {
                    "head_sha": "d" * 40,
                    "head_branch": "fork-branch",
                    "pull_requests": [{"number": 12}],
                }
            },
        ),
    }
    assert detect_provenance(workflow_run, None) == Provenance(
        commit="d" * 40, branch="fork-branch", pull_request=12
    )


def test_provenance_locally_comes_from_git(git_repo: GitRepo) -> None:
    sha = git_repo.commit("first")
    git_repo.git("checkout", "-q", "-b", "topic")
    assert detect_provenance({}, Git(git_repo.path)) == Provenance(commit=sha, branch="topic")
    git_repo.git("checkout", "-q", "--detach")
    assert detect_provenance({}, Git(git_repo.path)) == Provenance(commit=sha, branch=None)


def test_unreadable_event_payload_is_an_input_error(tmp_path: Path) -> None:
    from mlci.errors import InputFileError

    bad = tmp_path / "event.json"
    bad.write_text("{not json")
    with pytest.raises(InputFileError) as raised:
        detect_provenance({"GITHUB_EVENT_PATH": str(bad)}, None)
    assert str(raised.value) == (
        f"{bad}:1:2: GitHub event payload is not valid JSON: "
        "Expecting property name enclosed in double quotes"
    )


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_unreachable_server_fails_fast_naming_the_uri(tmp_path: Path, mlci: Invoker) -> None:
    uri = f"http://127.0.0.1:{_closed_port()}"
    hint = (
        "(start it, or set MLFLOW_TRACKING_URI (or mlflow.tracking_uri in mlci.yaml) to a "
        "running server)"
    )
    result = mlci(
        "promote", "--model", "churn", "--run", "abc", "--tracking-uri", uri, cwd=tmp_path
    )
    assert result.exit_code == 2
    assert (
        result.stderr == f"mlci: error: cannot reach the MLflow tracking server at {uri} {hint}\n"
    )
    (tmp_path / "metrics.json").write_text('{"acc": 0.9}')
    result = mlci("mlflow", "log", "--metrics", "metrics.json", "--tracking-uri", uri, cwd=tmp_path)
    assert result.exit_code == 2
    assert (
        result.stderr == f"mlci: error: cannot reach the MLflow tracking server at {uri} {hint}\n"
    )


def test_promote_usage_errors(tmp_path: Path, mlci: Invoker) -> None:
    result = mlci("promote", "--run", "abc", cwd=tmp_path)
    assert (result.exit_code, result.stderr) == (
        2,
        "mlci: error: no model given (pass --model NAME, or set mlflow.registered_model in "
        "mlci.yaml)\n",
    )
    result = mlci("promote", "--model", "m", cwd=tmp_path)
    assert (result.exit_code, result.stderr) == (
        2,
        "mlci: error: pass exactly one of --run RUN_ID or --version N (or --rollback)\n",
    )
    result = mlci("promote", "--model", "m", "--rollback", "--version", "2", cwd=tmp_path)
    assert (result.exit_code, result.stderr) == (
        2,
        "mlci: error: --rollback takes no --run, --version or --force\n",
    )


@pytest.mark.slow  # creating the SQLite schema takes MLflow ~4 s
def test_default_store_is_sqlite_in_the_repository_root(git_repo: GitRepo, mlci: Invoker) -> None:
    """No URI anywhere: the run lands in `mlflow.db` at the repository root, not in ./mlruns."""
    git_repo.write("mlci.yaml", "metrics:\n  files: [eval/metrics.json]\n")
    git_repo.write("eval/metrics.json", '{"accuracy": 0.91, "loss": 0.3}')
    sha = git_repo.commit("model")
    result = mlci("mlflow", "log", "--format", "json", cwd=git_repo.path / "eval")
    assert result.exit_code == 0, result.stderr
    logged = json.loads(result.stdout)
    assert logged["tracking_uri"] == f"sqlite:///{git_repo.path}/mlflow.db"
    assert logged["experiment"] == "repo"
    assert logged["metrics"] == {"accuracy": 0.91, "loss": 0.3}
    assert logged["tags"]["mlflow.source.git.commit"] == sha
    assert logged["tags"]["mlflow.source.git.branch"] == "main"
    assert (git_repo.path / "mlflow.db").is_file()
    assert not (git_repo.path / "mlruns").exists()
    assert not (git_repo.path / "eval" / "mlruns").exists()

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=logged["tracking_uri"])
    run = client.get_run(logged["run_id"])
    assert run.data.metrics == {"accuracy": 0.91, "loss": 0.3}
    assert run.info.status == "FINISHED"


def test_missing_mlflow_client_names_the_extra(
    tmp_path: Path, mlci: Invoker, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "mlflow.tracking", None)
    result = mlci("promote", "--model", "m", "--run", "r", cwd=tmp_path)
    assert (result.exit_code, result.stderr) == (
        2,
        "mlci: error: MLflow tracking needs the MLflow client, which is not installed "
        "(install it with: pip install 'mlci[mlflow]')\n",
    )
