"""`mlci promote` against a real `mlflow server`: register from a run, move the alias, record the
previous holder, refuse on a failing gate unless forced, roll back, and say clearly what is
missing."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import GitRepo, Invoker
from mlflow_server import MlflowServer

from mlci.integrations.mlflow import Run, open_tracking
from mlci.integrations.promote import promote
from mlci.report.model import GateResult

pytestmark = pytest.mark.slow  # shares one real MLflow server (~10 s to start) per session


@pytest.fixture
def server(mlflow_server: MlflowServer, monkeypatch: pytest.MonkeyPatch) -> MlflowServer:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.uri)
    return mlflow_server


@pytest.fixture
def client(server: MlflowServer) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=server.uri)


@pytest.fixture
def names(request: pytest.FixtureRequest) -> tuple[str, str]:
    """(experiment, registered model) unique to the test: the server is shared."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", request.node.name).strip("-")
    return f"exp-{slug}", f"model-{slug}"


def _log_run(mlci: Invoker, repo: GitRepo, experiment: str, accuracy: float) -> str:
    repo.write("metrics.json", json.dumps({"accuracy": accuracy}))
    repo.write("model.pkl", f"model with accuracy {accuracy}")
    result = mlci(
        "mlflow",
        "log",
        "--metrics",
        "metrics.json",
        "--model",
        "model.pkl",
        "--experiment",
        experiment,
        "--format",
        "json",
        cwd=repo.path,
    )
    assert result.exit_code == 0, result.stderr
    run_id: str = json.loads(result.stdout)["run_id"]
    return run_id


def _promote(mlci: Invoker, repo: GitRepo, *args: str) -> tuple[int, dict[str, Any]]:
    result = mlci("promote", *args, "--format", "json", cwd=repo.path)
    assert result.exit_code in (0, 1), result.stderr
    return result.exit_code, json.loads(result.stdout)


def test_promote_registers_moves_the_alias_and_rolls_back(
    git_repo: GitRepo,
    mlci: Invoker,
    client: Any,
    server: MlflowServer,
    names: tuple[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    experiment, model = names
    first = _log_run(mlci, git_repo, experiment, 0.90)
    second = _log_run(mlci, git_repo, experiment, 0.93)
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))

    code, done = _promote(mlci, git_repo, "--model", model, "--run", first, "--alias", "champion")
    assert (code, done) == (
        0,
        {
            "exit_code": 0,
            "model": model,
            "alias": "champion",
            "action": "promoted",
            "version": "1",
            "previous": None,
            "run_id": first,
            "registered": True,
            "forced": False,
            "tracking_uri": server.uri,
            "gates": [],
        },
    )
    version = client.get_model_version_by_alias(model, "champion")
    assert (version.version, version.run_id) == ("1", first)
    assert version.source.endswith(f"/{first}/artifacts/model")

    code, done = _promote(mlci, git_repo, "--model", model, "--run", second)
    assert (code, done["action"], done["version"], done["previous"]) == (0, "promoted", "2", "1")
    assert client.get_model_version_by_alias(model, "champion").version == "2"
    assert client.get_registered_model(model).tags == {
        "mlci.alias.champion.previous": "1",
        "mlci.alias.champion.history": '["1"]',
    }
    assert client.get_model_version(model, "2").tags == {"mlci.champion.previous": "1"}

    # Promoting the holder again changes nothing and registers nothing.
    code, done = _promote(mlci, git_repo, "--model", model, "--run", second)
    assert (code, done["action"], done["version"], done["registered"]) == (
        0,
        "unchanged",
        "2",
        False,
    )
    assert len(client.search_model_versions(f"name = '{model}'")) == 2

    result = mlci(
        "promote", "--rollback", "--model", model, "--alias", "champion", cwd=git_repo.path
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"ROLLED BACK: {model}@champion → version 1 (was version 2)\n"
    assert client.get_model_version_by_alias(model, "champion").version == "1"
    assert client.get_registered_model(model).tags == {}
    assert client.get_model_version(model, "2").tags == {
        "mlci.champion.previous": "1",
        "mlci.champion.rolled_back": "true",
    }

    result = mlci("promote", "--rollback", "--model", model, cwd=git_repo.path)
    assert (result.exit_code, result.stderr) == (
        2,
        f"mlci: error: no earlier holder of {model}@champion is recorded at {server.uri} "
        "(mlci records one when `mlci promote` moves the alias; to pick a version yourself, "
        "run `mlci promote --version N`)\n",
    )

    # An existing version is promoted as it is.
    code, done = _promote(mlci, git_repo, "--model", model, "--version", "2")
    assert (code, done["action"], done["version"], done["previous"], done["registered"]) == (
        0,
        "promoted",
        "2",
        "1",
        False,
    )
    # Each promotion was appended to the job summary (user text escaped for markdown).
    target = f"{model}@champion"  # no zero-width space: it starts no mention
    table = "| Model | Alias | Version | Previous holder | Run | Action |\n" + "| :--- " * 6 + "|\n"
    assert summary.read_text() == (
        f"### mlci promote: PROMOTED: {target} → version 1 (was nobody); registered from run "
        f"{first}\n\n{table}| {model} | champion | 1 | - | {first} | promoted |\n\n"
        f"### mlci promote: PROMOTED: {target} → version 2 (was version 1); registered from run "
        f"{second}\n\n{table}| {model} | champion | 2 | 1 | {second} | promoted |\n\n"
        f"### mlci promote: UNCHANGED: {target} already points at version 2\n\n"
        f"{table}| {model} | champion | 2 | 2 | {second} | unchanged |\n\n"
        f"### mlci promote: ROLLED BACK: {target} → version 1 (was version 2)\n\n"
        f"{table}| {model} | champion | 1 | 2 | {first} | rolled back |\n\n"
        f"### mlci promote: PROMOTED: {target} → version 2 (was version 1)\n\n"
        f"{table}| {model} | champion | 2 | 1 | {second} | promoted |\n\n"
    )


def test_promote_and_rollback_say_what_is_missing(
    git_repo: GitRepo, mlci: Invoker, server: MlflowServer, names: tuple[str, str]
) -> None:
    experiment, model = names
    uri = server.uri

    def error(*args: str) -> str:
        result = mlci("promote", *args, cwd=git_repo.path)
        assert result.exit_code == 2, result.stdout + result.stderr
        return result.stderr

    assert error("--model", model, "--version", "1") == (
        f"mlci: error: registered model {model!r} not found at {uri}\n"
    )
    assert error("--rollback", "--model", model) == (
        f"mlci: error: registered model {model!r} not found at {uri}\n"
    )
    missing_run = "0123456789abcdef0123456789abcdef"
    assert error("--model", model, "--run", missing_run) == (
        f"mlci: error: MLflow run {missing_run!r} not found at {uri}\n"
    )
    run = _log_run(mlci, git_repo, experiment, 0.8)
    assert mlci("promote", "--model", model, "--run", run, "--alias", "staging").exit_code == 0
    assert error("--model", model, "--version", "5") == (
        f"mlci: error: registered model {model!r} has no version 5 at {uri}\n"
    )
    assert error("--rollback", "--model", model, "--alias", "champion") == (
        f"mlci: error: registered model {model!r} has no alias 'champion' at {uri}\n"
    )


def _accuracy_gate(max_drop: float) -> Any:
    """A gate check as the core takes one: accuracy may drop by at most `max_drop`."""

    def check(candidate: Run, holder: Run | None) -> list[GateResult]:
        new = candidate.metrics["accuracy"]
        if holder is None:
            return [GateResult("accuracy", "max_drop", "skipped", "no baseline", observed=new)]
        old = holder.metrics["accuracy"]
        ok = old - new <= max_drop
        return [
            GateResult(
                "accuracy",
                "max_drop",
                "passed" if ok else "failed",
                f"dropped by {old - new:.2f}",
                observed=new,
                baseline=old,
                limit=max_drop,
            )
        ]

    return check


def test_promotion_is_refused_when_a_gate_fails_unless_forced(
    git_repo: GitRepo, mlci: Invoker, client: Any, server: MlflowServer, names: tuple[str, str]
) -> None:
    experiment, model = names
    good = _log_run(mlci, git_repo, experiment, 0.90)
    worse = _log_run(mlci, git_repo, experiment, 0.80)
    gate = _accuracy_gate(0.05)
    with open_tracking(server.uri) as tracking:
        first = promote(tracking, model=model, alias="champion", run_id=good, gate_check=gate)
        assert (first.action, first.version, first.gates[0].status) == ("promoted", "1", "skipped")

        refused = promote(tracking, model=model, alias="champion", run_id=worse, gate_check=gate)
        assert (refused.action, refused.version, refused.previous, refused.exit_code) == (
            "refused",
            None,
            "1",
            1,
        )
        assert [(g.status, g.observed, g.baseline) for g in refused.gates] == [("failed", 0.8, 0.9)]
        # Nothing moved and nothing was registered for the refused run.
        assert client.get_model_version_by_alias(model, "champion").version == "1"
        assert len(client.search_model_versions(f"name = '{model}'")) == 1

        forced = promote(
            tracking, model=model, alias="champion", run_id=worse, gate_check=gate, force=True
        )
        assert (forced.action, forced.version, forced.forced, forced.exit_code) == (
            "promoted",
            "2",
            True,
            0,
        )
    assert client.get_model_version(model, "2").tags == {
        "mlci.champion.previous": "1",
        "mlci.forced": "true",
    }
    assert client.get_model_version_by_alias(model, "champion").version == "2"

    from mlci.report.promotion import render_promotion_text

    assert render_promotion_text(refused).splitlines()[0] == (
        f"REFUSED: {model}@champion stays at version 1; 1 gate failed (--force overrides)"
    )


def test_promote_registers_the_logged_model_of_an_mlflow3_run(
    git_repo: GitRepo, mlci: Invoker, client: Any, names: tuple[str, str]
) -> None:
    experiment, model = names
    run_id = _log_run(mlci, git_repo, experiment, 0.9)
    experiment_id = client.get_experiment_by_name(experiment).experiment_id
    logged = client.create_logged_model(experiment_id, name="clf", source_run_id=run_id)
    code, done = _promote(mlci, git_repo, "--model", model, "--run", run_id)
    assert (code, done["version"], done["registered"]) == (0, "1", True)
    version = client.get_model_version(model, "1")
    assert (version.run_id, version.source) == (run_id, f"models:/{logged.model_id}")


def test_cli_promotion_evaluates_the_gates_of_mlci_yaml(
    git_repo: GitRepo, mlci: Invoker, client: Any, names: tuple[str, str]
) -> None:
    experiment, model = names
    git_repo.write(
        "mlci.yaml",
        "metrics:\n  files: [metrics.json]\n"
        "gates:\n  - {metric: accuracy, min: 0.7}\n  - {metric: accuracy, max_drop: 0.05}\n",
    )
    good = _log_run(mlci, git_repo, experiment, 0.90)
    worse = _log_run(mlci, git_repo, experiment, 0.80)

    code, done = _promote(mlci, git_repo, "--model", model, "--run", good)
    assert code == 0
    assert [(g["rule"], g["status"], g["reason"]) for g in done["gates"]] == [
        ("min", "passed", "0.9 >= min 0.7"),
        ("max_drop", "skipped", f"skipped: no version holds {model}@champion yet"),
    ]

    result = mlci("promote", "--model", model, "--run", worse, cwd=git_repo.path)
    assert result.exit_code == 1, result.stderr
    assert result.stdout == (
        f"REFUSED: {model}@champion stays at version 1; 1 gate failed (--force overrides)\n"
        "\n"
        "Gates\n"
        "Metric    Rule      Observed  Baseline  Limit  Verdict  Why\n"
        "--------  --------  --------  --------  -----  -------  "
        "--------------------------------------------\n"
        "accuracy  min            0.8       0.9    0.7  pass     0.8 >= min 0.7\n"
        "accuracy  max_drop       0.8       0.9   0.85  FAIL     "
        "dropped 0.1 from the baseline, max_drop 0.05\n"
    )
    assert client.get_model_version_by_alias(model, "champion").version == "1"
    assert len(client.search_model_versions(f"name = '{model}'")) == 1

    code, done = _promote(mlci, git_repo, "--model", model, "--run", worse, "--force")
    assert (code, done["action"], done["version"], done["forced"]) == (0, "promoted", "2", True)
    assert client.get_model_version(model, "2").tags["mlci.forced"] == "true"
