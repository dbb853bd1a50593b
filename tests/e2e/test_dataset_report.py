"""The dataset comparison as a reviewer reads it, from real `mlci check` runs on a real git
repository: a PR drops a column, changes a dtype and shifts a numeric column. The markdown
comment (parsed back as GitHub renders it), the text and the JSON show the same typed fields."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
from conftest import GitRepo, Invoker
from markdown_parse import parse_tables

from mlci.report.markdown_text import escape_markdown

CONFIG = """\
datasets:
  - name: people
    path: people.csv
    schema: schema.yaml
    forbid_breaking_changes: true
    drift:
      max_ks: 0.1
      max_psi: 0.2
"""


def write_base(repo: Path) -> None:
    rng = np.random.default_rng(0)
    pd.DataFrame(
        {
            "age": rng.normal(40, 10, 500).round(1),
            "income": rng.integers(1000, 5000, 500),
            "city": rng.choice(["oslo", "lima", "rome"], 500),
            "note": ["x"] * 500,
        }
    ).to_csv(repo / "people.csv", index=False)
    pa.DataFrameSchema(
        {
            "age": pa.Column(float, pa.Check.in_range(0, 200)),
            "income": pa.Column(int),
            "city": pa.Column(str),
            "note": pa.Column(str),
        }
    ).to_yaml(repo / "schema.yaml")


def write_pr(repo: Path) -> None:
    """`note` dropped, `income` now float, `age` shifted by 15 years."""
    rng = np.random.default_rng(1)
    pd.DataFrame(
        {
            "age": rng.normal(55, 10, 480).round(1),
            "income": rng.integers(1000, 5000, 480).astype(float),
            "city": rng.choice(["oslo", "lima", "rome"], 480),
        }
    ).to_csv(repo / "people.csv", index=False)
    pa.DataFrameSchema(
        {
            "age": pa.Column(float, pa.Check.in_range(0, 200)),
            "income": pa.Column(float),
            "city": pa.Column(str),
        }
    ).to_yaml(repo / "schema.yaml")


def test_schema_changes_and_drift_in_markdown_text_and_json(
    mlci: Invoker, git_repo: GitRepo
) -> None:
    git_repo.write("mlci.yaml", CONFIG)
    write_base(git_repo.path)
    git_repo.commit("base")
    write_pr(git_repo.path)

    markdown = mlci("check", "--base", "HEAD", "--format", "markdown", cwd=git_repo.path)
    assert markdown.exit_code == 1, markdown.stderr
    body = markdown.stdout
    assert "#### Schema changes" in body
    assert "people: 2 schema changes against HEAD, 2 breaking" in body
    assert "#### Data drift" in body
    assert "people against HEAD: rows 500 → 480, -note" in body
    assert "{" not in body.split("#### Schema changes")[1]  # no JSON anywhere in the data part
    tables = parse_tables(body)
    schema = next(t for t in tables if t[0][0] == "Column" and "Breaking" in t[0])
    assert schema == [
        ["Column", "Change", "Before", "After", "Breaking"],
        ["note", "column removed", "str", "-", "yes"],
        ["income", "dtype int64 → float64", "int64", "float64", "yes"],
    ]
    drift = next(t for t in tables if t[0] == ["Column", "Statistic", "Value", "Limit", "Verdict"])
    assert [row[:2] + row[3:] for row in drift[1:]] == [
        ["age", "KS", "0.1", "FAIL"],
        ["age", "null rate change", "-", "no limit"],
        ["income", "KS", "0.1", "pass"],
        ["income", "null rate change", "-", "no limit"],
        ["city", "PSI", "0.2", "pass"],
        ["city", "null rate change", "-", "no limit"],
    ]

    report = json.loads(
        mlci("check", "--base", "HEAD", "--format", "json", cwd=git_repo.path).stdout
    )
    (dataset,) = report["datasets"]
    comparison = dataset["comparison"]
    assert (comparison["status"], comparison["base"]) == ("compared", "HEAD")
    assert comparison["sha"] == git_repo.git("rev-parse", "HEAD").strip()
    assert comparison["schema"]["changes"] == [
        {
            "column": "note",
            "kind": "column_removed",
            "before": "str",
            "after": None,
            "breaking": True,
            "detail": "column removed",
        },
        {
            "column": "income",
            "kind": "dtype_changed",
            "before": "int64",
            "after": "float64",
            "breaking": True,
            "detail": "dtype int64 → float64",
        },
    ]
    data = comparison["data"]
    assert (data["rows_before"], data["rows_after"], data["columns_removed"]) == (
        500,
        480,
        ["note"],
    )
    shown = {(row[0], row[1]): row[2] for row in drift[1:]}
    for row in data["drift"]:
        name = {"ks": "KS", "psi": "PSI", "null_rate_change": "null rate change"}[row["statistic"]]
        assert shown[(row["column"], name)].startswith(str(round(row["value"], 5)))
    assert [(r["column"], r["statistic"], r["verdict"]) for r in data["drift"] if r["limit"]] == [
        ("age", "ks", "failed"),
        ("income", "ks", "passed"),
        ("city", "psi", "passed"),
    ]

    text = mlci("check", "--base", "HEAD", cwd=git_repo.path).stdout
    assert "Schema changes of people: 2 breaking" in text
    assert "Data changes of people: rows 500 → 480, -note" in text


def test_nothing_changed_and_not_compared_are_said_plainly(
    mlci: Invoker, git_repo: GitRepo, tmp_path: Path
) -> None:
    git_repo.write("mlci.yaml", CONFIG)
    write_base(git_repo.path)
    git_repo.commit("base")
    body = mlci("check", "--base", "HEAD", "--format", "markdown", cwd=git_repo.path).stdout
    assert "**people**: No schema change against HEAD." in body
    assert "Breaking" not in body

    outside = tmp_path / "no-git"
    outside.mkdir()
    (outside / "mlci.yaml").write_text(CONFIG)
    write_base(outside)
    body = mlci("check", "--format", "markdown", cwd=outside).stdout
    assert (
        f"**people**: Not compared with the base: no git base revision to compare with: "
        f"{escape_markdown(str(outside))} is not inside a git repository."
    ) in body
