"""The `datasets` step of `mlci check`: validation, then schema and data changes against the
base revision of a real git repository, with drift and breaking-change gates."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from conftest import GitRepo, Invoker
from scipy import stats

CONFIG = """\
datasets:
  - name: people
    path: people.csv
    schema: schema.yaml
    forbid_breaking_changes: true
    drift:
      max_psi: 0.2
      max_ks: 0.3
      max_null_rate_increase: 0.05
"""


def people(rows: int, shift: float = 0.0, nulls: int = 0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.normal(40 + shift, 10, rows).round(1)
    age[:nulls] = np.nan
    city = rng.choice(
        ["oslo", "lima", "rome"], rows, p=[0.6, 0.3, 0.1] if not shift else [0.1, 0.3, 0.6]
    )
    return pd.DataFrame({"age": age, "city": city})


def schema(**extra: Any) -> pa.DataFrameSchema:
    columns = {
        "age": pa.Column(float, pa.Check.in_range(0, 200), nullable=True),
        "city": pa.Column(str, pa.Check.isin(["oslo", "lima", "rome"])),
    }
    return pa.DataFrameSchema({**columns, **extra})


def check_json(mlci: Invoker, cwd: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = mlci("check", "--format", "json", *args, cwd=cwd)
    assert result.exit_code in (0, 1), result.stderr
    return result.exit_code, json.loads(result.stdout)


def test_unchanged_data_passes_every_gate(mlci: Invoker, git_repo: GitRepo) -> None:
    git_repo.write("mlci.yaml", CONFIG)
    people(500).to_csv(git_repo.path / "people.csv", index=False)
    schema().to_yaml(git_repo.path / "schema.yaml")
    git_repo.commit("data")
    code, report = check_json(mlci, git_repo.path, "--base", "HEAD")
    assert code == 0
    (dataset,) = report["datasets"]
    assert dataset["status"] == "valid"
    comparison = dataset["comparison"]
    assert (comparison["status"], comparison["base"]) == ("compared", "HEAD")
    assert comparison["schema"] == {"status": "compared", "reason": None, "changes": []}
    data = comparison["data"]
    assert (data["rows_before"], data["rows_after"]) == (500, 500)
    assert [
        (c["column"], c["statistic"], c["value"], c["limit"], c["verdict"]) for c in data["drift"]
    ] == [
        ("age", "ks", 0.0, 0.3, "passed"),
        ("age", "null_rate_change", 0.0, 0.05, "passed"),
        ("city", "psi", 0.0, 0.2, "passed"),
        ("city", "null_rate_change", 0.0, 0.05, "passed"),
    ]
    assert [(g["rule"], g["status"]) for g in report["gates"]] == [
        ("forbid_breaking_changes", "passed"),
        ("max_psi", "passed"),
        ("max_ks", "passed"),
        ("max_null_rate_increase", "passed"),
    ]


def test_drift_and_breaking_changes_fail_their_gates(mlci: Invoker, git_repo: GitRepo) -> None:
    git_repo.write("mlci.yaml", CONFIG)
    old = people(500)
    old.to_csv(git_repo.path / "people.csv", index=False)
    schema(note=pa.Column(str, nullable=True, required=False)).to_yaml(
        git_repo.path / "schema.yaml"
    )
    git_repo.commit("data")
    new = people(400, shift=15, nulls=40, seed=1)
    new.to_csv(git_repo.path / "people.csv", index=False)
    schema().to_yaml(git_repo.path / "schema.yaml")  # the optional `note` column is removed
    code, report = check_json(mlci, git_repo.path, "--base", "HEAD")
    assert code == 1
    (dataset,) = report["datasets"]
    assert dataset["status"] == "valid"  # the data fits its schema; the gates fail
    changes = dataset["comparison"]["schema"]["changes"]
    assert [(c["kind"], c["column"], c["breaking"]) for c in changes] == [
        ("column_removed", "note", True)
    ]
    age_ks, age_nulls, city_psi, city_nulls = dataset["comparison"]["data"]["drift"]
    expected_ks = stats.ks_2samp(old["age"].dropna(), new["age"].dropna())
    assert math.isclose(age_ks["value"], expected_ks.statistic)
    assert math.isclose(age_ks["p_value"], expected_ks.pvalue)
    assert age_ks["verdict"] == "failed"
    assert math.isclose(age_nulls["value"], 40 / 400)
    assert (age_nulls["before"], age_nulls["after"], age_nulls["verdict"]) == (0.0, 0.1, "failed")
    p = old["city"].value_counts(normalize=True)
    q = new["city"].value_counts(normalize=True)
    expected_psi = sum((q[k] - p[k]) * math.log(q[k] / p[k]) for k in p.index)
    assert math.isclose(city_psi["value"], expected_psi)
    assert (city_psi["limit"], city_psi["verdict"]) == (0.2, "failed")
    assert city_nulls["verdict"] == "passed"
    gates = {g["rule"]: g for g in report["gates"]}
    assert gates["forbid_breaking_changes"]["status"] == "failed"
    assert gates["forbid_breaking_changes"]["reason"] == (
        "breaking schema changes: note: column removed"
    )
    assert (gates["max_psi"]["status"], gates["max_psi"]["metric"]) == ("failed", "people.city")
    assert (gates["max_ks"]["status"], gates["max_ks"]["metric"]) == ("failed", "people.age")
    assert gates["max_null_rate_increase"]["status"] == "failed"
    assert gates["max_null_rate_increase"]["reason"] == "above 0.05 in: age"
    text = mlci("check", "--base", "HEAD", cwd=git_repo.path).stdout
    assert "Schema changes of people: 1 breaking" in text
    assert "Data changes of people: rows 500 → 400" in text


def test_warning_severity_does_not_fail(mlci: Invoker, git_repo: GitRepo) -> None:
    git_repo.write(
        "mlci.yaml", CONFIG.replace("      max_null", "      severity: warning\n      max_null")
    )
    people(300).to_csv(git_repo.path / "people.csv", index=False)
    schema().to_yaml(git_repo.path / "schema.yaml")
    git_repo.commit("data")
    people(300, shift=20, seed=3).to_csv(git_repo.path / "people.csv", index=False)
    code, report = check_json(mlci, git_repo.path, "--base", "HEAD")
    assert code == 0
    assert {g["rule"]: g["status"] for g in report["gates"]}["max_ks"] == "warned"


def test_invalid_data_fails_the_dataset(mlci: Invoker, git_repo: GitRepo) -> None:
    git_repo.write("mlci.yaml", "datasets:\n  - path: people.csv\n    schema: schema.yaml\n")
    schema().to_yaml(git_repo.path / "schema.yaml")
    git_repo.write("people.csv", "age,city\n30.5,oslo\n250.5,paris\n")
    git_repo.commit("data")
    code, report = check_json(mlci, git_repo.path, "--base", "HEAD")
    assert code == 1
    (dataset,) = report["datasets"]
    assert dataset["status"] == "invalid"
    assert [(f["column"], f["check"], f["failing"]) for f in dataset["failures"]] == [
        ("age", "in_range(0, 200)", 1),
        ("city", "isin(['oslo', 'lima', 'rome'])", 1),
    ]
    assert dataset["failures"][0]["cases"] == [{"value": 250.5, "row": 1, "line": 3}]


def test_without_git_the_comparison_is_skipped(mlci: Invoker, tmp_path: Path) -> None:
    (tmp_path / "mlci.yaml").write_text(CONFIG)
    people(50).to_csv(tmp_path / "people.csv", index=False)
    schema().to_yaml(tmp_path / "schema.yaml")
    code, report = check_json(mlci, tmp_path)
    assert code == 0
    (dataset,) = report["datasets"]
    assert dataset["status"] == "valid"
    assert dataset["comparison"] == {
        "status": "skipped",
        "base": None,
        "sha": None,
        "reason": f"no git base revision to compare with: {tmp_path} is not inside a git repository",
        "schema": None,
        "data": None,
    }
    assert [(g["rule"], g["status"]) for g in report["gates"]] == [
        ("max_psi", "skipped"),
        ("max_ks", "skipped"),
        ("max_null_rate_increase", "skipped"),
    ]
    assert report["problems"] == []


def test_bad_dataset_is_a_problem_and_others_still_run(mlci: Invoker, tmp_path: Path) -> None:
    (tmp_path / "mlci.yaml").write_text(
        "datasets:\n  - path: nope.csv\n    schema: s.yaml\n    compare_base: false\n"
        "  - path: ok.csv\n    schema: s.yaml\n    compare_base: false\n"
    )
    pa.DataFrameSchema({"a": pa.Column(int)}).to_yaml(tmp_path / "s.yaml")
    (tmp_path / "ok.csv").write_text("a\n1\n")
    result = mlci("check", "--format", "json", cwd=tmp_path)
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert [(d["name"], d["status"]) for d in report["datasets"]] == [
        ("nope.csv", "error"),
        ("ok.csv", "valid"),
    ]
    assert report["problems"] == [
        {
            "check": "datasets",
            "message": "nope.csv: data file not found (check the path)",
            "path": str(tmp_path / "nope.csv"),
            "line": None,
        }
    ]


def test_iris_example_reports_its_dataset(
    mlci: Invoker, tmp_path: Path, trained_iris: Path
) -> None:
    iris = shutil.copytree(trained_iris, tmp_path / "iris")
    result = mlci("-C", iris, "check", "--format", "json")
    report = json.loads(result.stdout)
    (dataset,) = report["datasets"]
    assert (dataset["name"], dataset["status"], dataset["rows"]) == ("iris", "valid", 150)
