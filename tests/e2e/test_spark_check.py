"""`mlci check` with Spark datasets in a real git repository: validation, schema diff and drift
against the base revision computed in Spark, with the pandas engine on the same repository as
the oracle (the same gates; the same PSI and null rates; KS within its stated error), and the
same schema diff, dtype names included, on the pandas, polars and Spark engines."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from conftest import GitRepo, Invoker

from mlci.checks.drift_spark import KS_ERROR

CONFIG = """\
datasets:
  - name: people
    path: {path}
    schema: schema.yaml
    engine: {engine}
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
    return pd.DataFrame({"age": age, "city": city, "visits": rng.integers(0, 5 + int(shift), rows)})


def schema(**extra: Any) -> pa.DataFrameSchema:
    columns = {
        "age": pa.Column(float, pa.Check.in_range(0, 200), nullable=True),
        "city": pa.Column(str, pa.Check.isin(["oslo", "lima", "rome"])),
        "visits": pa.Column("int64", pa.Check.ge(0)),
    }
    return pa.DataFrameSchema({**columns, **extra})


def check_json(mlci: Invoker, cwd: Path) -> tuple[int, dict[str, Any]]:
    result = mlci("check", "--format", "json", "--base", "HEAD", cwd=cwd)
    assert result.exit_code in (0, 1), result.stderr
    return result.exit_code, json.loads(result.stdout)


def drift_values(report: dict[str, Any]) -> dict[tuple[str, str], Any]:
    (dataset,) = report["datasets"]
    return {(d["column"], d["statistic"]): d for d in dataset["comparison"]["data"]["drift"]}


def test_check_with_a_spark_dataset_matches_the_pandas_engine(
    mlci: Invoker, git_repo: GitRepo, spark: Any
) -> None:
    old = people(2000)
    old.to_csv(git_repo.path / "people.csv", index=False)
    schema(  # narrower dtypes at the base, and an optional `note` column
        age=pa.Column("float32", pa.Check.in_range(0, 200), nullable=True),
        visits=pa.Column("int32", pa.Check.ge(0)),
        note=pa.Column(str, nullable=True, required=False),
    ).to_yaml(git_repo.path / "schema.yaml")
    git_repo.write("mlci.yaml", CONFIG.format(path="people.csv", engine="spark"))
    git_repo.commit("data")
    new = people(1500, shift=15, nulls=150, seed=1)
    new.to_csv(git_repo.path / "people.csv", index=False)
    schema().to_yaml(git_repo.path / "schema.yaml")  # the optional `note` column is removed

    reports = {}
    for engine in ("spark", "pandas", "polars"):
        git_repo.write("mlci.yaml", CONFIG.format(path="people.csv", engine=engine))
        code, reports[engine] = check_json(mlci, git_repo.path)
        assert code == 1
    spark_report, pandas_report = reports["spark"], reports["pandas"]
    (dataset,) = spark_report["datasets"]
    assert (dataset["status"], dataset["rows"], dataset["columns"]) == ("valid", 1500, 3)
    changes = {
        engine: [
            (c["kind"], c["column"], c["breaking"], c["detail"], c["before"], c["after"])
            for c in report["datasets"][0]["comparison"]["schema"]["changes"]
        ]
        for engine, report in reports.items()
    }
    # The dtype names of pandas' schema files on every engine (not LongType(), Int64 or
    # string[pyarrow]): docs/data-validation.md, "Dtype names in schema diffs".
    assert (
        changes["spark"]
        == changes["pandas"]
        == changes["polars"]
        == [
            ("column_removed", "note", True, "column removed", "str", None),
            ("dtype_changed", "age", True, "dtype float32 → float64", "float32", "float64"),
            ("dtype_changed", "visits", True, "dtype int32 → int64", "int32", "int64"),
        ]
    )
    data = dataset["comparison"]["data"]
    assert (data["status"], data["rows_before"], data["rows_after"]) == ("compared", 2000, 1500)
    spark_drift, pandas_drift = drift_values(spark_report), drift_values(pandas_report)
    assert spark_drift.keys() == pandas_drift.keys()
    for key, expected in pandas_drift.items():
        found = spark_drift[key]
        assert found["verdict"] == expected["verdict"], key
        if key[1] == "ks":
            assert abs(found["value"] - expected["value"]) <= KS_ERROR, key
        else:
            assert math.isclose(found["value"], expected["value"], abs_tol=1e-12), key
    assert [(g["rule"], g["status"], g["metric"]) for g in spark_report["gates"]] == [
        (g["rule"], g["status"], g["metric"]) for g in pandas_report["gates"]
    ]
    text = mlci("check", "--base", "HEAD", cwd=git_repo.path)
    assert "Data changes of people: rows 2000 → 1500" in text.stdout


def test_drift_of_a_partitioned_parquet_directory(
    mlci: Invoker, git_repo: GitRepo, spark: Any
) -> None:
    def write(frame: pd.DataFrame) -> None:
        target = git_repo.path / "lake" / "people"
        if target.exists():
            for item in sorted(target.rglob("*"), reverse=True):
                item.unlink() if item.is_file() else item.rmdir()
        frame.assign(part=frame.index % 2).to_parquet(target, partition_cols=["part"], index=False)

    write(people(1000))
    schema(part=pa.Column("int64")).to_yaml(git_repo.path / "schema.yaml")
    git_repo.write("mlci.yaml", CONFIG.format(path="lake/people", engine="spark"))
    git_repo.commit("data")
    write(people(1000, seed=5))  # the same distributions, another sample
    code, report = check_json(mlci, git_repo.path)
    (dataset,) = report["datasets"]
    data = dataset["comparison"]["data"]
    assert (data["status"], data["rows_before"], data["rows_after"]) == ("compared", 1000, 1000)
    assert code == 0, dataset["failures"]
    assert {g["rule"]: g["status"] for g in report["gates"]} == {
        "forbid_breaking_changes": "passed",
        "max_psi": "passed",
        "max_ks": "passed",
        "max_null_rate_increase": "passed",
    }
