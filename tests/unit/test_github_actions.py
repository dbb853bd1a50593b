"""The Actions runner's interfaces: workflow-command escaping and caps, multiline-safe outputs,
the job summary's size limit, and settings read from the environment and event payload."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlci.errors import GitHubError, InputFileError
from mlci.github.actions import (
    Annotation,
    annotation_commands,
    append_step_summary,
    escape_data,
    escape_property,
    format_outputs,
)
from mlci.github.annotations import report_annotations
from mlci.github.settings import load_settings
from mlci.report.model import CheckFailure, DatasetResult, FailureCase, GateResult, Problem, Report


def test_escaping_follows_actions_core() -> None:
    assert escape_data("100%\r\n::error::x") == "100%25%0D%0A::error::x"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_annotation_command() -> None:
    annotation = Annotation(
        "error",
        "loss rose\n::warning::injected",
        title="gate: loss, max",
        file="dir,x/mlci:1.yaml",
        line=12,
    )
    assert annotation.command() == (
        "::error file=dir%2Cx/mlci%3A1.yaml,line=12,title=gate%3A loss%2C max::"
        "loss rose%0A::warning::injected"
    )
    assert Annotation("notice", "plain").command() == "::notice::plain"


def test_annotations_are_capped_per_level_with_a_note() -> None:
    annotations = [Annotation("error", f"e{i}") for i in range(13)]
    annotations += [Annotation("warning", f"w{i}") for i in range(2)]
    commands = annotation_commands(annotations).commands
    assert commands == [
        *(f"::error::e{i}" for i in range(10)),
        "::warning::w0",
        "::warning::w1",
        "::notice title=More mlci findings::mlci: 3 errors more than GitHub shows as "
        "annotations; the job summary lists them all.",
    ]


def test_outputs_use_a_delimiter_absent_from_the_value() -> None:
    text = format_outputs({"passed": "true", "headline": "a\nb"}, delimiter="EOF")
    assert text == "passed<<EOF\ntrue\nEOF\nheadline<<EOF\na\nb\nEOF\n"
    tricky = format_outputs({"x": "line\nEOF\nmore"}, delimiter="EOF")
    _name, rest = tricky.split("<<", 1)
    delimiter = rest.split("\n", 1)[0]
    assert delimiter.startswith("ghadelimiter_")
    assert tricky == f"x<<{delimiter}\nline\nEOF\nmore\n{delimiter}\n"


def test_random_delimiters_differ() -> None:
    first = format_outputs({"a": "1"}).split("\n")[0]
    second = format_outputs({"a": "1"}).split("\n")[0]
    assert first != second
    assert first.startswith("a<<ghadelimiter_")


def test_summary_is_appended_within_the_limit(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step output\n")
    written = append_step_summary(summary, "é" * 100, limit=50)
    assert written == 30  # 50 - 20 bytes already there, never half a character
    assert summary.read_text() == "earlier step output\n" + "é" * 15


def test_summary_in_a_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputFileError) as caught:
        append_step_summary(tmp_path / "no" / "summary.md", "x")
    assert str(caught.value).startswith(
        f"{tmp_path / 'no' / 'summary.md'}: cannot write the job summary: "
    )


def _event(tmp_path: Path, payload: object) -> str:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload))
    return str(path)


def test_settings_from_a_pull_request_event(tmp_path: Path) -> None:
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": "octo/repo",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": _event(
            tmp_path, {"pull_request": {"number": 42, "head": {"sha": "b" * 40}}}
        ),
        "GITHUB_SHA": "c" * 40,  # the merge commit: the head SHA wins
        "GITHUB_TOKEN": "t",
        "GITHUB_API_URL": "https://ghe.example/api/v3",
        "GITHUB_SERVER_URL": "https://ghe.example",
        "GITHUB_RUN_ID": "123",
    }
    settings = load_settings(env)
    assert (settings.repository, settings.pr_number, settings.head_sha) == (
        "octo/repo",
        42,
        "b" * 40,
    )
    assert settings.api_url == "https://ghe.example/api/v3"
    assert settings.run_url == "https://ghe.example/octo/repo/actions/runs/123"
    assert str(settings.token) == "***"
    overridden = load_settings(
        env, repository="a/b", pr_number=5, head_sha="d" * 7, api_url="http://127.0.0.1:1"
    )
    assert (overridden.repository, overridden.pr_number, overridden.head_sha) == ("a/b", 5, "d" * 7)
    assert overridden.api_url == "http://127.0.0.1:1"


def test_settings_from_other_events(tmp_path: Path) -> None:
    issue_comment = {"issue": {"number": 8, "pull_request": {"url": "x"}}}
    assert load_settings({"GITHUB_EVENT_PATH": _event(tmp_path, issue_comment)}).pr_number == 8
    run = {"workflow_run": {"head_sha": "e" * 40, "pull_requests": []}}
    settings = load_settings({"GITHUB_EVENT_PATH": _event(tmp_path, run)})
    assert (settings.pr_number, settings.workflow_run_head_sha) == (None, "e" * 40)
    push = {"ref": "refs/heads/main"}
    assert load_settings({"GITHUB_EVENT_PATH": _event(tmp_path, push)}).pr_number is None
    assert load_settings({"GITHUB_REF": "refs/pull/17/merge"}).pr_number == 17


@pytest.mark.parametrize(
    ("env", "kwargs", "message"),
    [
        (
            {},
            {"repository": "no-slash"},
            "repository 'no-slash' is not OWNER/NAME (pass --repo OWNER/NAME)",
        ),
        ({}, {"api_url": "ftp://x"}, "--api-url 'ftp://x' is not an http(s) URL"),
        ({"GITHUB_API_URL": "nope"}, {}, "GITHUB_API_URL 'nope' is not an http(s) URL"),
        ({}, {"head_sha": "xyz"}, "commit 'xyz' is not a hexadecimal SHA (pass --sha SHA)"),
    ],
)
def test_bad_settings(env: dict[str, str], kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(GitHubError) as caught:
        load_settings(env, **kwargs)  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_malformed_event_payload(tmp_path: Path) -> None:
    path = tmp_path / "event.json"
    path.write_text("{\n  nope")
    with pytest.raises(InputFileError) as caught:
        load_settings({"GITHUB_EVENT_PATH": str(path)})
    assert str(caught.value) == (
        f"{path}:2:3: GitHub event payload is not valid JSON: Expecting property name enclosed "
        "in double quotes"
    )


def test_missing_target_and_token_are_explained() -> None:
    settings = load_settings({})
    with pytest.raises(GitHubError) as caught:
        settings.require_target()
    assert str(caught.value) == (
        "no repository to post to: GITHUB_REPOSITORY is not set (pass --repo OWNER/NAME)"
    )
    with pytest.raises(GitHubError) as caught:
        settings.require_token()
    assert str(caught.value) == (
        "no GitHub token: GITHUB_TOKEN is not set (in the workflow step add `env: GITHUB_TOKEN: "
        "${{ github.token }}`, or pass --token)"
    )


CONFIG = """\
version: 1
metrics:
  files: [metrics.json]
gates:
  - metric: accuracy
    min: 0.9
  - metric: loss
    name: loss guard
    max_increase: 0.01
    max: 1.0
"""


def test_annotations_point_at_the_gate_rule_and_the_data(tmp_path: Path) -> None:
    config = tmp_path / "ml" / "mlci.yaml"
    config.parent.mkdir()
    config.write_text(CONFIG)
    report = Report(
        gates=[
            GateResult("accuracy", "min", "failed", "0.8 < 0.9", observed=0.8, limit=0.9),
            GateResult("loss", "max", "passed", "ok"),
            GateResult(
                "loss", "max_increase", "warned", "rose", gate="loss guard", severity="warning"
            ),
        ],
        datasets=[
            DatasetResult(
                "train",
                "data/train.csv",
                "schema.yaml",
                "invalid",
                failures=[
                    CheckFailure(
                        "column_in_dataframe",
                        "age",
                        1,
                        schema_level=True,
                        cases=[FailureCase("age")],
                        line=4,
                    ),
                    CheckFailure(
                        "greater_than(0)",
                        "x",
                        2,
                        cases=[FailureCase(-1, 3, 5), FailureCase(-2, 8, 10)],
                    ),
                ],
            )
        ],
        problems=[
            Problem("diff", "metrics.json is not JSON", str(tmp_path / "ml" / "metrics.json"), 2)
        ],
    )
    commands = annotation_commands(
        report_annotations(report, config_path=config, workspace=tmp_path)
    ).commands
    assert commands == [
        "::error file=ml/mlci.yaml,line=6,title=mlci gate accuracy%3A min failed::0.8 < 0.9 (observed 0.8, limit 0.9)",
        "::error file=ml/schema.yaml,line=4,title=mlci data train%3A column_in_dataframe::column age fails column_in_dataframe; e.g. age",
        "::error file=ml/data/train.csv,line=5,title=mlci data train%3A greater_than(0)::column x fails greater_than(0) on 2 rows; e.g. row 3: -1, row 8: -2",
        "::error file=ml/metrics.json,line=2,title=mlci diff%3A input error::metrics.json is not JSON",
        "::warning file=ml/mlci.yaml,line=9,title=mlci gate loss guard%3A max_increase warned::rose",
    ]


def test_each_project_annotates_its_own_files(tmp_path: Path) -> None:
    from mlci.report.model import ProjectResult

    churn = tmp_path / "models" / "churn" / "mlci.yaml"
    churn.parent.mkdir(parents=True)
    churn.write_text("gates:\n  - metric: auc\n    min: 0.9\n")
    failed = Report(
        config=str(churn),
        gates=[GateResult("auc", "min", "failed", "0.8 < 0.9", observed=0.8, limit=0.9)],
    )
    report = Report(
        projects=[
            ProjectResult("models/churn", "failed", report=failed),
            ProjectResult("models/ltv", "unchanged", reason="not run"),
            ProjectResult("models/fraud", "error", reason="models/fraud/mlci.yaml: bad"),
        ]
    )
    commands = annotation_commands(
        report_annotations(report, config_path=None, workspace=tmp_path)
    ).commands
    assert commands == [
        "::error file=models/churn/mlci.yaml,line=3,title=mlci gate auc%3A min failed::0.8 < 0.9 (observed 0.8, limit 0.9)",
        "::error title=mlci project models/fraud::models/fraud/mlci.yaml: bad",
    ]
