"""Java for the Spark engine on GitHub: the reusable workflows install it with the pinned
actions/setup-java when their `java-version` input is set, and the one-line error of a job
without Java names that same pinned step (docs/github-action.md, "Java for the Spark engine")."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlci.errors import MlciError
from mlci.integrations.spark_session import SETUP_JAVA, SETUP_JAVA_VERSION, check_java

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
# The jobs that validate the datasets of mlci.yaml (train, then `mlci check`).
CHECK_JOBS = [("train-on-pr.yml", "mlci"), ("deploy-on-merge.yml", "gates")]


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    data["on"] = data.pop(True)  # YAML 1.1 reads the key `on` as True
    return data  # type: ignore[no-any-return]


@pytest.mark.parametrize(("workflow", "job"), CHECK_JOBS)
def test_java_is_set_up_before_mlci_when_asked(workflow: str, job: str) -> None:
    data = load(WORKFLOWS / workflow)
    java_input = data["on"]["workflow_call"]["inputs"]["java-version"]
    assert (java_input["type"], java_input["default"]) == ("string", "")
    steps = data["jobs"][job]["steps"]
    uses = [step.get("uses", "") for step in steps]
    (java,) = [step for step in steps if step.get("uses", "").startswith("actions/setup-java@")]
    assert java["uses"] == SETUP_JAVA
    assert java["if"] == "inputs.java-version != ''"
    assert java["with"] == {
        "distribution": "temurin",
        "java-version": "${{ inputs.java-version }}",
    }
    first_mlci = uses.index("mlci/mlci@v1")
    assert uses.index(SETUP_JAVA) < first_mlci  # before training and the check


def test_the_pin_is_the_one_the_error_names() -> None:
    """Every setup-java of the workflows and docs is SETUP_JAVA, its comment the version."""
    pinned = re.compile(r"actions/setup-java@([0-9a-f]{40}) # (v[\d.]+)")
    texts = [path.read_text() for path in sorted(WORKFLOWS.glob("*.yml"))]
    texts.append((ROOT / "docs" / "github-action.md").read_text())
    found = {match for text in texts for match in pinned.findall(text)}
    assert found == {(SETUP_JAVA.split("@")[1], SETUP_JAVA_VERSION)}


def _java_11(tmp_path: Path) -> Path:
    home = tmp_path / "jdk11"
    (home / "bin").mkdir(parents=True)
    java = home / "bin" / "java"
    java.write_text("#!/bin/sh\necho 'openjdk version \"11.0.22\" 2024-01-16' >&2\n")
    java.chmod(0o755)
    return home


@pytest.mark.parametrize("java", ["none", "11"])
def test_on_github_the_error_names_the_step_to_add(java: str, tmp_path: Path) -> None:
    environ = {"PATH": str(tmp_path), "GITHUB_ACTIONS": "true"}
    if java == "11":
        environ["JAVA_HOME"] = str(_java_11(tmp_path))
    with pytest.raises(MlciError) as raised:
        check_java(environ)
    assert raised.value.exit_code == 2
    hint = raised.value.hint or ""
    assert f"add a step before mlci: `uses: {SETUP_JAVA}` ({SETUP_JAVA_VERSION})" in hint
    assert "with `distribution: temurin` and `java-version: '17'`" in hint
    assert "set their input `java-version: '17'`" in hint
    assert "apt-get" not in hint


def test_off_github_the_error_names_the_package(tmp_path: Path) -> None:
    with pytest.raises(MlciError) as raised:
        check_java({"PATH": str(tmp_path), "JAVA_HOME": str(_java_11(tmp_path))})
    assert raised.value.hint == (
        "install Java 17 or newer (Debian/Ubuntu: apt-get install openjdk-17-jre-headless), "
        "and point JAVA_HOME at it"
    )
