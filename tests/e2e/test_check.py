"""`mlci check` end to end: the iris example, report formats, and nothing lost on bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import GitRepo, Invoker

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def iris(trained_iris: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "iris"
    shutil.copytree(trained_iris, copy)
    return copy


def test_iris_example_passes(mlci: Invoker, iris: Path) -> None:
    result = mlci("check", cwd=iris)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.stdout.startswith("iris classifier: PASSED")
    assert "metrics.json  accuracy" in result.stdout


def test_iris_json_report(mlci: Invoker, iris: Path) -> None:
    result = mlci("check", "--format", "json", cwd=iris)
    report = json.loads(result.stdout)
    assert report["status"] == "passed"
    assert report["exit_code"] == 0
    assert report["base"] == "baseline/"
    accuracy = next(row for row in report["diff"]["metrics"] if row["name"] == "accuracy")
    assert accuracy["old"] == 0.95
    assert accuracy["verdict"] == "improved"


def test_output_file_gets_the_format_and_terminal_the_text(mlci: Invoker, iris: Path) -> None:
    result = mlci("check", "-o", "out/report.md", cwd=iris)
    assert result.exit_code == 0
    markdown = (iris / "out" / "report.md").read_text()
    assert markdown.startswith("<!-- mlci:report id=default -->")
    assert result.stdout.startswith("iris classifier: PASSED")


def test_bad_metrics_file_exits_2_and_still_writes_the_report(mlci: Invoker, iris: Path) -> None:
    (iris / "metrics.json").write_text('{"accuracy": ')
    result = mlci("check", "-o", "report.json", cwd=iris)
    assert result.exit_code == 2
    report = json.loads((iris / "report.json").read_text())
    assert report["status"] == "error"
    assert report["problems"][0]["check"] == "diff"
    assert "metrics.json: metrics file does not parse as JSON" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_against_git_merge_base(mlci: Invoker, git_repo: GitRepo) -> None:
    git_repo.write("mlci.yaml", "metrics:\n  files: [metrics.json]\n")
    git_repo.write("metrics.json", '{"accuracy": 0.8, "loss": 0.5}')
    git_repo.commit("base")
    git_repo.git("checkout", "-q", "-b", "feature")
    git_repo.write("metrics.json", '{"accuracy": 0.85, "loss": 0.6}')
    result = mlci("check", "--format", "json", cwd=git_repo.path)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["base"] == "merge-base(HEAD, main)"
    verdicts = {row["name"]: row["verdict"] for row in report["diff"]["metrics"]}
    assert verdicts == {"accuracy": "improved", "loss": "regressed"}
    assert report["counts"]["metrics"]["regressed"] == 1


def test_check_base_flag_pins_the_revision(mlci: Invoker, git_repo: GitRepo) -> None:
    git_repo.write("mlci.yaml", "metrics:\n  files: [m.json]\n")
    git_repo.write("m.json", '{"acc": 1}')
    first = git_repo.commit("one")
    git_repo.write("m.json", '{"acc": 2}')
    git_repo.commit("two")
    result = mlci("check", "--base", first, "--format", "json", cwd=git_repo.path)
    report = json.loads(result.stdout)
    assert report["diff"]["metrics"][0]["old"] == 1
    assert report["base"] == first


def test_plain_text_when_piped_has_no_escape_codes(mlci: Invoker, iris: Path) -> None:
    result = mlci("check", cwd=iris)
    assert "\x1b[" not in result.stdout


class RecordingProgress:
    def __init__(self) -> None:
        self.stages: list[str] = []

    def stage(self, description: str, total: int | None = None) -> None:
        self.stages.append(description)

    def advance(self, completed: int) -> None:
        pass


def test_check_tells_its_progress_what_it_reads_and_validates(iris: Path) -> None:
    from mlci.config import load_config
    from mlci.pipeline.context import CheckContext
    from mlci.pipeline.run import run_check

    progress = RecordingProgress()
    config = load_config(iris / "mlci.yaml")
    report = run_check(CheckContext(config=config, progress=progress))
    assert report.status == "passed"
    names = {dataset.path.rsplit("/", 1)[-1] for dataset in report.datasets}
    assert names
    for name in names:
        assert f"reading {name}" in progress.stages
        assert f"validating {name}" in progress.stages


def _stderr_on_a_terminal(command: list[str], cwd: Path, **env: str) -> bytes:
    """Run `command` with stderr on a pseudo-terminal; what it wrote there."""
    import os
    import pty
    import subprocess
    import sys

    leader, follower = pty.openpty()
    environment = {k: v for k, v in os.environ.items() if k not in ("CI", "NO_COLOR")}
    environment.update(TERM="xterm-256color", **env)
    with subprocess.Popen(
        [sys.executable, "-m", "mlci", *command],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=follower,
        env=environment,
    ) as process:
        os.close(follower)
        written = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closes when the process ends
                break
            if not chunk:
                break
            written += chunk
        process.wait(timeout=120)
    os.close(leader)
    return written


HIDE_CURSOR = b"\x1b[?25l"
"""rich hides the cursor while a progress bar is live, however briefly it is shown."""


@pytest.mark.parametrize("command", [["check"], ["validate"]])
def test_progress_bar_on_a_terminal_and_never_in_ci(iris: Path, command: list[str]) -> None:
    assert HIDE_CURSOR in _stderr_on_a_terminal(command, iris)
    assert HIDE_CURSOR not in _stderr_on_a_terminal(command, iris, CI="true")
