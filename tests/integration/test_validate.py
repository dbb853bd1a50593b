"""`mlci validate` against pandera itself: same failing checks, same counts, on pandas and polars,
whole-file and chunked; every bad input gets its exact one-line error."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pandera.polars as pap
import polars as pl
import pytest
from conftest import GitRepo, Invoker

from mlci.sources.data_files import DataFile, LineMap, detect_format, read_chunks

ROWS = 1500


def make_frame(rows: int = ROWS, seed: int = 7) -> pd.DataFrame:
    """Synthetic data with failures of every kind sprinkled in."""
    rng = np.random.default_rng(seed)
    ids = np.arange(rows)
    ids[rng.choice(rows, 12, replace=False)] = 5  # duplicates of id 5
    amount = rng.normal(100, 20, rows).round(2)
    amount[rng.choice(rows, 9, replace=False)] = -1.0  # below the minimum
    score = rng.uniform(0, 1, rows).round(4)
    score[rng.choice(rows, 40, replace=False)] = np.nan  # nulls where not allowed
    city = rng.choice(["paris", "oslo", "lima"], rows).astype(object)
    city[rng.choice(rows, 7, replace=False)] = "atlantis"
    code = np.array([f"AB-{n:04d}" for n in rng.integers(0, 9999, rows)], dtype=object)
    code[rng.choice(rows, 5, replace=False)] = "bad"
    note = np.array(["x"] * rows, dtype=object)
    note[rng.choice(rows, 300, replace=False)] = None  # nullable: fine
    pair_a = rng.integers(0, 40, rows)
    pair_b = rng.integers(0, 40, rows)
    return pd.DataFrame(
        {
            "id": ids,
            "amount": amount,
            "score": score,
            "city": city,
            "code": code,
            "note": note,
            "pair_a": pair_a,
            "pair_b": pair_b,
        }
    )


def pandas_schema(unique_pairs: bool = True) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "id": pa.Column("int64", pa.Check.ge(0), unique=True),
            "amount": pa.Column("float64", pa.Check.in_range(0, 1000)),
            "score": pa.Column("float64", pa.Check.le(0.99)),
            "city": pa.Column("str", pa.Check.isin(["paris", "oslo", "lima"])),
            "code": pa.Column("str", [pa.Check.str_matches(r"^[A-Z]{2}-\d{4}$")]),
            "note": pa.Column("str", nullable=True),
            "pair_a": pa.Column("int64"),
            "pair_b": pa.Column("int64", pa.Check.lt(39)),
            "missing": pa.Column("int64", required=True),
        },
        unique=["pair_a", "pair_b"] if unique_pairs else None,
        name="synthetic",
    )


def polars_schema() -> pap.DataFrameSchema:
    return pap.DataFrameSchema(
        {
            "id": pap.Column(pl.Int64, pap.Check.ge(0), unique=True),
            "amount": pap.Column(pl.Float64, pap.Check.in_range(0, 1000)),
            "score": pap.Column(pl.Float64, pap.Check.le(0.99)),
            "city": pap.Column(pl.String, pap.Check.isin(["paris", "oslo", "lima"])),
            "code": pap.Column(pl.String, pap.Check.str_matches(r"^[A-Z]{2}-\d{4}$")),
            "note": pap.Column(pl.String, nullable=True),
            "pair_b": pap.Column(pl.Int64, pap.Check.lt(39)),
            "missing": pap.Column(pl.Int64),
        },
        name="synthetic",
    )


def oracle_counts(failure_cases: Any) -> Counter[tuple[str | None, str]]:
    """pandera's failure_cases grouped by (column, check); a missing column is named by its case."""
    if not hasattr(failure_cases, "iloc"):
        failure_cases = failure_cases.to_pandas()
    counts: Counter[tuple[str | None, str]] = Counter()
    for row in failure_cases.itertuples(index=False):
        column = row.failure_case if row.check == "column_in_dataframe" else row.column
        counts[(column, row.check)] += 1
    return counts


def mlci_counts(report: dict[str, Any]) -> Counter[tuple[str | None, str]]:
    (dataset,) = report["datasets"]
    return Counter({(f["column"], f["check"]): f["failing"] for f in dataset["failures"]})


def run_json(mlci: Invoker, *args: str | Path, cwd: Path) -> dict[str, Any]:
    result = mlci("validate", *args, "--format", "json", cwd=cwd)
    assert result.exit_code == 1, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("synthetic")
    frame = make_frame()
    frame.to_csv(directory / "data.csv", index=False)
    frame.to_parquet(directory / "data.parquet", index=False)
    frame.to_json(directory / "data.jsonl", orient="records", lines=True)
    frame.to_csv(directory / "data.tsv", index=False, sep="\t")
    with gzip.open(directory / "data.csv.gz", "wt") as handle:
        frame.to_csv(handle, index=False)
    pandas_schema().to_yaml(directory / "schema.yaml")
    from pandera.io import polars_io

    polars_io.to_yaml(polars_schema(), directory / "polars.yaml")
    return directory


def test_pandas_oracle(mlci: Invoker, synthetic: Path) -> None:
    expected = oracle_counts(
        _pandera_failures(pandas_schema(), pd.read_csv(synthetic / "data.csv"))
    )
    report = run_json(mlci, "data.csv", "--schema", "schema.yaml", cwd=synthetic)
    assert mlci_counts(report) == expected
    assert expected[("id", "field_uniqueness")] == 13
    assert expected[("missing", "column_in_dataframe")] == 1
    assert ("pair_a", "multiple_fields_uniqueness") in expected


@pytest.mark.parametrize("name", ["data.parquet", "data.jsonl", "data.tsv", "data.csv.gz"])
def test_every_format_gives_the_same_failures(mlci: Invoker, synthetic: Path, name: str) -> None:
    expected = oracle_counts(
        _pandera_failures(pandas_schema(), pd.read_csv(synthetic / "data.csv"))
    )
    report = run_json(mlci, name, "--schema", "schema.yaml", cwd=synthetic)
    assert mlci_counts(report) == expected


def test_polars_oracle(mlci: Invoker, synthetic: Path) -> None:
    expected = oracle_counts(
        _pandera_failures(polars_schema(), pl.read_csv(synthetic / "data.csv"))
    )
    report = run_json(
        mlci, "data.csv", "--schema", "polars.yaml", "--engine", "polars", cwd=synthetic
    )
    assert mlci_counts(report) == expected
    assert expected[("amount", "in_range(0, 1000)")] == 9


def test_polars_engine_reads_a_pandas_schema_file(mlci: Invoker, synthetic: Path) -> None:
    schema = pandas_schema(unique_pairs=False)
    schema = schema.remove_columns(["pair_a"])
    schema.to_yaml(synthetic / "pandas_no_pairs.yaml")
    report = run_json(
        mlci, "data.csv", "--schema", "pandas_no_pairs.yaml", "--engine", "polars", cwd=synthetic
    )
    expected = oracle_counts(
        _pandera_failures(polars_schema(), pl.read_csv(synthetic / "data.csv"))
    )
    assert mlci_counts(report) == expected


@pytest.mark.parametrize("chunksize", [97, 10_000])
def test_chunked_equals_whole_file(mlci: Invoker, synthetic: Path, chunksize: int) -> None:
    whole = run_json(mlci, "data.csv", "--schema", "schema.yaml", cwd=synthetic)
    chunked = run_json(
        mlci, "data.csv", "--schema", "schema.yaml", "--chunksize", chunksize, cwd=synthetic
    )
    assert mlci_counts(chunked) == mlci_counts(whole)
    for failure in chunked["datasets"][0]["failures"]:
        (same,) = [
            f
            for f in whole["datasets"][0]["failures"]
            if (f["column"], f["check"]) == (failure["column"], failure["check"])
        ]
        assert [c["row"] for c in failure["cases"]] == [c["row"] for c in same["cases"]]


@pytest.mark.parametrize(
    ("args", "phases"),
    [
        (("--engine", "pandas"), {"read", "validate"}),
        (("--engine", "polars", "--schema", "polars.yaml"), {"read", "validate"}),
        (("--chunksize", "97"), {"read", "validate"}),
    ],
)
def test_report_times_reading_and_validating(
    mlci: Invoker, synthetic: Path, args: tuple[str, ...], phases: set[str]
) -> None:
    # Which engine pays off shows in the report: the time to read and the time pandera took.
    report = run_json(mlci, "data.csv", "--schema", "schema.yaml", *args, cwd=synthetic)
    seconds = report["datasets"][0]["seconds"]
    assert set(seconds) == phases
    assert all(isinstance(value, float) and value >= 0 for value in seconds.values())
    assert seconds["validate"] > 0


def test_chunked_jsonl_and_parquet(mlci: Invoker, synthetic: Path) -> None:
    whole = mlci_counts(run_json(mlci, "data.csv", "--schema", "schema.yaml", cwd=synthetic))
    for name in ("data.jsonl", "data.parquet"):
        chunked = run_json(
            mlci, name, "--schema", "schema.yaml", "--chunksize", "250", cwd=synthetic
        )
        assert mlci_counts(chunked) == whole


@pytest.mark.parametrize("name", ["data.csv", "data.csv.gz", "data.jsonl", "data.parquet"])
def test_chunks_open_the_file_only_when_read(synthetic: Path, name: str) -> None:
    """A chunk iterator left unread holds no open file; one read to the end has closed it."""
    import gc
    import warnings

    data = DataFile(path=synthetic / name, format=detect_format(synthetic / name))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        chunks, bytes_read = read_chunks(data, 400)
        assert bytes_read() == 0
        del chunks, bytes_read
        gc.collect()
        chunks, bytes_read = read_chunks(data, 400)
        assert sum(len(chunk) for chunk in chunks) == len(make_frame())
        del chunks, bytes_read
        gc.collect()
    assert [str(warning.message) for warning in caught] == []


@pytest.mark.parametrize("keep", ["exclude_first", "exclude_last"])
def test_chunked_uniqueness_follows_report_duplicates(
    mlci: Invoker, tmp_path: Path, keep: str
) -> None:
    frame = pd.DataFrame({"k": [1, 2, 1, 3, 1, 2, np.nan, np.nan], "v": range(8)})
    frame.to_csv(tmp_path / "d.csv", index=False)
    schema = pa.DataFrameSchema(
        {"k": pa.Column(float, unique=True, nullable=True, report_duplicates=keep)}
    )
    schema.to_yaml(tmp_path / "s.yaml")
    expected = _pandera_failures(schema, pd.read_csv(tmp_path / "d.csv"))
    report = run_json(mlci, "d.csv", "-s", "s.yaml", "--chunksize", "3", cwd=tmp_path)
    (failure,) = report["datasets"][0]["failures"]
    assert failure["failing"] == len(expected)
    assert [c["row"] for c in failure["cases"]] == [int(i) for i in expected["index"]]


def test_failure_cases_carry_rows_and_csv_lines(mlci: Invoker, tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text(
        'name,age\n"Ann\nSmith",30\n\nBob,-4\nCy,7\nDee,-1\n', encoding="utf-8"
    )
    (tmp_path / "s.yaml").write_text(
        "schema_type: dataframe\ncolumns:\n  name:\n    dtype: str\n  age:\n    dtype: int64\n"
        "    greater_than_or_equal_to: 0\n"
    )
    result = mlci("validate", "d.csv", "-s", "s.yaml", "--format", "json", cwd=tmp_path)
    assert result.exit_code == 1
    (failure,) = json.loads(result.stdout)["datasets"][0]["failures"]
    assert failure == {
        "check": "greater_than_or_equal_to(0)",
        "column": "age",
        "failing": 2,
        "schema_level": False,
        "cases": [{"value": -4, "row": 1, "line": 5}, {"value": -1, "row": 3, "line": 7}],
        "path": "d.csv",
        "line": None,
        "check_number": 0,
    }


def test_text_report_and_max_failures(mlci: Invoker, tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("a\n-1\n-2\n-3\n5\n")
    pa.DataFrameSchema({"a": pa.Column(int, pa.Check.gt(0))}).to_yaml(tmp_path / "s.yaml")
    result = mlci("validate", "d.csv", "-s", "s.yaml", "--max-failures", "2", cwd=tmp_path)
    assert result.exit_code == 1
    assert result.stdout == textwrap.dedent(
        """\
        mlci validate: FAILED: datasets 1 invalid

        Dataset d.csv: invalid (4 rows)
        Column  Check            Failing  Examples
        ------  ---------------  -------  --------------------
        a       greater_than(0)        3  row 0: -1, row 1: -2
        """
    )


def test_missing_column_is_a_validation_failure(mlci: Invoker, tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("a\n1\n")
    (tmp_path / "s.yaml").write_text(
        "schema_type: dataframe\ncolumns:\n  a:\n    dtype: int64\n  b:\n    dtype: float64\n"
    )
    result = mlci("validate", "d.csv", "-s", "s.yaml", "--format", "json", cwd=tmp_path)
    assert result.exit_code == 1
    (failure,) = json.loads(result.stdout)["datasets"][0]["failures"]
    assert failure == {
        "check": "column_in_dataframe",
        "column": "b",
        "failing": 1,
        "schema_level": True,
        "cases": [{"value": "b", "row": None, "line": None}],
        "path": "s.yaml",
        "line": 5,
        "check_number": None,
    }


def test_legacy_checks_format_is_read_as_pandera_reads_it(mlci: Invoker, tmp_path: Path) -> None:
    legacy = textwrap.dedent(
        """\
        schema_type: dataframe
        version: 0.18.0
        columns:
          a:
            dtype: int64
            nullable: false
            checks:
              greater_than_or_equal_to:
                value: 2
              less_than:
                value: 9
          c:
            dtype: str
            nullable: false
            checks:
              isin:
                value: [x, y]
        checks: null
        coerce: false
        strict: false
        """
    )
    (tmp_path / "s.yaml").write_text(legacy)
    (tmp_path / "d.csv").write_text("a,c\n1,x\n5,z\n9,y\n3,x\n")
    from pandera.io import pandas_io

    expected = oracle_counts(
        _pandera_failures(pandas_io.from_yaml(legacy), pd.read_csv(tmp_path / "d.csv"))
    )
    assert expected == {
        ("a", "greater_than_or_equal_to(2)"): 1,
        ("a", "less_than(9)"): 1,
        ("c", "isin(['x', 'y'])"): 1,
    }
    assert mlci_counts(run_json(mlci, "d.csv", "-s", "s.yaml", cwd=tmp_path)) == expected


def test_json_schema_file(mlci: Invoker, tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("a\n1\n-5\n")
    pa.DataFrameSchema({"a": pa.Column(int, pa.Check.ge(0))}).to_json(tmp_path / "s.json")
    report = run_json(mlci, "d.csv", "-s", "s.json", cwd=tmp_path)
    assert mlci_counts(report) == {("a", "greater_than_or_equal_to(0)"): 1}


MODULE = """
import pandera.pandas as pa
import pandera.polars as pap
from pandera.typing import Series

class Model(pa.DataFrameModel):
    a: Series[int] = pa.Field(ge=0)

schema = pa.DataFrameSchema({"a": pa.Column(int, pa.Check(lambda s: s < 10, name="small"))})

class PolarsModel(pap.DataFrameModel):
    a: int = pap.Field(ge=0)

not_a_schema = 3
"""


@pytest.mark.parametrize(
    ("spec", "engine", "expected"),
    [
        ("schemas:Model", "pandas", {("a", "greater_than_or_equal_to(0)"): 1}),
        ("schemas:schema", "pandas", {("a", "small"): 1}),
        ("schemas:PolarsModel", "polars", {("a", "greater_than_or_equal_to(0)"): 1}),
        ("schemas:Model", "polars", {("a", "greater_than_or_equal_to(0)"): 1}),
    ],
)
def test_python_schemas(
    mlci: Invoker, tmp_path: Path, spec: str, engine: str, expected: dict[Any, int]
) -> None:
    (tmp_path / "schemas.py").write_text(MODULE)
    (tmp_path / "d.csv").write_text("a\n1\n-5\n12\n")
    report = run_json(mlci, "d.csv", "-s", spec, "--engine", engine, cwd=tmp_path)
    assert mlci_counts(report) == expected


def test_valid_data_exits_0(mlci: Invoker, tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("a\n1\n2\n")
    pa.DataFrameSchema({"a": pa.Column(int, pa.Check.ge(0))}).to_yaml(tmp_path / "s.yaml")
    result = mlci("validate", "d.csv", "-s", "s.yaml", cwd=tmp_path)
    assert (result.exit_code, result.stdout) == (0, "mlci validate: PASSED: datasets 1 valid\n")


def test_validate_from_config_with_glob(mlci: Invoker, tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.csv").write_text("x\n1\n")
    (tmp_path / "data" / "b.csv").write_text("x\n-1\n")
    pa.DataFrameSchema({"x": pa.Column(int, pa.Check.ge(0))}).to_yaml(tmp_path / "s.yaml")
    (tmp_path / "mlci.yaml").write_text(
        "datasets:\n  - name: parts\n    path: data/*.csv\n    schema: s.yaml\n"
    )
    result = mlci("validate", "--format", "json", cwd=tmp_path)
    assert result.exit_code == 1
    datasets = json.loads(result.stdout)["datasets"]
    assert [(d["name"], d["status"]) for d in datasets] == [
        ("parts (data/a.csv)", "valid"),
        ("parts (data/b.csv)", "invalid"),
    ]


# --- bad input: exit 2 and one exact line ------------------------------------------------------


def _bad_input(mlci: Invoker, cwd: Path, *args: str) -> str:
    result = mlci("validate", *args, cwd=cwd)
    assert result.exit_code == 2, result.stdout
    return result.stderr


@pytest.fixture
def schema_dir(tmp_path: Path) -> Path:
    pa.DataFrameSchema({"a": pa.Column(int), "b": pa.Column(int)}).to_yaml(tmp_path / "s.yaml")
    return tmp_path


def test_missing_data_file(mlci: Invoker, schema_dir: Path) -> None:
    assert _bad_input(mlci, schema_dir, "nope.csv", "-s", "s.yaml") == (
        "mlci: error: nope.csv: data file not found (check the path)\n"
    )


def test_empty_data_file(mlci: Invoker, schema_dir: Path) -> None:
    (schema_dir / "e.csv").write_text("")
    assert _bad_input(mlci, schema_dir, "e.csv", "-s", "s.yaml") == (
        "mlci: error: e.csv: data file is empty\n"
    )


def test_directory_as_data(mlci: Invoker, schema_dir: Path) -> None:
    (schema_dir / "dir").mkdir()
    assert _bad_input(mlci, schema_dir, "dir", "-s", "s.yaml") == (
        "mlci: error: dir: is a directory, not a data file "
        "(name a file, or a glob such as data/*.csv in mlci.yaml)\n"
    )


@pytest.mark.parametrize("engine", ["pandas", "polars"])
def test_ragged_csv(mlci: Invoker, schema_dir: Path, engine: str) -> None:
    (schema_dir / "r.csv").write_text("a,b\n1,2\n3,4\n5,6,7\n")
    assert _bad_input(mlci, schema_dir, "r.csv", "-s", "s.yaml", "--engine", engine) == (
        "mlci: error: r.csv:4: row has 3 fields, the header has 2\n"
    )


def engines_and_chunksizes(*chunksizes: str) -> list[tuple[str, str | None]]:
    """Each engine whole-file, and pandas chunked by each of `chunksizes`: chunked validation
    runs on pandas only (polars with a chunksize is test_chunked_polars_is_refused's bad input),
    so the polars-chunked combinations are not generated rather than skipped."""
    return [("pandas", None), *(("pandas", size) for size in chunksizes), ("polars", None)]


@pytest.mark.parametrize(("engine", "chunksize"), engines_and_chunksizes("1", "2"))
def test_ragged_row_after_a_quoted_newline_names_the_line_it_starts_on(
    mlci: Invoker, schema_dir: Path, engine: str, chunksize: str | None
) -> None:
    # The record "1,"x<newline>y"" spans lines 2-3: the ragged row starts on line 5, as the csv
    # module and an editor show, though it is the fourth record of the file.
    (schema_dir / "q.csv").write_text('a,b\n1,"x\ny"\n2,3\n3,4,extra\n4,5\n')
    chunked = ("--chunksize", chunksize) if chunksize else ()
    assert _bad_input(mlci, schema_dir, "q.csv", "-s", "s.yaml", "--engine", engine, *chunked) == (
        "mlci: error: q.csv:5: row has 3 fields, the header has 2\n"
    )


@pytest.mark.parametrize(
    "text",
    [
        "a,b\n1,2,3\n4,5,6\n",  # every row one field more: pandas took column 1 as the index
        "a,b\n1,2,\n4,5,\n",  # a separator at the end of every row
        "a,b\n1,2,3\n4,5\n",  # only the first row: pandas decides the index from it alone
        "\na,b\n\n1,2,3\n",  # blank lines are skipped, as pandas does
    ],
)
@pytest.mark.parametrize(("engine", "chunksize"), engines_and_chunksizes("1"))
def test_rows_with_one_field_more_than_the_header_are_ragged(
    mlci: Invoker, schema_dir: Path, engine: str, chunksize: str | None, text: str
) -> None:
    (schema_dir / "x.csv").write_text(text)
    line = text.split("1,2")[0].count("\n") + 1
    chunked = ("--chunksize", chunksize) if chunksize else ()
    error = _bad_input(mlci, schema_dir, "x.csv", "-s", "s.yaml", "--engine", engine, *chunked)
    assert error.startswith(f"mlci: error: x.csv:{line}: row has 3 fields, the header has 2"), error
    assert error.count("\n") == 1


def test_a_ragged_copy_at_the_base_revision_is_bad_input(git_repo: GitRepo) -> None:
    """The base revision's copy is read from bytes (drift): the same rule holds there."""
    pa.DataFrameSchema({"a": pa.Column(int), "b": pa.Column(int)}).to_yaml(git_repo.path / "s.yaml")
    git_repo.write("d.csv", "a,b\n1,2,3\n4,5,6\n")
    git_repo.write(
        "mlci.yaml",
        "datasets:\n  - path: d.csv\n    schema: s.yaml\n    drift: {max_ks: 0.5}\n",
    )
    git_repo.commit("base")
    git_repo.write("d.csv", "a,b\n1,2\n4,5\n")
    done = subprocess.run(
        [sys.executable, "-m", "mlci", "check"],
        cwd=git_repo.path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert "Traceback" not in done.stderr
    assert "d.csv:2: row has 3 fields, the header has 2" in done.stdout + done.stderr


@pytest.mark.parametrize("engine", ["pandas", "polars"])
def test_non_utf8_file_names_the_encoding_option(
    mlci: Invoker, schema_dir: Path, engine: str
) -> None:
    (schema_dir / "l.csv").write_bytes(b"a,b\n1,2\n3,\xe9\n")
    assert _bad_input(mlci, schema_dir, "l.csv", "-s", "s.yaml", "--engine", engine) == (
        "mlci: error: l.csv:3: is not valid utf-8 text (set the file's encoding with "
        "`encoding:` in mlci.yaml or --encoding, e.g. latin-1)\n"
    )
    result = mlci("validate", "l.csv", "-s", "s.yaml", "--encoding", "latin-1", cwd=schema_dir)
    assert result.exit_code == 1  # readable now; "é" is not an int


@pytest.mark.parametrize(
    ("engine", "reason"),
    [
        (
            "pandas",
            "Parquet magic bytes not found in footer. Either the file is corrupted or this is not a parquet file.",
        ),
        ("polars", "File out of specification: The file must end with PAR1 or PARE"),
    ],
)
def test_corrupt_parquet(mlci: Invoker, schema_dir: Path, engine: str, reason: str) -> None:
    (schema_dir / "c.parquet").write_bytes(b"PAR1" + b"\x00" * 64 + b"junk")
    assert _bad_input(mlci, schema_dir, "c.parquet", "-s", "s.yaml", "--engine", engine) == (
        f"mlci: error: c.parquet: is not a valid Parquet file ({reason}) "
        "(write it again with pandas/pyarrow/polars, or check it is not a Git LFS pointer)\n"
    )


def test_schema_not_yaml(mlci: Invoker, tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("a\n1\n")
    (tmp_path / "s.yaml").write_text("columns:\n  a: [int64\n")
    assert _bad_input(mlci, tmp_path, "d.csv", "-s", "s.yaml") == (
        "mlci: error: s.yaml:3:1: schema file is not valid YAML: did not find expected ',' or ']'\n"
    )


def test_schema_not_pandera(mlci: Invoker, tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("a\n1\n")
    (tmp_path / "s.yaml").write_text("metrics:\n  files: [m.json]\n")
    assert _bad_input(mlci, tmp_path, "d.csv", "-s", "s.yaml") == (
        "mlci: error: s.yaml: is not a pandera schema (no `columns:` or `schema_type:` at the "
        "top level) (write one with `mlci schema infer DATA -o schema.yaml` or pandera's "
        "to_yaml())\n"
    )


def test_schema_with_unknown_check_names_the_column_line(mlci: Invoker, tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("a,b\n1,2\n")
    (tmp_path / "s.yaml").write_text(
        "columns:\n  a:\n    dtype: int64\n  b:\n    dtype: int64\n    greater_thn: 0\n"
    )
    assert _bad_input(mlci, tmp_path, "d.csv", "-s", "s.yaml") == (
        "mlci: error: s.yaml:6: is not a valid pandera schema: column 'b': "
        "unknown check or option 'greater_thn' (did you mean 'greater_than'?)\n"
    )
    (tmp_path / "s.yaml").write_text("columns:\n  a:\n    dtype: int64\n  b:\n    dtype: intt64\n")
    assert _bad_input(mlci, tmp_path, "d.csv", "-s", "s.yaml") == (
        "mlci: error: s.yaml:4: is not a valid pandera schema: column 'b': "
        "unknown dtype (data type 'intt64' not understood)\n"
    )


def test_module_that_does_not_import(mlci: Invoker, tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("a\n1\n")
    (tmp_path / "broken.py").write_text("import pandera\nraise RuntimeError('boom')\n")
    assert _bad_input(mlci, tmp_path, "d.csv", "-s", "nothere:schema") == (
        "mlci: error: cannot import 'nothere' for schema 'nothere:schema': no module named "
        f"'nothere' (the module is looked up in {tmp_path} and on sys.path)\n"
    )
    assert _bad_input(mlci, tmp_path, "d.csv", "-s", "broken:schema") == (
        "mlci: error: broken.py:2: importing schema 'broken:schema' failed: RuntimeError: boom\n"
    )


def test_schema_required_with_data(mlci: Invoker, tmp_path: Path) -> None:
    result = mlci("validate", "d.csv", cwd=tmp_path)
    assert result.exit_code == 2
    assert "give the schema of DATA with --schema SCHEMA" in result.stderr


def test_chunked_polars_is_refused(mlci: Invoker, schema_dir: Path) -> None:
    (schema_dir / "d.csv").write_text("a,b\n1,2\n")
    assert _bad_input(
        mlci, schema_dir, "d.csv", "-s", "s.yaml", "--engine", "polars", "--chunksize", "5"
    ) == (
        "mlci: error: d.csv: chunked validation runs on the pandas engine (drop `chunksize` to "
        "validate with polars (it needs no chunks for speed), or use `engine: pandas`)\n"
    )


def test_line_map_skips_blank_lines_and_follows_quoted_newlines(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text('a,b\n1,"x\ny"\n\n2,z\n3,w\n')
    line_map = LineMap(DataFile(path=path, format="csv"))
    assert line_map.lines([0, 1, 2, 7]) == {0: 2, 1: 5, 2: 6}
    line_map.close()


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("block", [7, 64, 1 << 20])
def test_line_map_agrees_with_the_csv_module(
    tmp_path: Path, seed: int, block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Mostly plain lines (the fast path counts newlines), with quoted newlines, blank lines and
    # CRLF here and there (the careful path); small blocks put boundaries everywhere.
    rng = np.random.default_rng(seed)
    lines = ["a,b"]
    for number in range(300):
        kind = rng.integers(0, 20)
        if kind == 0:
            lines.append(f'{number},"two\nlines"')
        elif kind == 1:
            lines.append("")
        elif kind == 2:
            lines.append(f"{number},crlf\r")
        else:
            lines.append(f"{number},{'x' * int(rng.integers(1, 12))}")
    text = "\n".join(lines) + ("\n" if seed % 2 else "")
    path = tmp_path / "d.csv"
    path.write_bytes(text.encode())
    monkeypatch.setattr(LineMap, "BLOCK", block)
    line_map = LineMap(DataFile(path=path, format="csv"))
    rows = list(range(320))
    assert line_map._lines_quickly(rows) == line_map._lines_slowly(rows)
    line_map.close()


def _pandera_failures(schema: Any, frame: Any) -> Any:
    try:
        schema.validate(frame, lazy=True)
    except (pa.errors.SchemaErrors, pap.errors.SchemaErrors) as errors:
        return errors.failure_cases
    raise AssertionError("expected failures")
