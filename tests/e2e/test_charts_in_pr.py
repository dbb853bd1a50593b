"""A pull request on the binary and the multiclass example, as GitHub Actions runs it: the sticky
comment and the job summary carry the ROC, precision-recall, calibration and per-class charts,
each parsed by Mermaid itself; the HTML report opens in headless Chromium with no error and no
request; hostile class names stay text in all three."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Invoker
from fake_github import FakeGitHub
from renderers import Chromium, MermaidParser

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")

REPO = "octo/repo"
TOKEN = "s3cret-token"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
OUTPUTS = {"data", "model.joblib", "metrics.json", "predictions.csv"}
CHARTS = ["ROC curve", "Precision-recall curve", "Calibration (reliability)", "F1 per class"]
HOSTILE = "<b>mal|ign`ant</b> @octocat #1"


@pytest.fixture(scope="module")
def trained_cancer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/breast_cancer after `python train.py` (a copy: the example is never written)."""
    source = EXAMPLES / "breast_cancer"
    target = tmp_path_factory.mktemp("cancer") / "breast_cancer"
    shutil.copytree(
        source, target, ignore=lambda d, names: OUTPUTS & set(names) if Path(d) == source else set()
    )
    subprocess.run([sys.executable, "train.py"], cwd=target, check=True, capture_output=True)
    return target


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(token=TOKEN) as fake:
        fake.add_pull(REPO, 7, head_sha="f" * 40)
        yield fake


def pull_request_job(
    project: Path, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch, mlci: Invoker
) -> tuple[str, str, Path]:
    """`mlci check --comment --html report.html` in a pull_request job: (comment, summary, html)."""
    for name, value in github.pull_request_job(REPO, "f" * 40, project).items():
        monkeypatch.setenv(name, value)
    summary = project / "summary.md"
    done = mlci("check", "--comment", "--html", "report.html", cwd=project)
    assert done.exit_code == 0, done.stderr
    comments = github.comments(REPO, 7)
    assert len(comments) == 1
    return str(comments[0]["body"]), summary.read_text(), project / "report.html"


def assert_charts(text: str, mermaid: MermaidParser, expected: list[str] = CHARTS) -> list[str]:
    blocks = mermaid.assert_parses(text, at_least=len(expected))
    for title in expected:
        assert f"<details><summary>📈 {title}" in text, title
    return blocks


def assert_page(chromium: Chromium, html: Path, keys: list[str]) -> str:
    with chromium.visit(html) as visit:
        assert visit.page_errors == []
        assert visit.console_errors == []
        assert visit.requests == []
        for key in keys:
            assert visit.page.locator(f"#chart-{key} svg.chart").count() == 1, key
        assert visit.page.locator("#model").count() == 1
        return str(visit.page.locator("body").inner_text())


@pytest.mark.slow
def test_binary_pull_request(
    trained_cancer: Path,
    tmp_path: Path,
    github: FakeGitHub,
    monkeypatch: pytest.MonkeyPatch,
    mlci: Invoker,
    mermaid: MermaidParser,
    chromium: Chromium,
) -> None:
    project = tmp_path / "breast_cancer"
    shutil.copytree(trained_cancer, project)
    comment, summary, html = pull_request_job(project, github, monkeypatch, mlci)
    for text in (comment, summary):
        assert_charts(text, mermaid)
        assert "📈 ROC curve: AUC 0.9862 → 0.9915" in text  # scikit-learn's roc_auc_score
    assert (
        "[HTML report with charts](https://github.test/octo/repo/actions/runs/99#artifacts)"
        in comment
    )
    assert_page(chromium, html, ["roc", "pr", "calibration", "per_class"])


@pytest.mark.slow
def test_multiclass_pull_request(
    trained_iris: Path,
    tmp_path: Path,
    github: FakeGitHub,
    monkeypatch: pytest.MonkeyPatch,
    mlci: Invoker,
    mermaid: MermaidParser,
    chromium: Chromium,
) -> None:
    project = tmp_path / "iris"
    shutil.copytree(trained_iris, project)
    comment, summary, html = pull_request_job(project, github, monkeypatch, mlci)
    for text in (comment, summary):
        assert_charts(text, mermaid)
        assert "micro-averaged over one-vs-rest" in text
    assert_page(chromium, html, ["roc", "pr", "calibration", "per_class"])


def rename_class(path: Path, old: str, new: str) -> None:
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    rows[0] = [f"proba_{new}" if name == f"proba_{old}" else name for name in rows[0]]
    rows[1:] = [[new if cell == old else cell for cell in row] for row in rows[1:]]
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)


@pytest.mark.slow
def test_hostile_class_names_stay_text(
    trained_cancer: Path,
    tmp_path: Path,
    github: FakeGitHub,
    monkeypatch: pytest.MonkeyPatch,
    mlci: Invoker,
    mermaid: MermaidParser,
    chromium: Chromium,
) -> None:
    project = tmp_path / "breast_cancer"
    shutil.copytree(trained_cancer, project)
    for predictions in (project / "predictions.csv", project / "baseline" / "predictions.csv"):
        rename_class(predictions, "malignant", HOSTILE)
    comment, summary, html = pull_request_job(project, github, monkeypatch, mlci)
    for text in (comment, summary):
        blocks = assert_charts(text, mermaid)
        per_class = next(block for block in blocks if "F1 per class" in block)
        assert '["_b_mal_ign_ant_/b... base", "_b_mal_ign_ant_/b... head"' in per_class
        assert "<b>" not in text
        assert "@octocat" not in text.replace("@\u200boctocat", "")
    page = assert_page(chromium, html, ["roc", "pr", "calibration", "per_class"])
    assert HOSTILE in page  # shown as written, in the tables and the model diff
