"""What mlci says when Spark cannot read a dataset: the line of Spark's error that names the
problem (`_reason`), on the text py4j and pyspark give, copied from pyspark 4.0 (the py4j text
is what `Py4JJavaError` prints, its Java stack cut short)."""

from __future__ import annotations

import pytest

from mlci.sources.spark_data import _reason

# A Spark job failed in the JVM: py4j's first line names only the call (o28.parquet).
PY4J_FOOTER = (
    "An error occurred while calling o28.parquet.\n"
    ": org.apache.spark.SparkException: [FAILED_READ_FILE.CANNOT_READ_FILE_FOOTER] Encountered "
    "error while reading file file:/data/broken.parquet. Could not read footer. Please ensure "
    "that the file is in either ORC or Parquet format.\n"
    "If not, please convert it to a valid format. If the file is in the valid format, please "
    "check if it is corrupt.\n"
    "\tat org.apache.spark.sql.errors.QueryExecutionErrors$.cannotReadFooterForFileError"
    "(QueryExecutionErrors.scala:1109)\n"
)
# py4j itself failed (no Java exception class of Spark's): its own class is stripped the same way.
PY4J_METHOD = (
    "An error occurred while calling o41.tableExists. Trace:\n"
    "py4j.Py4JException: Method tableExists([class java.lang.Integer]) does not exist\n"
    "\tat py4j.reflection.ReflectionEngine.getMethod(ReflectionEngine.java:321)\n"
)
# pyspark turned the Java exception into its own (AnalysisException): its first line is it.
ANALYSIS = "[PATH_NOT_FOUND] Path does not exist: file:/data/nothere.parquet. SQLSTATE: 42K03"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            PY4J_FOOTER,
            "[FAILED_READ_FILE.CANNOT_READ_FILE_FOOTER] Encountered error while reading file "
            "file:/data/broken.parquet. Could not read footer. Please ensure that the file is in "
            "either ORC or Parquet format.",
        ),
        (PY4J_METHOD, "Method tableExists([class java.lang.Integer]) does not exist"),
        (ANALYSIS, ANALYSIS),
        # py4j's line with nothing after it is still better than nothing.
        ("An error occurred while calling o7.json.", "An error occurred while calling o7.json."),
        # A message that only looks like a Java class is left alone outside py4j's text.
        ("java.io.IOException: disk full\nmore", "java.io.IOException: disk full"),
    ],
    ids=["py4j-spark", "py4j-own", "pyspark", "py4j-bare", "plain"],
)
def test_the_reason_is_the_line_that_names_the_problem(text: str, reason: str) -> None:
    assert _reason(Exception(text)) == reason


def test_an_empty_message_gives_the_exception_class() -> None:
    assert _reason(ConnectionResetError()) == "ConnectionResetError"
    assert _reason(RuntimeError("  \n ")) == "RuntimeError"


def test_a_long_line_is_cut() -> None:
    assert _reason(
        Exception("An error occurred while calling o1.csv.\n: x.YError: " + "z" * 400)
    ) == ("z" * 300)
