"""Shared fixtures: every test runs with a private HOME, a private git identity, no GitHub
environment, and helpers for real git repositories and in-process CLI runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from mlci.cli.handler import run
from mlci.cli.main import cli

# The session-scoped real MLflow server (`mlflow_server`), the renderers, Spark, and act's runner
# (`act`, over the session's `action_source` and `job_bin`).
pytest_plugins = ["act_workflows", "mlflow_server", "renderers", "spark_session"]

# Variables that would make a test behave like a GitHub Actions job or reach a real service.
_SCRUBBED_PREFIXES = ("GITHUB_", "RUNNER_", "ACTIONS_", "MLFLOW_", "DVC_", "GIT_")
_SCRUBBED = {"CI", "NO_COLOR", "FORCE_COLOR"}


@pytest.fixture(autouse=True)
def _isolated_environment(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """A fake HOME and git identity, so no test reads or writes the real user's files."""
    home = tmp_path_factory.mktemp("home")
    for name in list(os.environ):
        if name in _SCRUBBED or name.startswith(_SCRUBBED_PREFIXES):
            monkeypatch.delenv(name, raising=False)
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = mlci tests\n\temail = tests@mlci.invalid\n"
        "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n"
        "[advice]\n\tdetachedHead = false\n"
    )
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    monkeypatch.setenv("DVC_SITE_CACHE_DIR", str(home / ".dvc-site-cache"))
    cwd = Path.cwd()
    yield
    os.chdir(cwd)  # `mlci -C DIR` changes the directory of the test process


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


@dataclass
class Invoker:
    """Run `mlci ARGS` in-process, through the same handler the console script uses."""

    def __call__(self, *args: str | os.PathLike[str], cwd: Path | None = None) -> Result:
        runner = CliRunner()
        previous = Path.cwd()
        if cwd is not None:
            os.chdir(cwd)
        try:
            with runner.isolation() as (stdout, stderr, _output):
                code = run(cli, [str(arg) for arg in args])
                out, err = stdout.getvalue(), stderr.getvalue()
        finally:
            os.chdir(previous)
        return Result(exit_code=code, stdout=out.decode(), stderr=err.decode())


@pytest.fixture
def mlci() -> Invoker:
    return Invoker()


class GitRepo:
    """A real git repository in a tmp dir, with small helpers to write files and commit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=self.path, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    def write(self, relative: str, text: str) -> Path:
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        return target

    def commit(self, message: str = "commit", paths: Sequence[str] = (".",)) -> str:
        self.git("add", *paths)
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")


@pytest.fixture
def git_repo(tmp_path: Path) -> GitRepo:
    return GitRepo(tmp_path / "repo")


IRIS = Path(__file__).resolve().parents[1] / "examples" / "iris"
IRIS_OUTPUTS = {"data", "model.joblib", "metrics.json", "predictions.csv"}
"""What `python train.py` writes at the top of examples/iris (git-ignored, never committed)."""


@pytest.fixture(scope="session")
def trained_iris(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of examples/iris after `python train.py`, as the README's Quickstart leaves it.

    Tests copy this again before changing it; the repository's own example is never written.
    """
    pytest.importorskip("sklearn")
    target = tmp_path_factory.mktemp("iris") / "iris"

    def outputs_of_train_py(directory: str, names: list[str]) -> set[str]:
        return IRIS_OUTPUTS & set(names) if Path(directory) == IRIS else set()

    shutil.copytree(IRIS, target, ignore=outputs_of_train_py)
    subprocess.run([sys.executable, "train.py"], cwd=target, check=True, capture_output=True)
    return target
