"""End to end under `act`: Java for the Spark engine on GitHub. The iris example validates its
data with `engine: spark` in a job whose `java` is a Java 11 (as on GitHub's ubuntu-22.04
image): with the reusable workflow's `java-version: "17"`, its actions/setup-java step puts
Java 17 on PATH and JAVA_HOME before mlci, and the check passes; without it, mlci stops with
its one line naming that step and input (docs/github-action.md, "Java for the Spark engine").

The act stand-in of actions/setup-java (tests/act_stubs/setup-java/) points JAVA_HOME and PATH
at the machine's own Java 17, as setup-java does at the Temurin it installs.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml
from act_workflows import (
    ACT_MARKS,
    OUTPUTS_JOB,
    Act,
    PullRequestOnGitHub,
    iris_config,
    iris_repo,
    log_of,
    outputs,
    report_in,
    step_outputs,
    template,
)
from conftest import GitRepo
from spark_session import SMALL_SPARK

from mlci.integrations.spark_session import SETUP_JAVA, find_java, java_version

pytestmark = ACT_MARKS


@pytest.fixture
def java_17_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The job's `java` is a Java 11 and no JAVA_HOME is set; returns the home of the machine's
    Java 17 or newer, which the setup-java stand-in is given ($MLCI_ACT_JAVA_HOME)."""
    java = find_java()
    if java is None or (java_version(java.resolve()) or 0) != 17:
        pytest.skip("needs Java 17 on the machine (the version the workflow asks for)")
    old = tmp_path / "jdk11" / "bin"
    old.mkdir(parents=True)
    (old / "java").write_text("#!/bin/sh\necho 'openjdk version \"11.0.22\" 2024-01-16' >&2\n")
    (old / "java").chmod(0o755)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", f"{old}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("MLCI_ACT_JAVA_HOME", str(java.resolve().parents[1]))
    # Spark's scratch space stays in the test's directory.
    monkeypatch.setenv("SPARK_LOCAL_DIRS", str(tmp_path / "spark-local"))
    monkeypatch.setenv("SPARK_LOCAL_IP", "127.0.0.1")
    return java.resolve().parents[1]


def spark_iris_config(work: Path) -> str:
    """examples/iris/mlci.yaml with its dataset validated by a small local Spark session."""
    config = yaml.safe_load(iris_config())
    config["datasets"][0]["engine"] = "spark"
    config["spark"] = {
        "master": "local[1]",
        "conf": {
            **SMALL_SPARK,
            "spark.local.dir": str(work / "spark-local"),
            "spark.sql.warehouse.dir": str(work / "warehouse"),
            "spark.driver.extraJavaOptions": f"-Dderby.system.home={work}",
        },
    }
    return yaml.safe_dump(config, sort_keys=False)


def spark_pull_request(
    tmp_path: Path, *, mlci_source: Path, java_version_input: str | None
) -> tuple[GitRepo, str, str]:
    workflow = template("mlci.yml").replace("extras: sklearn", "extras: sklearn,spark")
    if java_version_input is not None:
        workflow = workflow.replace(
            "extras: sklearn,spark",
            f'extras: sklearn,spark\n      java-version: "{java_version_input}"',
        )
    repo, base = iris_repo(
        tmp_path / "iris",
        workflow=workflow + OUTPUTS_JOB,
        config=spark_iris_config(tmp_path),
        mlci_source=mlci_source,
    )
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("NOTES.md", "Validated with Spark.\n")
    return repo, base, repo.commit("spark")


def run_pull_request(
    tmp_path: Path, act: Act, java_version_input: str | None
) -> tuple[subprocess.CompletedProcess[str], Path]:
    repo, base, head = spark_pull_request(
        tmp_path, mlci_source=act.action_source, java_version_input=java_version_input
    )
    artifacts = tmp_path / "artifacts"
    with PullRequestOnGitHub() as github:
        done = act.pull_request(repo, github, base, head, artifacts=artifacts)
    return done, artifacts


def test_java_version_sets_up_java_17_before_the_spark_check(
    tmp_path: Path, act: Act, java_17_home: Path
) -> None:
    done, artifacts = run_pull_request(tmp_path, act, "17")

    assert done.returncode == 0, log_of(done)
    assert "Success - Main Set up Java (datasets with engine spark)" in done.stdout
    assert f"::set-env:: JAVA_HOME={java_17_home}" in done.stdout
    assert f"::add-path:: {java_17_home / 'bin'}" in done.stdout
    assert outputs(artifacts)["PASSED"] == "true"
    (dataset,) = report_in(artifacts)["datasets"]
    assert (dataset["name"], dataset["status"]) == ("iris", "valid"), dataset
    # Spark validated it (the PySpark backend's own gap, which the pandas one does not have).
    assert any("PySpark backend" in note for note in dataset["unchecked"]), dataset
    assert "found Java 11" not in done.stdout + done.stderr


def test_without_java_version_the_job_says_which_step_to_add(
    tmp_path: Path, act: Act, java_17_home: Path
) -> None:
    done, _ = run_pull_request(tmp_path, act, None)

    assert done.returncode != 0, log_of(done)
    log = done.stdout + done.stderr
    assert "Main Set up Java" not in log  # skipped: the input is empty
    # The one line, and the workflow command that annotates the job with it.
    assert "mlci: error: the Spark engine needs Java 17 or newer; found Java 11" in log
    assert "::error title=mlci datasets%3A input error::the Spark engine needs Java 17" in log
    assert f"`uses: {SETUP_JAVA}`" in log, log_of(done)
    assert "set their input `java-version: '17'`" in log, log_of(done)
    assert step_outputs(done, "train and check")["exit-code"] == "2"
