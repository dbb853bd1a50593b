"""In GitHub Actions no text from a user's files becomes a workflow command and the token is
never written: real `mlci` processes with GitHub's environment, their stdout and stderr read the
way the runner's command parser reads them; and `mlci comment` against the local fake GitHub
(a body over the limit is cut, never refused; bad stdin, tokens and answers are one line)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import GitRepo, Invoker
from fake_github import FakeGitHub

from mlci.github.actions import Annotation, annotation_commands

REPO = "octo/repo"
TOKEN = "s3cret-token"
INJECTED = "x\n::error title=INJECTED::pwned"


def runner_commands(log: str) -> list[str]:
    """The lines the runner would run as workflow commands, read as its parser reads them:
    `::name ...::` after leading whitespace, `##[name ...]` anywhere in a line (any name
    counts here, registered or not); none between `::stop-commands::TOKEN` and `::TOKEN::`."""
    found = []
    stopped_by: str | None = None
    for line in log.splitlines():
        v2 = re.match(r"::([^\s:]+)[^:]*::", line.lstrip())
        v1 = re.search(r"##\[([^\s\]]+)[^\]]*\]", line)
        name = v2[1] if v2 else v1[1] if v1 else None
        if name is None:
            continue
        if stopped_by is not None:
            if name == stopped_by:
                stopped_by = None
            continue
        if name == "stop-commands":
            stopped_by = line.lstrip().split("::")[2]
            continue
        found.append(line)
    return found


def run_in_actions(
    *args: str, cwd: Path, stdout: int | None = subprocess.PIPE, **env: str
) -> subprocess.CompletedProcess[str]:
    """`mlci ARGS` as a step of a job runs it; stderr joins stdout in the order written."""
    environment = {
        **os.environ,
        "GITHUB_ACTIONS": "true",
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_REPOSITORY": REPO,
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "mlci", *args],
        cwd=cwd,
        env=environment,
        stdout=stdout,
        stderr=subprocess.STDOUT if stdout == subprocess.PIPE else subprocess.PIPE,
        text=True,
        timeout=120,
    )


@pytest.fixture
def hostile_repo(git_repo: GitRepo) -> GitRepo:
    names = {INJECTED: 0.5, "##[warning]INJECTED": 1.0, "acc\x1b[31mred": 0.9}
    git_repo.write("metrics.json", json.dumps(names))
    git_repo.write(
        "mlci.yaml",
        "metrics:\n  files: [metrics.json]\ngates:\n"
        f"  - metric: {json.dumps(INJECTED)}\n    min: 0.9\n"
        '  - metric: "##[error]no such metric"\n    min: 0.1\n'
        f"  - metric: {json.dumps('acc' + chr(27) + '[31mred')}\n    min: 0.95\n",
    )
    git_repo.commit("base")
    git_repo.write("metrics.json", json.dumps({k: v / 2 for k, v in names.items()}))
    return git_repo


@pytest.mark.parametrize(
    "args",
    [
        ("diff",),
        ("diff", "--md"),
        ("diff", "--json"),
        ("gate",),
        ("gate", "--format", "markdown"),
        ("check",),
        ("check", "--format", "json"),
    ],
)
def test_metric_names_never_become_workflow_commands(
    hostile_repo: GitRepo, args: tuple[str, ...]
) -> None:
    done = run_in_actions(*args, cwd=hostile_repo.path)
    assert done.returncode in (0, 1, 2), done.stdout
    assert "Traceback" not in done.stdout
    commands = runner_commands(done.stdout)
    # only mlci's own annotations (check), each property escaped: no raw `:` `,` or newline
    own = re.compile(
        r"::(error|warning|notice)( (file|line|title)=[^:,\n]*(,(file|line|title)=[^:,\n]*)*)?::"
    )
    assert all(own.match(line) for line in commands), commands
    assert (args[0] == "check") == bool(commands)
    assert TOKEN not in done.stdout
    if args[0] == "check":
        assert any("acc%1B[31mred" in line for line in commands), commands


def test_a_hostile_config_key_is_fenced_off_before_the_config_is_read(
    git_repo: GitRepo,
) -> None:
    git_repo.write("mlci.yaml", "metrics:\n  files: [m.json]\n'##[warning]INJECTED': 1\n")
    done = run_in_actions("check", cwd=git_repo.path)
    assert done.returncode == 2
    assert "##[warning]INJECTED" in done.stdout  # said, as text
    assert runner_commands(done.stdout) == []
    assert done.stdout.startswith("::stop-commands::")


@pytest.mark.parametrize(
    "args",
    [
        ("validate", "##[error]INJECTED.csv", "--schema", "s.yaml"),
        ("validate", "x\n::error::INJECTED.csv", "--schema", "s.yaml"),
        ("diff", "--targets", "##[error]INJECTED.json"),
        ("schema", "infer", "::error::INJECTED.csv"),
        ("comment", "--body-file", "##[error]INJECTED.md"),
    ],
)
def test_hostile_file_names_in_errors_are_fenced_off(
    git_repo: GitRepo, args: tuple[str, ...]
) -> None:
    git_repo.commit("empty")
    done = run_in_actions(*args, cwd=git_repo.path)
    assert done.returncode == (0 if args[0] == "diff" else 2), done.stdout
    assert "Traceback" not in done.stdout
    assert runner_commands(done.stdout) == []


def test_stdout_to_a_file_gets_no_window_and_stderr_is_fenced(
    hostile_repo: GitRepo, tmp_path: Path
) -> None:
    out = tmp_path / "diff.json"
    with out.open("w") as handle:
        done = run_in_actions("diff", "--json", cwd=hostile_repo.path, stdout=handle.fileno())
    assert done.returncode == 0
    assert INJECTED in json.loads(out.read_text())["metrics.json"]
    assert done.stderr.startswith("::stop-commands::")
    assert runner_commands(done.stderr) == []


@pytest.mark.parametrize("args", [("diff", "--json"), ("check", "--format", "json")])
def test_json_on_a_pipe_stays_json_and_inert(hostile_repo: GitRepo, args: tuple[str, ...]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mlci", *args],
        cwd=hostile_repo.path,
        env={**os.environ, "GITHUB_ACTIONS": "true"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode in (0, 2), done.stderr  # 2: a gate on a metric that is not there
    own = [line for line in done.stdout.splitlines() if line.startswith("::error ")]
    data = json.loads("\n".join(line for line in done.stdout.splitlines() if line not in own))
    assert "##[warning]INJECTED" in json.dumps(data, ensure_ascii=False)  # the same data
    assert not any("##[" in line for line in done.stdout.splitlines() if line not in own)
    assert runner_commands(done.stdout) == own  # a `##[` in an annotation's message is data
    assert done.stderr.startswith("::stop-commands::")
    assert runner_commands(done.stderr) == []


def test_annotation_text_keeps_control_characters_visible() -> None:
    annotation = Annotation("error", "bell\x07 nul\x00 csi\x9b", title="acc\x1b[31mred")
    assert annotation.command() == "::error title=acc%1B[31mred::bell%07 nul%00 csi%9B"


def test_annotations_per_type_per_step_and_per_job() -> None:
    errors = [Annotation("error", f"e{i}") for i in range(30)]
    warnings = [Annotation("warning", f"w{i}") for i in range(30)]
    notices = [Annotation("notice", f"n{i}") for i in range(30)]
    step = annotation_commands(errors + warnings + notices)
    assert len(step.commands) == 30  # 10 errors, 10 warnings, 9 notices and the note
    assert step.left_out == {"error": 20, "warning": 20, "notice": 21}
    assert step.left_out_text == "20 errors and 20 warnings and 21 notices"
    late = annotation_commands(errors, job_room=5)  # 45 already written in this job
    assert late.commands[:4] == [f"::error::e{i}" for i in range(4)]
    assert late.commands[4].startswith("::notice title=More mlci findings::mlci: 26 errors")
    assert annotation_commands(errors, job_room=0).commands == []


# --- mlci comment ------------------------------------------------------------------------------


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    with FakeGitHub(token=TOKEN) as fake:
        fake.add_pull(REPO, 7)
        monkeypatch.setenv("GITHUB_API_URL", fake.url)
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        yield fake


def test_body_file_over_the_limit_is_posted_cut_with_a_note(
    mlci: Invoker, github: FakeGitHub, tmp_path: Path
) -> None:
    sections = "".join(f"#### Part {n}\n\n" + "データ" * 2_000 + "\n\n" for n in range(20))
    (tmp_path / "report.md").write_text("### ❌ mlci report: failed\n\n" + sections)
    result = mlci("comment", "--body-file", "report.md", "--repo", REPO, "--pr", "7", cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    (comment,) = github.comments(REPO, 7)
    body = str(comment["body"])
    assert len(body) <= 65_536 - 1_024
    assert "#### Part 9\n" in body
    assert "#### Part 10\n" not in body
    assert body.endswith(
        "> [!NOTE]\n> The report is too long for a comment and was cut here: the full report "
        "is in report.md.\n"
    )
    assert result.stderr.startswith(
        "mlci: the body is over GitHub's comment limit: posting it cut at a section boundary, "
        "with a note pointing at report.md\n"
    )


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        (
            b"",
            "mlci: error: comment body is empty: nothing to post (write the report with "
            "`mlci check -o report.md` first)\n",
        ),
        (
            b"  \n\n",
            "mlci: error: comment body is empty: nothing to post (write the report "
            "with `mlci check -o report.md` first)\n",
        ),
        (
            b"caf\xe9",
            "mlci: error: comment body on standard input is not valid UTF-8 "
            "(byte 3) (pipe UTF-8 text)\n",
        ),
    ],
)
def test_body_from_stdin_that_cannot_be_posted(
    github: FakeGitHub, tmp_path: Path, stdin: bytes, message: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mlci", "comment", "--body-file", "-", "--repo", REPO, "--pr", "7"],
        input=stdin,
        capture_output=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert (done.returncode, done.stderr.decode()) == (2, message)
    assert github.calls() == []


def test_body_from_a_closed_stdin(github: FakeGitHub, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mlci", "comment", "--body-file", "-", "--repo", REPO, "--pr", "7"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("mlci: error: comment body is empty")
    closed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, sys; os.close(0); from mlci.__main__ import main; main()",
            "comment",
            "--body-file",
            "-",
            "--repo",
            REPO,
            "--pr",
            "7",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert closed.returncode == 2, closed.stderr
    assert closed.stderr.count("\n") == 1
    assert "Traceback" not in closed.stderr


def test_a_token_with_non_latin1_characters_is_one_line(
    mlci: Invoker, github: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "report.md").write_text("hi")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_tökén✓")
    result = mlci("comment", "--body-file", "report.md", "--repo", REPO, "--pr", "7", cwd=tmp_path)
    assert (result.exit_code, result.stderr) == (
        2,
        "mlci: error: the GitHub token holds characters no token has (spaces, control or "
        "non-ASCII characters) (check GITHUB_TOKEN or --token)\n",
    )
    assert "tökén" not in result.stdout + result.stderr


def test_check_comment_with_an_html_answer_only_warns(
    mlci: Invoker, github: FakeGitHub, git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    git_repo.write("mlci.yaml", "metrics:\n  files: [m.json]\n")
    git_repo.write("m.json", '{"acc": 0.9}')
    git_repo.commit("base")
    github.fail("GET", status=200, text="<html>Single sign-on</html>")
    result = mlci("check", "--comment", "--repo", REPO, "--pr", "7", cwd=git_repo.path)
    assert result.exit_code == 0
    assert (
        "mlci: warning: could not post the PR comment: GitHub answered GET "
        f"/repos/{REPO}/issues/7/comments with 200 text/html, not JSON"
    ) in result.stderr


def test_the_comment_artifact_never_writes_through_a_symlink(tmp_path: Path) -> None:
    from mlci.github.comments import write_comment_artifact

    target = tmp_path / "victim.txt"
    target.write_text("keep me")
    artifact = tmp_path / "artifact"
    artifact.mkdir()
    (artifact / "comment.md").symlink_to(target)
    (artifact / "pr-number").symlink_to(target)
    write_comment_artifact(artifact, "the report", 7)
    assert target.read_text() == "keep me"
    assert not (artifact / "comment.md").is_symlink()
    assert (artifact / "comment.md").read_text() == "the report"
    assert (artifact / "pr-number").read_text() == "7\n"


@pytest.mark.parametrize("args", [("diff",), ("gate",), ("check",)])
def test_control_characters_in_names_never_reach_the_terminal(
    mlci: Invoker, hostile_repo: GitRepo, args: tuple[str, ...]
) -> None:
    result = mlci(*args, cwd=hostile_repo.path)
    assert "\x1b" not in result.stdout + result.stderr
    assert "acc\\x1b[31mred" in result.stdout
    assert "x\\n::error title=INJECTED::pwned" in result.stdout  # one line, shown escaped
