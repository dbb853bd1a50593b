"""action.yml and its scripts: the contract (inputs, outputs, docs) and the scripts' behaviour,
run with bash as the runner runs them (the full action runs under act in test_workflows_act.py)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from conftest import GitRepo

ROOT = Path(__file__).resolve().parents[2]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
SCRIPTS = ROOT / "action"
# Every `uses:` of a third-party action: owner/name@<40 hex> # vX.Y.Z
PINNED_USE = re.compile(r"uses: ([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # (v\d+\.\d+\.\d+)$")


def _docs_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "action_reference", ROOT / "docs" / "action_reference.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_inputs_and_outputs_are_the_documented_contract() -> None:
    assert list(ACTION["inputs"]) == [
        *("command", "args", "config", "working-directory", "extras", "python"),
        *("github-token", "comment", "fail-on-gate", "report-id", "cache", "html-report"),
        *("installer", "requirements"),
    ]
    assert list(ACTION["outputs"]) == [
        *("passed", "exit-code", "report-path", "comment-url", "comment-artifact"),
        *("summary", "mlflow-run-id", "python", "html-report"),
        *("train-skipped", "inputs-hash", "train-declared"),
    ]
    assert ACTION["inputs"]["github-token"]["default"] == "${{ github.token }}"
    for name, spec in {**ACTION["inputs"], **ACTION["outputs"]}.items():
        assert spec.get("description"), f"{name} has no description"


def test_docs_tables_match_action_yml() -> None:
    doc = (ROOT / "docs" / "github-action.md").read_text()
    assert _docs_module().render(doc) == doc, "run `python docs/action_reference.py`"


def test_run_steps_take_inputs_only_through_env_and_call_a_script() -> None:
    steps = ACTION["runs"]["steps"]
    assert ACTION["runs"]["using"] == "composite"
    scripts = []
    for step in steps:
        if "run" not in step:
            continue
        assert "${{" not in step["run"], step["name"]
        match = re.fullmatch(r'bash "\$GITHUB_ACTION_PATH/action/([a-z]+\.sh)"', step["run"])
        assert match, f"{step['name']}: a run step only calls a script in action/"
        scripts.append(match[1])
    assert scripts == [
        "setup.sh",
        "install.sh",
        "extras.sh",
        "plan.sh",
        "requirements.sh",
        "run.sh",
    ]
    for script in SCRIPTS.glob("*.sh"):
        assert "${{" not in script.read_text(), script.name


def test_every_third_party_action_is_pinned_by_sha_with_its_version() -> None:
    files = [
        ROOT / "action.yml",
        *(ROOT / ".github" / "workflows").glob("*.yml"),
        *(ROOT / "workflow-templates").glob("*.yml"),
    ]
    pins: dict[str, set[tuple[str, str]]] = {}
    for file in files:
        for line in file.read_text().splitlines():
            if "uses:" not in line or line.lstrip().startswith("#"):
                continue
            use = line.split("uses:", 1)[1].strip()
            if use.startswith(("mlci/mlci@", "mlci/mlci/.github/workflows/")):
                continue  # this repository, referenced by release tag
            match = PINNED_USE.search(line)
            assert match, f"{file.name}: not pinned by commit SHA with a version comment: {use}"
            pins.setdefault(match[1], set()).add((match[2], match[3]))
    assert pins.keys() == {
        "actions/cache",
        "actions/cache/restore",
        "actions/cache/save",
        "actions/checkout",
        "actions/download-artifact",
        "actions/setup-java",
        "actions/setup-python",
        "actions/upload-artifact",
    }
    for action, versions in pins.items():
        assert len(versions) == 1, f"{action} is pinned to several commits: {versions}"


# --- the scripts, run with bash ----------------------------------------------------------------


def run_script(
    name: str, env: dict[str, str], cwd: Path, tmp_path: Path
) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    output = tmp_path / "github_output"
    output.write_text("")
    full = {
        **os.environ,
        "GITHUB_OUTPUT": str(output),
        "RUNNER_TEMP": str(tmp_path / "runner-temp"),
        "GITHUB_ACTION_PATH": str(ROOT),
        **env,
    }
    done = subprocess.run(
        ["bash", str(SCRIPTS / name)], cwd=cwd, env=full, capture_output=True, text=True
    )
    return done, parse_outputs(output.read_text())


def parse_outputs(text: str) -> dict[str, str]:
    """$GITHUB_OUTPUT as the runner reads it (`name<<DELIMITER` blocks); the last one wins."""
    outputs: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line:
            name, delimiter = line.split("<<", 1)
            value: list[str] = []
            for item in lines:
                if item == delimiter:
                    break
                value.append(item)
            outputs[name] = "\n".join(value)
        elif "=" in line:
            name, value_text = line.split("=", 1)
            outputs[name] = value_text
    return outputs


def test_setup_reads_the_version_and_normalises_extras(tmp_path: Path) -> None:
    done, outputs = run_script(
        "setup.sh",
        {"MLCI_INPUT_PYTHON": sys.executable, "MLCI_INPUT_EXTRAS": " sklearn, mlflow,"},
        tmp_path,
        tmp_path,
    )
    from mlci import __version__

    assert done.returncode == 0, done.stderr
    assert outputs["python"] == sys.executable
    assert outputs["version"] == __version__
    assert outputs["extras"] == "sklearn,mlflow"
    assert outputs["extras-key"] == "sklearn,mlflow"
    assert outputs["python-version"] == "{}.{}".format(*sys.version_info[:2])


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"MLCI_INPUT_EXTRAS": "sklearn]; rm -rf ~"},
            "::error title=mlci::extras must be a comma-separated list such as sklearn,mlflow "
            "(got: sklearn]; rm -rf ~)",
        ),
        (
            {"MLCI_INPUT_PYTHON": "/no/such/python"},
            "::error title=mlci::python input: /no/such/python is not an executable interpreter",
        ),
    ],
)
def test_setup_refuses_bad_inputs(tmp_path: Path, env: dict[str, str], message: str) -> None:
    done, _ = run_script(
        "setup.sh", {"MLCI_INPUT_PYTHON": sys.executable, **env}, tmp_path, tmp_path
    )
    assert done.returncode == 2
    assert done.stdout.strip() == message


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"MLCI_COMMAND": "check; id"},
            "command must be one mlci command such as check or promote (got: check; id)",
        ),
        (
            {"MLCI_REPORT_ID": "../x"},
            "report-id may hold only letters, digits, '.', '_' and '-' (got: ../x)",
        ),
        ({"MLCI_COMMENT": "yes"}, "comment must be true, false or artifact (got: yes)"),
        ({"MLCI_FAIL_ON_GATE": "1"}, "fail-on-gate must be true or false (got: 1)"),
        (
            {"MLCI_ARGS": "--base 'main"},
            "args cannot be split (unbalanced quotes?): --base 'main",
        ),
    ],
)
def test_run_refuses_bad_inputs(tmp_path: Path, env: dict[str, str], message: str) -> None:
    done, _ = run_script("run.sh", {"MLCI_PYTHON": sys.executable, **env}, tmp_path, tmp_path)
    assert done.returncode == 2
    assert done.stdout.strip() == f"::error title=mlci::{message}"


@pytest.fixture
def metrics_repo(git_repo: GitRepo) -> GitRepo:
    """main with accuracy 0.9; a branch that drops it to 0.8 under a gate of 0.85."""
    git_repo.write("metrics.json", '{"accuracy": 0.9}\n')
    git_repo.write(
        "mlci.yaml",
        "version: 1\nmetrics:\n  files: [metrics.json]\ngates:\n  - metric: accuracy\n    min: 0.85\n",
    )
    git_repo.commit("base")
    git_repo.git("checkout", "-q", "-b", "feature")
    git_repo.write("metrics.json", '{"accuracy": 0.8}\n')
    git_repo.commit("worse")
    return git_repo


def test_run_passes_args_verbatim_and_sets_outputs(metrics_repo: GitRepo, tmp_path: Path) -> None:
    done, outputs = run_script(
        "run.sh",
        {
            "MLCI_PYTHON": sys.executable,
            "MLCI_COMMAND": "diff",
            "MLCI_ARGS": "--json 'main'",
            "MLCI_FAIL_ON_GATE": "true",
        },
        metrics_repo.path,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("mlci diff --json main\n")
    assert json.loads(done.stdout.split("\n", 1)[1])
    assert outputs["passed"] == "true"
    assert outputs["exit-code"] == "0"
    assert outputs["report-path"] == ""


def test_run_check_writes_the_report_and_the_summary(metrics_repo: GitRepo, tmp_path: Path) -> None:
    done, outputs = run_script(
        "run.sh",
        {"MLCI_PYTHON": sys.executable, "MLCI_FAIL_ON_GATE": "false", "MLCI_REPORT_ID": "iris"},
        metrics_repo.path,
        tmp_path,
    )
    report = tmp_path / "runner-temp" / "mlci" / "iris" / "report.json"
    assert outputs["report-path"] == str(report)
    html = tmp_path / "runner-temp" / "mlci" / "iris" / "report.html"
    assert outputs["html-report"] == str(html)
    assert html.read_text().startswith("<!doctype html>")
    data = json.loads(report.read_text())
    summary = json.loads(outputs["summary"])
    assert summary == {
        "status": data["status"],
        "exit_code": data["exit_code"],
        "counts": data["counts"],
        "report_id": "iris",
        "mlflow_run_id": None,
    }
    assert outputs["exit-code"] == str(data["exit_code"])
    assert outputs["passed"] == ("true" if data["exit_code"] == 0 else "false")
    if data["exit_code"] == 1:  # a failing gate does not fail the step with fail-on-gate false
        assert done.returncode == 0
        assert "::warning title=mlci::a check failed; fail-on-gate is false" in done.stdout


def _event(tmp_path: Path, head_repository: str) -> str:
    event = {
        "number": 3,
        "pull_request": {
            "number": 3,
            "head": {"sha": "a" * 40, "repo": {"full_name": head_repository}},
            "base": {"repo": {"full_name": "acme/iris"}},
        },
    }
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    return str(path)


def test_a_fork_pull_request_writes_the_comment_artifact(
    metrics_repo: GitRepo, tmp_path: Path
) -> None:
    done, outputs = run_script(
        "run.sh",
        {
            "MLCI_PYTHON": sys.executable,
            "MLCI_FAIL_ON_GATE": "false",
            "GITHUB_EVENT_PATH": _event(tmp_path, "someone/iris"),
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_REPOSITORY": "acme/iris",
        },
        metrics_repo.path,
        tmp_path,
    )
    artifact = tmp_path / "runner-temp" / "mlci" / "default" / "comment"
    command = next(line for line in done.stdout.splitlines() if line.startswith("mlci "))
    assert command.endswith(f" --comment-artifact {artifact}"), done.stdout
    assert "token cannot comment (fork or Dependabot)" in done.stdout
    assert outputs["comment-artifact"] == str(artifact)
    assert artifact.is_dir()


def test_a_same_repository_pull_request_comments(metrics_repo: GitRepo, tmp_path: Path) -> None:
    done, _ = run_script(
        "run.sh",
        {
            "MLCI_PYTHON": sys.executable,
            "MLCI_FAIL_ON_GATE": "false",
            "GITHUB_EVENT_PATH": _event(tmp_path, "acme/iris"),
            "GITHUB_API_URL": "http://127.0.0.1:9",
        },
        metrics_repo.path,
        tmp_path,
    )
    command = next(line for line in done.stdout.splitlines() if line.startswith("mlci "))
    assert command.endswith(" --comment")


def test_scripts_are_executable_and_strict() -> None:
    for script in sorted(SCRIPTS.glob("*.sh")):
        text = script.read_text()
        assert text.startswith("#!/usr/bin/env bash\n"), script.name
        assert os.access(script, os.X_OK), script.name
        if script.name != "lib.sh":
            assert "set -euo pipefail" in text, script.name
