"""`mlci check --comment`, `--comment-artifact` and `mlci comment` end to end: a real git
repository, the CLI in-process, GitHub Actions' environment files in tmp dirs, and the fake
GitHub API on 127.0.0.1."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import GitRepo, Invoker
from fake_github import FakeGitHub
from markdown_parse import html_tags, parse_tables

REPO = "octo/repo"
TOKEN = "s3cret-token"
HEAD = "f" * 40


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(token=TOKEN, read_only_tokens=("read-only",)) as fake:
        fake.add_pull(REPO, 7, head_sha=HEAD, comments=250)
        yield fake


@pytest.fixture
def ml_repo(git_repo: GitRepo) -> GitRepo:
    """main holds the base metrics; the work tree has the pull request's."""
    git_repo.write(
        "mlci.yaml",
        "metrics:\n  files: [metrics.json]\ngates:\n  - metric: accuracy\n    min: 0.5\n",
    )
    git_repo.write("metrics.json", '{"accuracy": 0.90, "loss": 0.40}')
    git_repo.commit("base")
    git_repo.write("metrics.json", '{"accuracy": 0.93, "loss": 0.45}')
    return git_repo


@pytest.fixture
def actions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, github: FakeGitHub, ml_repo: GitRepo
) -> dict[str, Path]:
    """The environment of a `pull_request` job in GitHub Actions."""
    for name, value in github.pull_request_job(REPO, HEAD, tmp_path, ml_repo.path).items():
        monkeypatch.setenv(name, value)
    return {"summary": tmp_path / "summary.md", "output": tmp_path / "output.txt"}


def outputs(path: Path) -> dict[str, str]:
    """Parse `name<<DELIMITER ... DELIMITER` blocks as the runner does."""
    found = {}
    lines = path.read_text().split("\n")
    index = 0
    while index < len(lines) and lines[index]:
        name, delimiter = lines[index].split("<<")
        end = lines.index(delimiter, index + 1)
        found[name] = "\n".join(lines[index + 1 : end])
        index = end + 1
    return found


def mlci_comments(github: FakeGitHub) -> list[dict[str, object]]:
    return [c for c in github.comments(REPO, 7) if str(c["body"]).startswith("<!-- mlci:report")]


def test_three_runs_leave_one_updated_comment(
    mlci: Invoker, ml_repo: GitRepo, github: FakeGitHub, actions: dict[str, Path]
) -> None:
    for run, accuracy in enumerate((0.91, 0.92, 0.93), start=1):
        ml_repo.write("metrics.json", f'{{"accuracy": {accuracy}, "loss": 0.45}}')
        result = mlci("check", "--comment", cwd=ml_repo.path)
        assert result.exit_code == 0, result.stderr
        assert len(mlci_comments(github)) == 1, f"run {run}"
        action = "created" if run == 1 else "updated"
        assert (
            f"mlci: PR comment {action}: https://github.test/octo/repo/pull/7#issuecomment-"
            in result.stderr
        )
    assert len(github.comments(REPO, 7)) == 251
    assert [method for method, _ in github.calls()] == ["GET"] * 3 + ["POST"] + ["GET"] * 3 + (
        ["GET"] * 3 + ["PATCH"]
    ) * 2
    body = str(mlci_comments(github)[0]["body"])
    assert body.splitlines()[:2] == [
        "<!-- mlci:report id=default -->",
        "### ✅ mlci report: passed · gates: 1 passed · metrics: 1 regressed, 1 improved",
    ]
    assert (
        f"\n\nBase `{ml_repo.git('rev-parse', 'HEAD')[:12]}` → head `workspace` (commit `{HEAD[:12]}`).\n"
        in body
    )
    assert "[workflow run](https://github.test/octo/repo/actions/runs/99)" in body
    metrics = parse_tables(body)[1]
    assert metrics[1:] == [
        ["loss", "0.4", "0.45", "▲ +0.05 (+12.50%)", "🔴 worse"],
        ["accuracy", "0.9", "0.93", "▲ +0.03 (+3.33%)", "🟢 better"],
    ]


def test_actions_files_log_and_annotations(
    mlci: Invoker, ml_repo: GitRepo, github: FakeGitHub, actions: dict[str, Path]
) -> None:
    ml_repo.write(
        "mlci.yaml",
        "metrics:\n  files: [metrics.json]\ngates:\n  - metric: accuracy\n    min: 0.95\n",
    )
    result = mlci("check", "--comment", "-o", "report.json", cwd=ml_repo.path)
    assert result.exit_code == 1, result.stderr
    assert TOKEN not in result.stdout + result.stderr  # the runner masks its own token
    # captured in the process, the streams reach no runner: no window (the processes of
    # tests/e2e/test_workflow_commands.py have one on stderr), the annotation on stdout
    assert "stop-commands" not in result.stdout + result.stderr
    assert "::error file=mlci.yaml,line=5,title=mlci gate accuracy%3A min failed::" in result.stdout
    found = outputs(actions["output"])
    comment = mlci_comments(github)[0]
    assert found["passed"] == "false"
    assert found["status"] == "failed"
    assert found["exit-code"] == "1"
    assert found["comment-url"] == comment["html_url"]
    assert found["report-path"] == str((ml_repo.path / "report.json").resolve())
    assert found["gates-failed"] == "1"
    assert found["metrics-improved"] == "1"
    assert json.loads(found["counts"])["gates"] == {
        "failed": 1,
        "passed": 0,
        "skipped": 0,
        "warned": 0,
    }
    summary = actions["summary"].read_text()
    assert summary.startswith("\n<!-- mlci:report id=default -->\n### ❌ mlci report: failed")
    assert json.loads((ml_repo.path / "report.json").read_text())["status"] == "failed"


def test_posting_failure_keeps_the_report_and_the_checks_exit_code(
    mlci: Invoker,
    ml_repo: GitRepo,
    github: FakeGitHub,
    actions: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "read-only")
    result = mlci("check", "--comment", "-o", "report.md", cwd=ml_repo.path)
    assert result.exit_code == 0
    warnings = [line for line in result.stderr.splitlines() if "could not post" in line]
    assert len(warnings) == 1
    assert warnings[0].startswith(
        "mlci: warning: could not post the PR comment: GitHub refused to write a comment on "
        "octo/repo#7 (403 Resource not accessible by integration)"
    )
    assert "mlci check --comment-artifact DIR" in warnings[0]
    assert (ml_repo.path / "report.md").read_text().startswith("<!-- mlci:report id=default -->")
    assert "### ✅ mlci report: passed" in actions["summary"].read_text()
    assert outputs(actions["output"])["comment-url"] == ""
    strict = mlci("check", "--comment", "--strict-comment", cwd=ml_repo.path)
    assert strict.exit_code == 2


def test_token_never_printed(
    mlci: Invoker,
    ml_repo: GitRepo,
    github: FakeGitHub,
    actions: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "false")
    monkeypatch.setenv("GITHUB_TOKEN", "wrong-token")
    result = mlci("check", "--comment", cwd=ml_repo.path)
    assert result.exit_code == 0
    assert "wrong-token" not in result.stdout + result.stderr
    assert "GitHub rejected the token (401 Bad credentials)" in result.stderr


def test_report_ids_coexist_from_the_command_line(
    mlci: Invoker, ml_repo: GitRepo, github: FakeGitHub, actions: dict[str, Path]
) -> None:
    for report_id in ("model-a", "model-b", "model-a"):
        assert mlci("check", "--comment", "--report-id", report_id, cwd=ml_repo.path).exit_code == 0
    ids = [
        re.match(r"<!-- mlci:report id=(\S+) -->", str(c["body"]))[1] for c in mlci_comments(github)
    ]  # type: ignore[index]
    assert ids == ["model-a", "model-b"]


def test_not_a_pull_request(
    mlci: Invoker,
    ml_repo: GitRepo,
    github: FakeGitHub,
    actions: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    push = tmp_path / "push.json"
    push.write_text('{"ref": "refs/heads/main"}')
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(push))
    result = mlci("check", "--comment", "--strict-comment", cwd=ml_repo.path)
    assert result.exit_code == 0
    assert "mlci: not a pull request: no PR comment posted" in result.stderr
    assert github.calls() == []


def test_hostile_metric_names_end_to_end(
    mlci: Invoker, ml_repo: GitRepo, github: FakeGitHub, actions: dict[str, Path]
) -> None:
    name = "acc|<script>x</script> @octocat #1 `y`\n::error::owned"
    ml_repo.write("metrics.json", json.dumps({name: 0.5, "accuracy": 0.93}))
    result = mlci("check", "--comment", cwd=ml_repo.path)
    assert result.exit_code == 0, result.stderr
    # the name is shown on one line (its newline escaped): no line starts with its `::`
    assert "`y`\\n::error::owned" in result.stdout
    assert not any(line.lstrip().startswith("::") for line in result.stdout.splitlines())
    body = str(mlci_comments(github)[0]["body"])
    assert html_tags(body) <= {
        "<details>",
        "</details>",
        "<summary>",
        "</summary>",
        "<sub>",
        "</sub>",
    }
    for table in parse_tables(body):
        assert {len(row) for row in table} == {len(table[0])}
    assert "acc|<script>x</script> @\u200boctocat #\u200b1 `y` ::error::owned" in [
        row[0] for table in parse_tables(body) for row in table
    ]


def test_fork_safe_flow(
    mlci: Invoker,
    ml_repo: GitRepo,
    github: FakeGitHub,
    actions: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 1. the pull request's job: read-only token, no posting, an artifact
    monkeypatch.setenv("GITHUB_TOKEN", "read-only")
    artifact = tmp_path / "artifact"
    result = mlci("check", "--comment-artifact", artifact, cwd=ml_repo.path)
    assert result.exit_code == 0, result.stderr
    assert f"mlci: wrote the PR comment for pull request #7 to {artifact}" in result.stderr
    assert (artifact / "pr-number").read_text() == "7\n"
    body = (artifact / "comment.md").read_text()
    assert body.startswith("<!-- mlci:report id=default -->\n### ✅ mlci report: passed")
    assert github.calls() == []
    # 2. the workflow_run job: the base repository's token, the artifact downloaded
    run = tmp_path / "run.json"
    run.write_text(json.dumps({"workflow_run": {"head_sha": HEAD, "pull_requests": []}}))
    monkeypatch.setenv("GITHUB_EVENT_NAME", "workflow_run")
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(run))
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    posted = mlci("comment", "--from-artifact", artifact, cwd=tmp_path)
    assert posted.exit_code == 0, posted.stderr
    comment = mlci_comments(github)[0]
    assert comment["body"] == body
    assert posted.stdout == f"{comment['html_url']}\n"
    assert github.calls()[0] == ("GET", f"/repos/{REPO}/pulls/7")
    # 3. a stale or forged artifact: the PR's head is not the run's commit
    run.write_text(json.dumps({"workflow_run": {"head_sha": "1" * 40, "pull_requests": []}}))
    stale = mlci("comment", "--from-artifact", artifact, cwd=tmp_path)
    assert stale.exit_code == 0
    assert stale.stderr == (
        f"mlci: not posting: pull request #7 is at {HEAD[:12]}, but the run that made the "
        "artifact was for 111111111111 (a newer push posts its own report)\n"
    )


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {"comment.md": "hi", "pr-number": "0"},
            "pr-number: pull request number '0' is not a positive integer",
        ),
        (
            {"comment.md": "hi", "pr-number": "7; rm -rf /"},
            "pr-number: pull request number '7; rm -rf /' is not a positive integer",
        ),
        (
            {"comment.md": "hi", "pr-number": "-3"},
            "pr-number: pull request number '-3' is not a positive integer",
        ),
        (
            {"comment.md": "x" * 270_000, "pr-number": "7"},
            "comment.md: comment body is larger than 262,144 bytes (the artifact is not mlci's)",
        ),
        (
            {"pr-number": "7"},
            ": comment artifact has no comment.md (write it with `mlci check --comment-artifact DIR`)",
        ),
    ],
)
def test_untrusted_artifact_is_checked(
    mlci: Invoker,
    tmp_path: Path,
    files: dict[str, str],
    message: str,
    github: FakeGitHub,
    actions: dict[str, Path],
) -> None:
    artifact = tmp_path / "artifact"
    artifact.mkdir()
    for name, text in files.items():
        (artifact / name).write_text(text)
    result = mlci("comment", "--from-artifact", "artifact", cwd=tmp_path)
    assert result.exit_code == 2
    assert (
        result.stderr
        == f"mlci: error: artifact{'/' if not message.startswith(':') else ''}{message}\n"
    )
    assert github.calls() == []


def test_artifact_without_a_pull_request_posts_nothing(
    mlci: Invoker, tmp_path: Path, github: FakeGitHub
) -> None:
    artifact = tmp_path / "artifact"
    artifact.mkdir()
    (artifact / "comment.md").write_text("hi")
    result = mlci("comment", "--from-artifact", artifact, cwd=tmp_path)
    assert result.exit_code == 0
    assert result.stderr == "mlci: the artifact is not for a pull request: nothing to post\n"


def test_comment_body_file_outside_actions(
    mlci: Invoker, tmp_path: Path, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    report = tmp_path / "report.md"
    report.write_text("<!-- mlci:report id=nightly -->\n### hello\n")
    args = ("comment", "--body-file", report, "--repo", REPO, "--pr", "7", "--api-url", github.url)
    first = mlci(*args, cwd=tmp_path)
    assert first.exit_code == 0, first.stderr
    assert first.stderr == "mlci: PR comment created\n"
    report.write_text("<!-- mlci:report id=nightly -->\n### hello again\n")
    second = mlci(*args, cwd=tmp_path)
    assert second.stderr == "mlci: PR comment updated\n"
    assert first.stdout == second.stdout
    assert [c["body"] for c in mlci_comments(github)] == [
        "<!-- mlci:report id=nightly -->\n### hello again\n"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "Error: give exactly one of --body-file FILE and --from-artifact DIR\n"),
        (
            ("--body-file", "a", "--from-artifact", "b"),
            "Error: give exactly one of --body-file FILE and --from-artifact DIR\n",
        ),
        (
            ("--from-artifact", "b", "--pr", "3"),
            "Error: --pr cannot be combined with --from-artifact (it holds the PR)\n",
        ),
        (
            ("--body-file", "a", "--report-id", "a b"),
            "Error: Invalid value for '--report-id': may hold only letters, digits, '_', '.', '-' (1-64 characters)\n",
        ),
    ],
)
def test_comment_usage_errors(
    mlci: Invoker, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    result = mlci("comment", *args, cwd=tmp_path)
    assert result.exit_code == 2
    assert result.stderr.endswith(message)


def test_comment_without_token_or_target(mlci: Invoker, tmp_path: Path) -> None:
    (tmp_path / "r.md").write_text("hi")
    result = mlci("comment", "--body-file", "r.md", cwd=tmp_path)
    assert result.exit_code == 2
    assert result.stderr == (
        "mlci: error: no repository to post to: GITHUB_REPOSITORY is not set "
        "(pass --repo OWNER/NAME)\n"
    )
    result = mlci("comment", "--body-file", "r.md", "--repo", REPO, "--pr", "7", cwd=tmp_path)
    assert result.stderr == (
        "mlci: error: no GitHub token: GITHUB_TOKEN is not set (in the workflow step add "
        "`env: GITHUB_TOKEN: ${{ github.token }}`, or pass --token)\n"
    )
    result = mlci("comment", "--body-file", "missing.md", "--repo", REPO, "--pr", "7", cwd=tmp_path)
    assert (
        result.stderr == "mlci: error: missing.md: comment body file not found (check the path)\n"
    )


def test_broken_event_payload_still_writes_summary_and_outputs(
    mlci: Invoker,
    ml_repo: GitRepo,
    github: FakeGitHub,
    actions: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("[1,")
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(broken))
    result = mlci("check", "--comment", cwd=ml_repo.path)
    assert result.exit_code == 0
    assert result.stderr.splitlines()[:2] == [
        f"mlci: warning: {broken}:1:4: GitHub event payload is not valid JSON: Expecting value",
        "mlci: not a pull request: no PR comment posted",
    ]
    assert outputs(actions["output"])["passed"] == "true"
    assert "### ✅ mlci report: passed" in actions["summary"].read_text()


def test_comment_and_summary_link_to_the_html_report(
    mlci: Invoker, ml_repo: GitRepo, github: FakeGitHub, actions: dict[str, Path]
) -> None:
    result = mlci(
        "check", "--comment", "-o", "report.json", "--html", "report.html", cwd=ml_repo.path
    )
    assert result.exit_code == 0, result.stderr
    link = "[HTML report with charts](https://github.test/octo/repo/actions/runs/99#artifacts)"
    assert link in str(mlci_comments(github)[0]["body"])
    assert link in actions["summary"].read_text()
    assert (ml_repo.path / "report.html").read_text().startswith("<!doctype html>")
    assert json.loads((ml_repo.path / "report.json").read_text())["status"] == "passed"


def _push(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sha: str) -> None:
    """The event of a new push to pull request 7: its head is `sha`."""
    event = tmp_path / f"event-{sha[:4]}.json"
    event.write_text(json.dumps({"pull_request": {"number": 7, "head": {"sha": sha}}}))
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))


def test_the_comment_keeps_the_earlier_pushes(
    mlci: Invoker,
    ml_repo: GitRepo,
    github: FakeGitHub,
    actions: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Three pushes: the second comment shows the first push's gated metrics, the third both
    (so a reviewer sees the third push undo the second's gain); the names users wrote in gates
    are escaped, and the hidden block under the comment is all that carries them."""
    from mlci.github.pushes import read_pushes

    name = "acc|<b>x</b> @octocat"
    ml_repo.write(
        "mlci.yaml",
        "metrics:\n  files: [metrics.json]\ngates:\n"
        f"  - metric: {json.dumps(name)}\n    min: 0.5\n  - metric: loss\n    max: 1\n",
    )
    ml_repo.write("metrics.json", '{"loss": 0.4}')
    ml_repo.commit("base with the gate")
    pushes = [("a" * 40, 0.90, 0.40), ("b" * 40, 0.95, 0.35), ("c" * 40, 0.91, 0.38)]
    bodies = []
    for sha, accuracy, loss in pushes:
        github.add_pull(REPO, 7, head_sha=sha)
        _push(tmp_path, monkeypatch, sha)
        ml_repo.write("metrics.json", json.dumps({name: accuracy, "loss": loss}))
        result = mlci("check", "--comment", cwd=ml_repo.path)
        assert result.exit_code == 0, result.stderr
        comments = mlci_comments(github)
        assert len(comments) == 1
        bodies.append(str(comments[0]["body"]))

    assert "This pull request's pushes" not in bodies[0]
    table = next(t for t in parse_tables(bodies[2]) if t[0][0] == "Push")
    assert table == [
        ["Push", name.replace("@", "@\u200b"), "loss"],
        ["aaaaaaa", "0.9", "0.4"],
        ["bbbbbbb", "0.95", "0.35"],
        ["ccccccc (this push)", "0.91", "0.38"],
    ]
    second = next(t for t in parse_tables(bodies[1]) if t[0][0] == "Push")
    assert [row[0] for row in second[1:]] == ["aaaaaaa", "bbbbbbb (this push)"]
    assert html_tags(bodies[2]) <= {"<details>", "</details>", "<summary>", "</summary>"} | {
        "<details open>",
        "<sub>",
        "</sub>",
    }
    kept = read_pushes(bodies[2])
    assert [(push.commit, push.values) for push in kept] == [
        (sha, {name: accuracy, "loss": loss}) for sha, accuracy, loss in pushes
    ]
    # A re-run of the last push replaces its entry instead of adding one.
    mlci("check", "--comment", cwd=ml_repo.path)
    assert len(read_pushes(str(mlci_comments(github)[0]["body"]))) == 3


@pytest.mark.usefixtures("actions")  # a pull request's job
def test_the_comment_of_several_projects_keeps_each_projects_earlier_pushes(
    mlci: Invoker,
    ml_repo: GitRepo,
    github: FakeGitHub,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`mlci check --all`: the repository's report has no gates of its own; the pushes table
    keeps every project's gated metrics, named by project."""
    from mlci.github.pushes import read_pushes

    ml_repo.write("mlci.yaml", "projects: [churn, ltv]\n")
    ml_repo.write(
        "churn/mlci.yaml", "metrics: {files: [m.json]}\ngates: [{metric: auc, min: 0.5}]\n"
    )
    ml_repo.write("ltv/mlci.yaml", "metrics: {files: [m.json]}\ngates: [{metric: rmse, max: 4}]\n")
    bodies = []
    for sha, auc, rmse in [("a" * 40, 0.80, 3.0), ("b" * 40, 0.84, 2.5)]:
        github.add_pull(REPO, 7, head_sha=sha)
        _push(tmp_path, monkeypatch, sha)
        ml_repo.write("churn/m.json", json.dumps({"auc": auc}))
        ml_repo.write("ltv/m.json", json.dumps({"rmse": rmse}))
        result = mlci("check", "--all", "--comment", cwd=ml_repo.path)
        assert result.exit_code == 0, result.stderr
        bodies.append(str(mlci_comments(github)[0]["body"]))

    assert "This pull request's pushes" not in bodies[0]
    table = next(t for t in parse_tables(bodies[1]) if t[0][0] == "Push")
    assert table == [
        ["Push", "churn: auc", "ltv: rmse"],
        ["aaaaaaa", "0.8", "3.0"],
        ["bbbbbbb (this push)", "0.84", "2.5"],
    ]
    assert [push.values for push in read_pushes(bodies[1])] == [
        {"churn: auc": 0.80, "ltv: rmse": 3.0},
        {"churn: auc": 0.84, "ltv: rmse": 2.5},
    ]


def test_a_forged_pushes_block_is_ignored(
    mlci: Invoker,
    ml_repo: GitRepo,
    github: FakeGitHub,
    actions: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Someone edits the comment's hidden block: what does not parse strictly is dropped, and
    the comment starts again from this push."""
    import base64

    from mlci.github.pushes import read_pushes

    first = mlci("check", "--comment", cwd=ml_repo.path)
    assert first.exit_code == 0, first.stderr
    comment = mlci_comments(github)[0]
    forged = base64.urlsafe_b64encode(
        json.dumps(
            {"pushes": [{"commit": "d" * 40, "values": [["<img src=x>", "1e999"]]}]}
        ).encode()
    ).decode()
    body = (
        str(comment["body"]).rsplit("<!-- mlci:pushes", 1)[0]
        + f"<!-- mlci:pushes v1 {forged} -->\n"
    )
    with github._lock:  # edited on the server, as a person with write access could
        for stored in github._pulls[(REPO, 7)].comments:
            if stored["id"] == comment["id"]:
                stored["body"] = body
    _push(tmp_path, monkeypatch, "e" * 40)
    github.add_pull(REPO, 7, head_sha="e" * 40)
    second = mlci("check", "--comment", cwd=ml_repo.path)
    assert second.exit_code == 0, second.stderr
    posted = str(mlci_comments(github)[0]["body"])
    assert "<img" not in posted
    assert "This pull request's pushes" not in posted
    assert [push.commit for push in read_pushes(posted)] == ["e" * 40]


def test_annotations_count_across_commands_of_a_step_and_of_the_job(
    mlci: Invoker,
    ml_repo: GitRepo,
    actions: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GitHub shows 10 annotations of each type per step and 50 per job: mlci counts what it
    wrote in earlier commands of the step and of the job (it cannot see other tools'), and the
    job summary says how many it left out."""
    gates = "".join(f"  - metric: m{i}\n    min: 1\n" for i in range(8))
    ml_repo.write("mlci.yaml", f"metrics:\n  files: [metrics.json]\ngates:\n{gates}")
    ml_repo.write("metrics.json", json.dumps({f"m{i}": 0.5 for i in range(8)}))
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    monkeypatch.setenv("RUNNER_TEMP", str(temp))

    def errors_written(step: str) -> int:
        monkeypatch.setenv("GITHUB_ACTION", step)
        result = mlci("check", cwd=ml_repo.path)
        assert result.exit_code == 1, result.stderr
        return result.stdout.count("::error ")

    assert errors_written("__run") == 8
    summary = actions["summary"]
    assert "not shown as annotations" not in (summary.read_text() if summary.exists() else "")
    assert errors_written("__run") == 2  # the same step: 10 errors in all
    assert (
        "> 6 errors of this report are not shown as annotations: GitHub shows at most 10 of "
        "each type per step and 50 per job (mlci's earlier commands in this job wrote 8). Other "
        "tools' annotations count too, and mlci cannot see them: GitHub may show fewer."
    ) in summary.read_text()
    for step in ("__run_2", "__run_3", "__run_4", "__run_5"):  # 8 + 2 + a notice + 4 x 8 = 43
        assert errors_written(step) == 8
    assert errors_written("__run_6") == 6  # and a notice saying the rest: 50 in the job
    assert errors_written("__run_7") == 0
