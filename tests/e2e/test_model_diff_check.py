"""The model diff in `mlci check`: the iris example and examples/regions (a slice column and a
slice gate) in the terminal, the markdown comment and the JSON report; bad paired predictions
are exit 2 with one line; the docs' runnable example runs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Invoker

ROOT = Path(__file__).resolve().parents[2]
REGIONS = ROOT / "examples" / "regions"


@pytest.fixture
def iris(trained_iris: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "iris"
    shutil.copytree(trained_iris, copy)
    return copy


@pytest.fixture(scope="session")
def trained_regions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/regions after `python train.py --baseline && python train.py`."""
    pytest.importorskip("sklearn")
    target = tmp_path_factory.mktemp("regions") / "regions"
    shutil.copytree(REGIONS, target, ignore=shutil.ignore_patterns("data", "baseline", "*.csv"))
    for args in (["--baseline"], []):
        subprocess.run(
            [sys.executable, "train.py", *args], cwd=target, check=True, capture_output=True
        )
    return target


@pytest.fixture
def regions(trained_regions: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "regions"
    shutil.copytree(trained_regions, copy)
    return copy


def test_iris_shows_the_model_diff_everywhere(mlci: Invoker, iris: Path) -> None:
    result = mlci("check", "-o", "report.md", cwd=iris)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "iris classifier: PASSED" in result.stdout
    assert "60 paired examples" in result.stdout.splitlines()[0]  # few: said in the headline
    for title in ("Model metrics (60 paired examples)", "Per class", "Confusion matrix"):
        assert title in result.stdout
    assert "Changed predictions: 2 fixed, 0 broken" in result.stdout
    markdown = (iris / "report.md").read_text()
    assert "#### Model diff" in markdown
    assert "| virginica | 0 | 0 (-2) | 20 (+2) |" in markdown
    assert "| Change | 95% CI (paired) |" in markdown  # the metrics table's paired intervals
    report = json.loads(mlci("check", "--format", "json", cwd=iris).stdout)
    model = report["model"]
    assert model["task"] == "multiclass"
    assert model["examples"] == {"head": 60, "base": 60, "paired": 60}
    accuracy = model["metrics"]["accuracy"]
    assert accuracy["old"] == 0.95
    assert accuracy["diff"] == pytest.approx(1 / 30)
    assert accuracy["ci_low"] <= accuracy["diff"] <= accuracy["ci_high"]
    assert [row["class"] for row in model["per_class"]] == ["setosa", "versicolor", "virginica"]
    assert set(model["per_class"][0]) >= {"class", "support", "precision", "recall", "f1"}
    assert model["confusion_matrix"]["labels"] == ["setosa", "versicolor", "virginica"]
    assert model["confusion_matrix"]["head"][2] == [0, 0, 20]
    assert model["changed"]["fixed"] == 2
    assert model["changed"]["broken"] == 0


def test_a_slice_gate_fails_a_pr_better_overall_but_worse_in_one_region(
    mlci: Invoker, regions: Path
) -> None:
    result = mlci("check", "-o", "report.md", cwd=regions)
    assert result.exit_code == 1, result.stdout + result.stderr
    failing = [line for line in result.stdout.splitlines() if " FAIL " in line]
    assert failing, result.stdout
    assert all("(slices)" in line and "region=east" in line for line in failing)
    assert re.search(r"accuracy\s+max_drop\s+\S+\s+\S+\s+\S+\s+pass", result.stdout)
    markdown = (regions / "report.md").read_text()
    assert "1 of 4 slices fail (region=east)" in markdown
    assert "Slices" in markdown
    report = json.loads(mlci("check", "--format", "json", cwd=regions).stdout)
    model = report["model"]
    east = next(row for row in model["slices"] if row["value"] == "east")
    assert east["column"] == "region"
    assert east["metrics"]["accuracy"]["diff"] < -0.2
    assert model["metrics"]["accuracy"]["diff"] > 0
    broken = model["changed"]["examples"]
    assert len(broken) == 5
    assert set(broken[0]["features"]) >= {"region", "band_0"}


SIGNIFICANCE_GATES = """
  - metric: accuracy
    significance: {}
  - metric: error_rate
    significance: {}
  - metric: f1_macro
    significance: {}
  - metric: balanced_accuracy
    significance: {}
"""


@pytest.mark.parametrize("example", ["iris", "regions"])
def test_a_gate_and_the_model_diff_give_the_same_interval(
    mlci: Invoker, example: str, request: pytest.FixtureRequest
) -> None:
    """One method in one place: the significance rule's interval of a metric is the model
    diff's, to the last digit (same seed, same resamples)."""
    folder: Path = request.getfixturevalue(example)
    config = (folder / "mlci.yaml").read_text()
    config = config.replace("\ngates:\n", "\ngates:" + SIGNIFICANCE_GATES, 1)
    (folder / "mlci.yaml").write_text(config)
    report = json.loads(mlci("check", "--format", "json", cwd=folder).stdout)
    rows = {row["metric"]: row for row in report["gates"] if row["rule"] == "significance"}
    assert set(rows) >= {"accuracy", "error_rate", "f1_macro", "balanced_accuracy"}
    metrics = report["model"]["metrics"]
    for name in ("accuracy", "f1_macro", "balanced_accuracy"):
        details = rows[name]["details"]
        assert (details["ci_low"], details["ci_high"]) == (
            metrics[name]["ci_low"],
            metrics[name]["ci_high"],
        ), name
    # The error rate is the accuracy's mirror: its interval, negated.
    error = rows["error_rate"]["details"]
    assert error["ci_low"] == pytest.approx(-metrics["accuracy"]["ci_high"], abs=1e-15)
    assert error["ci_high"] == pytest.approx(-metrics["accuracy"]["ci_low"], abs=1e-15)


def test_bad_paired_predictions_are_exit_2_with_one_line(mlci: Invoker, iris: Path) -> None:
    lines = (iris / "predictions.csv").read_text().splitlines()
    duplicated = [*lines[:3], lines[1], *lines[3:]]
    (iris / "predictions.csv").write_text("\n".join(duplicated) + "\n")
    result = mlci("check", cwd=iris)
    assert result.exit_code == 2
    assert "predictions.csv: 1 id appear more than once in column 'id'" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_documented_example_runs(tmp_path: Path) -> None:
    pytest.importorskip("pandas")
    text = (ROOT / "docs" / "model-diff.md").read_text()
    block = text.split("<!-- model-diff-demo -->\n```bash\n", 1)[1].split("\n```", 1)[0]
    environment = dict(
        os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    )
    done = subprocess.run(
        ["bash", "-c", block],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "region=east" in done.stdout
