"""`mlci schema diff` classes a table of known changes; `mlci schema infer` round-trips."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.pandas as pa
import pytest
from conftest import GitRepo, Invoker

from mlci.checks.schema_diff import describe, diff_schemas

BASE = {
    "id": pa.Column(int, pa.Check.ge(0), unique=True),
    "age": pa.Column(int, pa.Check.in_range(0, 120)),
    "city": pa.Column(str, pa.Check.isin(["oslo", "lima"])),
    "note": pa.Column(str, nullable=True),
    "name": pa.Column(str, pa.Check.str_length(1, 50)),
    "extra": pa.Column(str, required=False),
}


def changed(**columns: Any) -> pa.DataFrameSchema:
    merged = {**BASE, **columns}
    return pa.DataFrameSchema({k: v for k, v in merged.items() if v is not None})


# (the new schema, the one change expected: (kind, column, breaking, detail))
KNOWN_CHANGES = [
    (changed(note=None), ("column_removed", "note", True, "column removed")),
    (
        changed(score=pa.Column(float, required=False)),
        ("column_added", "score", False, "optional column added"),
    ),
    (changed(score=pa.Column(float)), ("column_added", "score", True, "required column added")),
    (
        changed(age=pa.Column(float, pa.Check.in_range(0, 120))),
        ("dtype_changed", "age", True, "dtype int64 → float64"),
    ),
    (changed(note=pa.Column(str)), ("nullable_changed", "note", True, "nullable true → false")),
    (
        changed(name=pa.Column(str, pa.Check.str_length(1, 50), nullable=True)),
        ("nullable_changed", "name", False, "nullable false → true"),
    ),
    (
        changed(id=pa.Column(int, pa.Check.ge(0))),
        ("unique_changed", "id", False, "unique true → false"),
    ),
    (
        changed(extra=pa.Column(str)),
        ("required_changed", "extra", True, "required false → true"),
    ),
    (
        changed(id=pa.Column(int, pa.Check.ge(1), unique=True)),
        (
            "check_changed",
            "id",
            True,
            "check greater_than_or_equal_to(0) tightened to greater_than_or_equal_to(1)",
        ),
    ),
    (
        changed(id=pa.Column(int, pa.Check.ge(-10), unique=True)),
        (
            "check_changed",
            "id",
            False,
            "check greater_than_or_equal_to(0) loosened to greater_than_or_equal_to(-10)",
        ),
    ),
    (
        changed(age=pa.Column(int, pa.Check.in_range(0, 150))),
        (
            "check_changed",
            "age",
            False,
            "check in_range(min_value=0, max_value=120, include_min=True, include_max=True) "
            "loosened to in_range(min_value=0, max_value=150, include_min=True, include_max=True)",
        ),
    ),
    (
        changed(age=pa.Column(int, pa.Check.in_range(0, 120, include_max=False))),
        (
            "check_changed",
            "age",
            True,
            "check in_range(min_value=0, max_value=120, include_min=True, include_max=True) "
            "tightened to in_range(min_value=0, max_value=120, include_min=True, include_max=False)",
        ),
    ),
    (
        changed(city=pa.Column(str, pa.Check.isin(["oslo", "lima", "rome"]))),
        (
            "check_changed",
            "city",
            False,
            "check isin(['oslo', 'lima']) loosened to isin(['oslo', 'lima', 'rome'])",
        ),
    ),
    (
        changed(city=pa.Column(str, pa.Check.isin(["oslo"]))),
        ("check_changed", "city", True, "check isin(['oslo', 'lima']) tightened to isin(['oslo'])"),
    ),
    (
        changed(city=pa.Column(str, pa.Check.isin(["oslo", "rome"]))),
        (
            "check_changed",
            "city",
            True,
            "check isin(['oslo', 'lima']) changed to isin(['oslo', 'rome'])",
        ),
    ),
    (
        changed(note=pa.Column(str, pa.Check.str_matches("^n"), nullable=True)),
        ("check_added", "note", True, "check str_matches('^n') added"),
    ),
    (
        changed(name=pa.Column(str)),
        (
            "check_removed",
            "name",
            False,
            "check str_length(min_value=1, max_value=50, exact_value=None) removed",
        ),
    ),
]


@pytest.mark.parametrize(
    ("new", "expected"), KNOWN_CHANGES, ids=[c[1][0] + ":" + c[1][3] for c in KNOWN_CHANGES]
)
def test_known_change_is_classed(new: pa.DataFrameSchema, expected: tuple[Any, ...]) -> None:
    changes = diff_schemas(describe(changed()), describe(new))
    assert [(c.kind, c.column, c.breaking, c.detail) for c in changes] == [expected]


def test_schema_options() -> None:
    old = pa.DataFrameSchema({"a": pa.Column(int)}, strict=False, coerce=True)
    new = pa.DataFrameSchema({"a": pa.Column(int)}, strict=True, coerce=False)
    changes = diff_schemas(describe(old), describe(new))
    assert [(c.detail, c.breaking) for c in changes] == [
        ("schema strict: False → True", True),
        ("schema coerce: True → False", True),
    ]
    assert diff_schemas(describe(old), describe(old)) == []


def test_cli_diff_of_files_and_revisions(mlci: Invoker, git_repo: GitRepo) -> None:
    changed().to_yaml(git_repo.path / "schema.yaml")
    git_repo.commit("schema")
    changed(note=None, score=pa.Column(float, required=False)).to_yaml(
        git_repo.path / "schema.yaml"
    )
    result = mlci("schema", "diff", "HEAD:schema.yaml", "schema.yaml", cwd=git_repo.path)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        "Schema changes HEAD:schema.yaml → schema.yaml: 1 breaking, 1 compatible\n"
        "Column  Change                 Kind\n"
        "------  ---------------------  ----------\n"
        "note    column removed         BREAKING\n"
        "score   optional column added  compatible\n"
    )
    result = mlci(
        "schema",
        "diff",
        "HEAD:schema.yaml",
        "schema.yaml",
        "--format",
        "json",
        "--fail-on-breaking",
        cwd=git_repo.path,
    )
    assert result.exit_code == 1
    body = json.loads(result.stdout)
    assert (body["breaking"], body["compatible"]) == (1, 1)
    same = mlci("schema", "diff", "schema.yaml", "schema.yaml", cwd=git_repo.path)
    assert (same.exit_code, same.stdout) == (0, "no schema changes schema.yaml → schema.yaml\n")
    missing = mlci("schema", "diff", "HEAD:nope.yaml", "schema.yaml", cwd=git_repo.path)
    assert missing.exit_code == 2
    assert missing.stderr == (
        "mlci: error: schema file 'nope.yaml' does not exist at revision 'HEAD' "
        "(paths after REV: are relative to the repository top (or start with ./))\n"
    )


@pytest.mark.parametrize("engine", ["pandas", "polars"])
def test_infer_writes_a_schema_validate_reads(mlci: Invoker, tmp_path: Path, engine: str) -> None:
    frame = pd.DataFrame({"id": [1, 2, 3], "x": [0.5, 1.5, None], "kind": ["a", "b", "a"]})
    frame.to_csv(tmp_path / "d.csv", index=False)
    result = mlci("schema", "infer", "d.csv", "-o", "schema.yaml", "--engine", engine, cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == "wrote schema.yaml (3 columns)\n"
    text = (tmp_path / "schema.yaml").read_text()
    assert text.startswith(
        "schema_type: dataframe\napi: pandas\n"
        if engine == "pandas"
        else "schema_type: polars_dataframe\napi: polars\n"
    )
    assert "index:" not in text
    ok = mlci("validate", "d.csv", "-s", "schema.yaml", "--engine", engine, cwd=tmp_path)
    assert ok.exit_code == 0, ok.stdout + ok.stderr
    (tmp_path / "d2.csv").write_text("id,x,kind\n1,0.5,a\n9,7.5,b\n")
    bad = mlci("validate", "d2.csv", "-s", "schema.yaml", "--engine", engine, cwd=tmp_path)
    assert bad.exit_code == 1


def test_infer_to_json_and_stdout(mlci: Invoker, tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("a\n1\n2\n")
    printed = mlci("schema", "infer", "d.csv", cwd=tmp_path)
    assert printed.stdout == (
        "schema_type: dataframe\napi: pandas\ncolumns:\n  a:\n    dtype: int64\n"
        "    greater_than_or_equal_to: 1.0\n    less_than_or_equal_to: 2.0\ncoerce: true\n"
    )
    mlci("schema", "infer", "d.csv", "-o", "s.json", cwd=tmp_path)
    assert json.loads((tmp_path / "s.json").read_text())["columns"]["a"]["dtype"] == "int64"
    assert mlci("validate", "d.csv", "-s", "s.json", cwd=tmp_path).exit_code == 0
