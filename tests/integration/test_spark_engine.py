"""The Spark engine on a real local Spark (one shared session) and a real Spark Connect server:
the same pandera YAML schema gives the same verdict and the same failing values on pandas,
polars and Spark; every input format; every bad input is one line and exit 2."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import Invoker

ROWS = 600

SCHEMA = """\
schema_type: dataframe
columns:
  id:
    dtype: int64
    nullable: false
  age:
    dtype: int64
    nullable: false
    checks:
      in_range: {min_value: 0, max_value: 120}
  score:
    dtype: float64
    nullable: false
    checks:
      le: 1.0
      ge: 0.0
  city:
    dtype: str
    nullable: false
    checks:
      isin: [paris, oslo, lima]
  code:
    dtype: str
    nullable: true
    checks:
      str_matches: '^AB-[0-9]{4}$'
      str_length: {min_value: 7, max_value: 7}
"""


def make_frame(rows: int = ROWS, seed: int = 11) -> pd.DataFrame:
    """Data with known errors of every kind the schema checks, each bad value distinct."""
    rng = np.random.default_rng(seed)
    age = rng.integers(0, 100, rows)
    age[rng.choice(rows, 9, replace=False)] = -np.arange(1, 10)  # below the range
    age[rng.choice(rows, 4, replace=False)] = 121 + np.arange(4)  # above it
    score = rng.uniform(0, 1, rows).round(4)
    bad = rng.choice(rows, 17, replace=False)
    score[bad[:6]] = 1.5 + np.arange(6)  # above 1
    score[bad[6:]] = np.nan  # nulls where none are allowed
    city = rng.choice(["paris", "oslo", "lima"], rows).astype(object)
    city[rng.choice(rows, 7, replace=False)] = [f"atlantis{i}" for i in range(7)]
    code = np.array([f"AB-{n:04d}" for n in rng.integers(0, 9999, rows)], dtype=object)
    code[rng.choice(rows, 5, replace=False)] = [f"bad{i}" for i in range(5)]
    code[rng.choice(rows, 30, replace=False)] = None  # nullable: fine
    return pd.DataFrame(
        {"id": np.arange(rows), "age": age, "score": score, "city": city, "code": code}
    )


def verdict(result: dict[str, Any]) -> dict[tuple[str | None, str], tuple[int, list[Any]]]:
    """(column, check) -> (failing rows, sorted failing values as text; null and NaN alike:
    pandera's polars backend reports failure cases as text)."""
    out = {}
    for failure in result["failures"]:
        values = [
            None if v is None or v == "NaN" or (isinstance(v, float) and math.isnan(v)) else str(v)
            for v in (case["value"] for case in failure["cases"])
        ]
        out[(failure["column"], failure["check"])] = (
            failure["failing"],
            sorted(values, key=lambda v: (v is None, str(v))),
        )
    return out


def validate_json(mlci: Invoker, *args: str | Path, cwd: Path | None = None) -> dict[str, Any]:
    result = mlci("validate", *args, "--format", "json", "--max-failures", "1000", cwd=cwd)
    assert result.exit_code in (0, 1), result.stderr
    return json.loads(result.stdout)["datasets"][0]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("spark-data")
    frame = make_frame()
    frame.to_csv(directory / "data.csv", index=False)
    frame.to_csv(directory / "data.tsv", index=False, sep="\t")
    frame.to_parquet(directory / "data.parquet", index=False)
    frame.to_json(directory / "data.jsonl", orient="records", lines=True)
    partitioned = frame.assign(part=frame["id"] % 3)
    partitioned.to_parquet(directory / "partitioned", partition_cols=["part"], index=False)
    (directory / "schema.yaml").write_text(SCHEMA)
    return directory


EXPECTED = {
    ("age", "in_range(0, 120)"): (
        13,
        sorted(str(v) for v in [-1, -2, -3, -4, -5, -6, -7, -8, -9, 121, 122, 123, 124]),
    ),
    ("score", "not_nullable"): (11, [None] * 11),
    ("score", "less_than_or_equal_to(1.0)"): (6, ["1.5", "2.5", "3.5", "4.5", "5.5", "6.5"]),
    ("city", "isin(['paris', 'oslo', 'lima'])"): (7, [f"atlantis{i}" for i in range(7)]),
    ("code", "str_matches('^AB-[0-9]{4}$')"): (5, [f"bad{i}" for i in range(5)]),
    ("code", "str_length(7, 7)"): (5, [f"bad{i}" for i in range(5)]),
}


def test_same_verdict_and_failing_values_on_pandas_polars_and_spark(
    mlci: Invoker, data_dir: Path, spark: Any
) -> None:
    results = {
        engine: validate_json(
            mlci, "data.csv", "-s", "schema.yaml", "--engine", engine, cwd=data_dir
        )
        for engine in ("pandas", "polars", "spark")
    }
    verdicts = {engine: verdict(result) for engine, result in results.items()}
    assert verdicts["pandas"] == EXPECTED
    assert verdicts["polars"] == EXPECTED
    assert verdicts["spark"] == EXPECTED
    for result in results.values():
        assert (result["status"], result["rows"], result["columns"]) == ("invalid", ROWS, 5)
    assert results["spark"]["unchecked"] == []


@pytest.mark.parametrize(
    "path", ["data.csv", "data.tsv", "data.parquet", "data.jsonl", "partitioned"]
)
def test_every_input_format(mlci: Invoker, data_dir: Path, spark: Any, path: str) -> None:
    result = validate_json(mlci, path, "-s", "schema.yaml", "--engine", "spark", cwd=data_dir)
    assert result["rows"] == ROWS
    found = verdict(result)
    if path == "partitioned":  # the partition column is a column like the others
        assert result["columns"] == 6
    assert found == EXPECTED


def test_a_table_of_the_spark_catalog(mlci: Invoker, data_dir: Path, spark: Any) -> None:
    spark.sql("CREATE DATABASE IF NOT EXISTS lake")
    spark.read.parquet(str(data_dir / "data.parquet")).write.mode("overwrite").saveAsTable(
        "lake.people"
    )
    result = validate_json(mlci, "--table", "lake.people", "-s", "schema.yaml", cwd=data_dir)
    assert (result["name"], result["path"], result["rows"]) == (
        "table lake.people",
        "table:lake.people",
        ROWS,
    )
    assert verdict(result) == EXPECTED


def test_a_dataset_in_mlci_yaml_with_engine_spark(
    mlci: Invoker, data_dir: Path, spark: Any, tmp_path: Path
) -> None:
    (tmp_path / "mlci.yaml").write_text(
        textwrap.dedent(
            f"""\
            datasets:
              - name: people
                path: {data_dir / "partitioned"}
                schema: {data_dir / "schema.yaml"}
                engine: spark
                max_failures: 3
            """
        )
    )
    result = mlci("validate", "--format", "json", cwd=tmp_path)
    assert result.exit_code == 1, result.stderr
    dataset = json.loads(result.stdout)["datasets"][0]
    by_check = {(f["column"], f["check"]): f for f in dataset["failures"]}
    assert by_check[("age", "in_range(0, 120)")]["failing"] == 13
    assert len(by_check[("age", "in_range(0, 120)")]["cases"]) == 3  # capped
    assert all(case["row"] is None for f in dataset["failures"] for case in f["cases"])


def test_rules_the_pyspark_backend_lacks_are_named(
    mlci: Invoker, data_dir: Path, spark: Any, tmp_path: Path
) -> None:
    (tmp_path / "schema.yaml").write_text(
        textwrap.dedent(
            """\
            schema_type: dataframe
            columns:
              id: {dtype: int64, unique: true}
              city: {dtype: category}
              age:
                dtype: int64
                checks:
                  ge: {value: 0, options: {ignore_na: false}}
            """
        )
    )
    result = mlci(
        "validate",
        data_dir / "data.parquet",
        "-s",
        "schema.yaml",
        "--engine",
        "spark",
        "--format",
        "json",
        cwd=tmp_path,
    )
    dataset = json.loads(result.stdout)["datasets"][0]
    assert dataset["unchecked"] == [
        "column 'id': unique (pandera's PySpark backend has no column-level uniqueness; a schema-level `unique: [column]` is checked)",
        "column 'city': dtype category (no Spark type)",
        "column 'age': check ge: ignore_na: false (PySpark checks leave nulls out; `nullable: false` catches nulls)",
    ]
    text = mlci(
        "validate",
        data_dir / "data.parquet",
        "-s",
        "schema.yaml",
        "--engine",
        "spark",
        cwd=tmp_path,
    )
    assert "3 rules of the schema not checked by this engine" in text.stdout
    assert "column 'id': unique" in text.stdout


def test_schema_errors_match_pandas(
    mlci: Invoker, data_dir: Path, spark: Any, tmp_path: Path
) -> None:
    (tmp_path / "schema.yaml").write_text(
        textwrap.dedent(
            """\
            schema_type: dataframe
            strict: true
            columns:
              id: {dtype: int64}
              age: {dtype: float64}
              missing: {dtype: str}
            """
        )
    )
    results = {
        engine: validate_json(
            mlci, data_dir / "data.parquet", "-s", "schema.yaml", "--engine", engine, cwd=tmp_path
        )
        for engine in ("pandas", "spark")
    }
    checks = {
        engine: sorted((f["column"], f["check"].split("(")[0]) for f in result["failures"])
        for engine, result in results.items()
    }
    assert (
        checks["spark"]
        == checks["pandas"]
        == [
            ("age", "dtype"),
            ("city", "column_in_schema"),
            ("code", "column_in_schema"),
            ("missing", "column_in_dataframe"),
            ("score", "column_in_schema"),
        ]
    )


def test_schema_infer_with_spark_reads_back_on_every_engine(
    mlci: Invoker, data_dir: Path, spark: Any, tmp_path: Path
) -> None:
    result = mlci(
        "schema",
        "infer",
        data_dir / "partitioned",
        "--engine",
        "spark",
        "-o",
        "inferred.yaml",
        cwd=tmp_path,
    )
    assert result.exit_code == 0, result.stderr
    text = (tmp_path / "inferred.yaml").read_text()
    assert "schema_type: pyspark_sql_dataframe" in text
    for engine in ("spark", "pandas"):
        path = data_dir / ("partitioned" if engine == "spark" else "data.parquet")
        checked = mlci("validate", path, "-s", "inferred.yaml", "--engine", engine, cwd=tmp_path)
        assert checked.exit_code in (0, 1), checked.stderr


# --- bad input: one line, exit 2 -------------------------------------------------------------


def test_a_path_that_does_not_exist(mlci: Invoker, data_dir: Path, spark: Any) -> None:
    result = mlci(
        "validate", "nope.parquet", "-s", "schema.yaml", "--engine", "spark", cwd=data_dir
    )
    assert result.exit_code == 2
    assert "nope.parquet: data file not found" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_table_that_does_not_exist(mlci: Invoker, data_dir: Path, spark: Any) -> None:
    result = mlci("validate", "--table", "lake.nothing", "-s", "schema.yaml", cwd=data_dir)
    assert result.exit_code == 2
    assert "table 'lake.nothing' does not exist in the Spark catalog" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreachable_spark_connect_server_is_named(
    mlci: Invoker, data_dir: Path, tmp_path: Path
) -> None:
    from spark_session import free_port

    url = f"sc://127.0.0.1:{free_port()}"
    (tmp_path / "mlci.yaml").write_text(
        f"spark:\n  remote: {url}\ndatasets:\n  - path: {data_dir / 'data.csv'}\n"
        f"    schema: {data_dir / 'schema.yaml'}\n    engine: spark\n"
    )
    result = mlci("validate", cwd=tmp_path)
    assert result.exit_code == 2
    assert f"cannot reach the Spark Connect server at {url}" in result.stderr
    assert "Traceback" not in result.stderr


def _mlci_process(
    args: list[str], env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "mlci"
    return subprocess.run(
        [str(script), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def test_java_missing_or_too_old(data_dir: Path, tmp_path: Path) -> None:
    """A fresh process (no session yet): no `java` at all, then a Java 11."""
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    bare = tmp_path / "bare"
    bare.mkdir()
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{bare}"
    args = ["validate", "data.csv", "-s", "schema.yaml", "--engine", "spark"]
    missing = _mlci_process(args, env, data_dir)
    assert missing.returncode == 2, missing.stderr
    assert missing.stderr.splitlines() == [
        "mlci: error: the Spark engine needs Java 17 or newer and no `java` was found "
        "(JAVA_HOME is not set and `java` is not on PATH) (install Java 17 or newer "
        "(Debian/Ubuntu: apt-get install openjdk-17-jre-headless), or set `spark.remote` to a "
        "Spark Connect server)"
    ]
    old = tmp_path / "jdk11" / "bin"
    old.mkdir(parents=True)
    (old / "java").write_text("#!/bin/sh\necho 'openjdk version \"11.0.22\" 2024-01-16' >&2\n")
    (old / "java").chmod(0o755)
    env["JAVA_HOME"] = str(old.parent)
    too_old = _mlci_process(args, env, data_dir)
    assert too_old.returncode == 2, too_old.stderr
    assert len(too_old.stderr.splitlines()) == 1
    assert too_old.stderr.startswith(
        f"mlci: error: the Spark engine needs Java 17 or newer; found Java 11 ({old / 'java'})"
    )
    assert "Traceback" not in missing.stderr + too_old.stderr
    # In a GitHub Actions job the line names the step to add instead of the Debian package.
    on_github = _mlci_process(args, {**env, "GITHUB_ACTIONS": "true"}, data_dir)
    assert on_github.returncode == 2, on_github.stderr
    # (between the ::stop-commands:: markers that keep untrusted text out of workflow commands)
    (line,) = [text for text in on_github.stderr.splitlines() if not text.startswith("::")]
    assert line.startswith(
        f"mlci: error: the Spark engine needs Java 17 or newer; found Java 11 ({old / 'java'}) "
        "(on GitHub Actions add a step before mlci: `uses: actions/setup-java@"
    )
    assert "`distribution: temurin` and `java-version: '17'`" in line


# --- the driver JVM's own output -------------------------------------------------------------

# What a driver JVM prints when nothing configures its logging: log4j lines (Spark's own
# format), Spark's notes about its default profile and level, the JVM's incubator notice.
JVM_NOISE = re.compile(
    r"^\d\d/\d\d/\d\d \d\d:\d\d:\d\d (TRACE|DEBUG|INFO|WARN|ERROR|FATAL) "
    r"|log4j|Setting default log level|sc\.setLogLevel|incubator modules",
    re.MULTILINE,
)


def _fresh_spark_env(tmp_path: Path) -> dict[str, str]:
    """The environment of an mlci process that starts its own local session, with Spark's
    scratch space under tmp_path."""
    local = tmp_path / "spark-local"
    local.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOG4J", "SPARK_CONF"))}
    env["SPARK_LOCAL_DIRS"] = str(local)
    env["SPARK_LOCAL_IP"] = "127.0.0.1"
    return env


@pytest.mark.slow
def test_a_local_session_prints_only_mlci_output(data_dir: Path, tmp_path: Path) -> None:
    """A fresh process starts the driver JVM: its stdout is the JSON report and its stderr the
    one line about the file Spark cannot read, nothing of the JVM's (a Spark job fails on the
    broken Parquet file, which Spark logs at ERROR without mlci's log4j2 configuration)."""
    (tmp_path / "broken.parquet").write_bytes(b"PAR1" + b"not parquet at all" + b"PAR1")
    done = _mlci_process(
        [
            "validate",
            str(data_dir / "data.csv"),
            str(tmp_path / "broken.parquet"),
            "-s",
            str(data_dir / "schema.yaml"),
            "--engine",
            "spark",
            "--format",
            "json",
        ],
        _fresh_spark_env(tmp_path),
        tmp_path,
    )
    assert done.returncode == 2, done.stderr
    assert JVM_NOISE.search(done.stderr) is None, done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith(
        f"mlci: error: broken.parquet: Spark cannot read {tmp_path / 'broken.parquet'}: "
    )
    # What Spark said, not py4j's "An error occurred while calling o41.parquet."
    assert "Could not read footer" in line, line
    datasets = json.loads(done.stdout)["datasets"]
    assert (datasets[0]["status"], datasets[0]["rows"]) == ("invalid", ROWS)


@pytest.mark.slow
def test_a_log4j2_configuration_of_the_users_own_is_kept(data_dir: Path, tmp_path: Path) -> None:
    """`-Dlog4j2.configurationFile` in mlci.yaml's spark.conf outranks mlci's quiet one."""
    config = tmp_path / "log4j2-user.properties"
    config.write_text(
        textwrap.dedent(
            """\
            rootLogger.level = info
            rootLogger.appenderRef.stderr.ref = console
            appender.console.type = Console
            appender.console.name = console
            appender.console.target = SYSTEM_ERR
            appender.console.layout.type = PatternLayout
            appender.console.layout.pattern = USERLOG %p %c{1}: %m%n
            logger.pyspark.name = org.apache.spark.api.python.PythonGatewayServer
            logger.pyspark.level = info
            """
        )
    )
    (tmp_path / "mlci.yaml").write_text(
        textwrap.dedent(
            f"""\
            spark:
              master: local[1]
              conf:
                spark.driver.extraJavaOptions: -Dlog4j2.configurationFile={config}
            datasets:
              - path: {data_dir / "data.csv"}
                schema: {data_dir / "schema.yaml"}
                engine: spark
            """
        )
    )
    done = _mlci_process(["validate"], _fresh_spark_env(tmp_path), tmp_path)
    assert done.returncode == 1, done.stderr
    assert "USERLOG INFO SparkContext: Running Spark version" in done.stderr
    assert "incubator modules" not in done.stderr


def test_a_log4j2_file_in_sparks_conf_directory_is_the_users(tmp_path: Path) -> None:
    from mlci.integrations.spark_session import user_log4j2_file

    assert user_log4j2_file({"SPARK_CONF_DIR": str(tmp_path)}) is None
    (tmp_path / "log4j2.xml").write_text("<Configuration/>")
    assert user_log4j2_file({"SPARK_CONF_DIR": str(tmp_path)}) == tmp_path / "log4j2.xml"
    assert user_log4j2_file({"SPARK_HOME": str(tmp_path.parent)}) is None


# --- a real Spark Connect server ------------------------------------------------------------


@pytest.mark.slow
def test_validate_on_a_spark_connect_server(
    data_dir: Path, tmp_path: Path, spark_connect_server: str
) -> None:
    env = {**os.environ, "SPARK_REMOTE": spark_connect_server}
    done = _mlci_process(
        [
            "validate",
            str(data_dir / "partitioned"),
            "-s",
            "schema.yaml",
            "--engine",
            "spark",
            "--format",
            "json",
            "--max-failures",
            "1000",
        ],
        env,
        data_dir,
    )
    assert done.returncode == 1, done.stderr
    dataset = json.loads(done.stdout)["datasets"][0]
    assert dataset["rows"] == ROWS
    assert verdict(dataset) == EXPECTED
    assert Counter(f["column"] for f in dataset["failures"]) == Counter(
        {"score": 2, "code": 2, "age": 1, "city": 1}
    )
