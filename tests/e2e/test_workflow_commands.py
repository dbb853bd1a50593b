"""In GitHub Actions no text from a user's files becomes a workflow command and the token is
never written: real `mlci` processes with GitHub's environment, their stdout and stderr read the
way the runner's command parser reads them; and `mlci comment` against the local fake GitHub
(a body over the limit is cut, never refused; bad stdin, tokens and answers are one line)."""

from __future__ import annotations

import io
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


def runner_commands(log: str, *, windows: bool = True) -> list[str]:
    """The lines the runner would run as workflow commands, read as its parser reads them:
    `::name ...::` after leading whitespace, `##[name ...]` anywhere in a line (any name
    counts here, registered or not), lines split at CR and LF as .NET's ReadLine splits them;
    none between `::stop-commands::TOKEN` and `::TOKEN::` when `windows` (the order of one
    stream). With `windows=False` the window lines themselves are the only ones left out: the
    runner reads stdout and stderr in no fixed order between them, so a window on one stream
    does not fence the other."""
    found = []
    stopped_by: str | None = None
    tokens: set[str] = set()
    for line in re.split(r"\r\n|\r|\n", log):
        v2 = re.match(r"::([^\s:]+)[^:]*::", line.lstrip())
        v1 = re.search(r"##\[([^\s\]]+)[^\]]*\]", line)
        name = v2[1] if v2 else v1[1] if v1 else None
        if name is None:
            continue
        if name == "stop-commands" and v2:
            stopped_by = line.lstrip().split("::")[2]
            tokens.add(stopped_by)
            continue
        if name in tokens and v2:
            stopped_by = None
            continue
        if stopped_by is not None and windows:
            continue
        found.append(line)
    return found


OWN = re.compile(
    r"::(error|warning|notice)( (file|line|title)=[^:,\n]*(,(file|line|title)=[^:,\n]*)*)?::"
)
"""mlci's own annotations, each property escaped: no raw `:` `,` or newline."""


def run_in_actions(
    *args: str,
    cwd: Path,
    stdout: int | None = subprocess.PIPE,
    merged: bool = False,
    **env: str,
) -> subprocess.CompletedProcess[str]:
    """`mlci ARGS` as a step of a job runs it: stdout and stderr on pipes of their own, as the
    runner starts a step; `merged` joins stderr to stdout in the order written (`2>&1`)."""
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
        stderr=subprocess.STDOUT if merged else subprocess.PIPE,
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


def windows_and_commands(stream: str) -> tuple[list[str], list[str]]:
    """The `::stop-commands::`/resume lines of `stream`, and mlci's own commands in it."""
    lines = stream.splitlines()
    stops = [line for line in lines if line.startswith("::stop-commands::")]
    resumes = ["::" + stop.removeprefix("::stop-commands::") + "::" for stop in stops]
    window = [line for line in lines if line in stops or line in resumes]
    return window, [line for line in lines if OWN.match(line)]


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
    assert done.returncode in (0, 1, 2), done.stderr
    assert "Traceback" not in done.stderr
    # each stream on its own, no window credited: only mlci's own annotations are commands
    assert runner_commands(done.stdout, windows=False) == []
    commands = runner_commands(done.stderr, windows=False)
    assert all(OWN.match(line) for line in commands), commands
    assert (args[0] == "check") == bool(commands)
    # the window and mlci's commands are on stderr, in order: paused around the annotations
    assert done.stderr.startswith("::stop-commands::")
    assert runner_commands(done.stderr) == commands
    assert "stop-commands" not in done.stdout
    assert TOKEN not in done.stdout + done.stderr
    if args[0] == "check":
        assert any("acc%1B[31mred" in line for line in commands), commands


@pytest.mark.parametrize("args", [("diff",), ("check",), ("check", "--format", "json")])
def test_stderr_joined_to_stdout_gets_no_window_and_stays_inert(
    hostile_repo: GitRepo, args: tuple[str, ...]
) -> None:
    done = run_in_actions(*args, cwd=hostile_repo.path, merged=True)
    assert done.returncode in (0, 1, 2), done.stdout
    assert "stop-commands" not in done.stdout
    commands = runner_commands(done.stdout, windows=False)
    assert all(OWN.match(line) for line in commands), commands
    assert (args[0] == "check") == bool(commands)


def test_a_log_saved_with_tee_is_clean_and_inert(hostile_repo: GitRepo, tmp_path: Path) -> None:
    """`mlci check | tee log`: the runner reads tee's stdout and mlci's stderr; the log holds
    the report, no window and no commands, and no line of it is one wherever it is printed."""
    log = tmp_path / "log"
    done = subprocess.run(
        f"{sys.executable} -m mlci check | tee {log}",
        shell=True, executable="/bin/bash", cwd=hostile_repo.path, capture_output=True,
        text=True, timeout=120,
        env={**os.environ, "GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": REPO},
    )  # fmt: skip
    saved = log.read_text()
    assert saved == done.stdout
    assert saved.startswith("mlci report: ERROR: gates 2 failed")
    assert "x\\n::error title=INJECTED::pwned" in saved  # the name, on one line, escaped
    assert "##\u200b[warning]INJECTED" in saved
    assert "stop-commands" not in saved
    assert runner_commands(saved, windows=False) == []
    window, commands = windows_and_commands(done.stderr)
    assert len(window) == 4  # opened, paused for the annotations, reopened, closed
    assert commands
    assert runner_commands(done.stderr) == commands


def test_a_hostile_config_key_is_fenced_off_before_the_config_is_read(
    git_repo: GitRepo,
) -> None:
    git_repo.write("mlci.yaml", "metrics:\n  files: [m.json]\n'##[warning]INJECTED': 1\n")
    done = run_in_actions("check", cwd=git_repo.path)
    assert done.returncode == 2
    assert "'##\u200b[warning]INJECTED'" in done.stderr  # said, as text
    assert runner_commands(done.stderr, windows=False) == []
    assert done.stderr.startswith("::stop-commands::")


@pytest.mark.parametrize(
    "args",
    [
        ("validate", "##[error]INJECTED.csv", "--schema", "s.yaml"),
        ("validate", "x\n::error::INJECTED.csv", "--schema", "s.yaml"),
        ("validate", "x\r  ::error::INJECTED.csv", "--schema", "s.yaml"),
        ("diff", "--targets", "##[error]INJECTED.json"),
        ("schema", "infer", "::error::INJECTED.csv"),
        ("comment", "--body-file", "##[error]INJECTED.md"),
    ],
)
def test_hostile_file_names_in_errors_are_inert(git_repo: GitRepo, args: tuple[str, ...]) -> None:
    git_repo.commit("empty")
    for merged in (False, True):
        done = run_in_actions(*args, cwd=git_repo.path, merged=merged)
        assert done.returncode == (0 if args[0] == "diff" else 2), done.stdout
        assert "Traceback" not in done.stdout + (done.stderr or "")
        assert runner_commands(done.stdout, windows=False) == []
        assert runner_commands(done.stderr or "", windows=False) == []


def test_stdout_to_a_file_gets_no_window_and_stderr_is_fenced(
    hostile_repo: GitRepo, tmp_path: Path
) -> None:
    out = tmp_path / "diff.json"
    with out.open("w") as handle:
        done = run_in_actions("diff", "--json", cwd=hostile_repo.path, stdout=handle.fileno())
    assert done.returncode == 0
    assert INJECTED in json.loads(out.read_text())["metrics.json"]
    assert "stop-commands" not in out.read_text()
    assert done.stderr.startswith("::stop-commands::")
    assert runner_commands(done.stderr) == []


@pytest.mark.parametrize("args", [("diff", "--json"), ("check", "--format", "json")])
def test_json_on_a_pipe_stays_json_and_inert(hostile_repo: GitRepo, args: tuple[str, ...]) -> None:
    done = run_in_actions(*args, cwd=hostile_repo.path)
    assert done.returncode in (0, 2), done.stderr  # 2: a gate on a metric that is not there
    data = json.loads(done.stdout)  # nothing but the JSON: no window, no annotation
    assert "##[warning]INJECTED" in json.dumps(data, ensure_ascii=False)  # the same data
    assert "##[" not in done.stdout
    assert runner_commands(done.stdout, windows=False) == []
    assert done.stderr.startswith("::stop-commands::")
    assert all(OWN.match(line) for line in runner_commands(done.stderr, windows=False))


@pytest.mark.parametrize("json_mode", [False, True])
def test_inert_stream_finds_commands_split_across_writes(json_mode: bool) -> None:
    """Every way to cut hostile text into two writes leaves the same inert output."""
    from mlci.github.actions import InertStream

    text = "a\n::error::x\n  ::warning::y ##[notice]z\r::debug::w\n##[group]v\n"
    if json_mode:
        text = json.dumps({"k": "##[warning]v", "l": "x ##[error]"}, indent=2) + "\n"
    whole = io.StringIO()
    InertStream(whole, json=json_mode).write(text)
    assert runner_commands(whole.getvalue(), windows=False) == []
    if json_mode:
        assert json.loads(whole.getvalue()) == json.loads(text)
    for cut in range(1, len(text)):
        for second_cut in (cut, min(cut + 1, len(text))):
            parts = io.StringIO()
            stream = InertStream(parts, json=json_mode)
            for piece in (text[:cut], text[cut:second_cut], text[second_cut:]):
                stream.write(piece)
            assert parts.getvalue() == whole.getvalue(), (cut, second_cut)


def test_inert_text_leaves_ordinary_text_alone() -> None:
    from mlci.github.actions import InertStream

    text = "mlci report: PASSED\nurl: https://x.test/a::b\n# title [x]\nC++ std::vector\n"
    out = io.StringIO()
    InertStream(out).write(text)
    assert out.getvalue() == text


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
