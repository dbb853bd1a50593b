"""The HTML report opened in headless Chromium (tests/renderers.py): every section and chart
present, no console error, no request to anywhere, hostile names shown as text; and written by
`mlci check -o report.html`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from renderers import Chromium

from mlci.checks.curves import classification_curves, regression_curves
from mlci.report.comparison import ColumnDrift, DataChanges, DatasetComparison
from mlci.report.html import render_html
from mlci.report.model import (
    CheckFailure,
    DataChange,
    DatasetResult,
    FailureCase,
    GateResult,
    MetricChange,
    MetricsDiff,
    Problem,
    Report,
)
from mlci.report.options import RenderOptions

HOSTILE = "f1|<script>alert(1)</script> <img src=x onerror=alert(2)> @octocat #123 `x` **b** $x$ [l](http://e.vil)"
SECTIONS = ["summary", "gates", "metrics", "charts", "data", "drift", "data-changes", "problems"]


def full_report(name: str = HOSTILE) -> Report:
    rng = np.random.default_rng(0)
    classes = [name, "versicolor", "virginica"]
    y = np.array(classes, dtype=object)[rng.integers(0, 3, 300)]
    onehot = (y[:, None] == np.array(classes, dtype=object)[None, :]).astype(float)
    head = rng.dirichlet(np.ones(3), 300) * 0.5 + onehot * 0.5
    base = rng.dirichlet(np.ones(3), 300) * 0.7 + onehot * 0.3
    report = Report(title=f"report of {name}", base="abc123")
    report.curves = classification_curves(y, head, base, classes=classes)
    report.diff = MetricsDiff(
        base="abc123",
        head="workspace",
        metrics=[
            MetricChange("metrics.json", name, 0.9, 0.95, 0.05, 0.0556, "higher", "improved"),
            MetricChange("metrics.json", "loss", 0.4, 0.5, 0.1, 0.25, "lower", "regressed"),
            MetricChange("metrics.json", "f1", 0.5, 0.5, 0.0, 0.0, "higher", "unchanged"),
        ],
        params=[MetricChange("params.yaml", "lr", 0.1, 0.2)],
    )
    report.gates = [
        GateResult(name, "min", "failed", f"{name} too low", observed=0.95, limit=0.99),
        GateResult("loss", "max", "passed", "ok", observed=0.5, limit=1.0, details={"p": 0.01}),
    ]
    report.datasets = [
        DatasetResult(
            name,
            "data.csv",
            "schema.yaml",
            "invalid",
            rows=10,
            columns=2,
            failures=[CheckFailure(name, name, 1, cases=[FailureCase(name, 0, 2)])],
            comparison=DatasetComparison(
                "compared",
                base="abc123",
                data=DataChanges(
                    "compared",
                    rows_before=10,
                    rows_after=10,
                    drift=[ColumnDrift(name, "psi", 0.5, 0.2, "failed")],
                ),
            ),
        )
    ]
    report.data_changes = [
        DataChange("data/x.csv", "modified", "x.dvc", "out", old_size=1, new_size=2)
    ]
    report.problems = [Problem("metrics", f"{name} is broken", path="m.json", line=3)]
    return report


def write(tmp_path: Path, report: Report, options: RenderOptions | None = None) -> Path:
    path = tmp_path / "report.html"
    path.write_text(render_html(report, options or RenderOptions()), encoding="utf-8")
    return path


def test_report_renders_in_chromium_with_no_error_and_no_request(
    chromium: Chromium, tmp_path: Path
) -> None:
    path = write(tmp_path, full_report())
    with chromium.visit(path) as visit:
        page = visit.page
        assert visit.page_errors == []
        assert visit.console_errors == []
        assert visit.requests == []
        for section in SECTIONS:
            assert page.locator(f"#{section}").count() == 1, section
        for key in ("roc", "pr", "calibration"):
            assert page.locator(f"#chart-{key} svg.chart").count() == 1, key
        # Hostile names are text: shown as written, nothing of them became an element.
        assert page.locator("script").count() == 0
        assert page.locator("img").count() == 0
        assert page.locator("main a").count() == 0
        text = page.locator("body").inner_text()
        assert text.count("<script>alert(1)</script>") >= 8
        assert "@octocat #123 `x` **b** $x$" in text
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert (tmp_path / "report.png").stat().st_size > 10_000


def test_report_fits_a_phone_and_follows_dark_mode(chromium: Chromium, tmp_path: Path) -> None:
    path = write(tmp_path, full_report("accuracy"))
    with chromium.visit(path, width=375, dark=True) as visit:
        page = visit.page
        assert visit.console_errors == []
        # Nothing wider than the screen: wide tables scroll inside their own box.
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(13, 17, 23)"
        width = page.evaluate(
            "document.querySelector('#chart-roc svg').getBoundingClientRect().width"
        )
        assert 200 < width <= 375
        page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
    with chromium.visit(path) as visit:
        pdf = visit.page.pdf(path=str(tmp_path / "report.pdf"))
        assert len(pdf) > 10_000


def test_regression_and_empty_reports(chromium: Chromium, tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    actual = rng.normal(0, 1, 200)
    report = Report(curves=regression_curves(actual, actual + rng.normal(0, 0.3, 200), actual))
    with chromium.visit(write(tmp_path, report)) as visit:
        assert visit.console_errors == []
        assert visit.page.locator("#chart-residuals svg").count() == 1
        assert visit.page.locator("#chart-deciles svg").count() == 1
    (tmp_path / "empty").mkdir()
    with chromium.visit(write(tmp_path / "empty", Report())) as visit:
        assert visit.console_errors == []
        assert visit.page.locator("#summary").count() == 1


def test_the_page_forbids_the_network_and_scripts() -> None:
    page = render_html(full_report("accuracy"), RenderOptions())
    assert "default-src 'none'" in page
    assert "<script" not in page
    assert "http://" not in page.replace("http://www.w3.org/", "")
    assert "https://" not in page


def test_charts_are_left_out_when_switched_off() -> None:
    page = render_html(full_report("acc"), RenderOptions(charts=frozenset({"roc"})))
    assert 'id="chart-roc"' in page
    assert 'id="chart-pr"' not in page
    assert "<svg" not in render_html(full_report("acc"), RenderOptions(mermaid=False))


def test_mlci_check_writes_the_html_report(mlci, git_repo, chromium: Chromium) -> None:  # type: ignore[no-untyped-def]
    git_repo.write("metrics.json", json.dumps({"accuracy": 0.9}))
    git_repo.write(
        "mlci.yaml",
        "metrics:\n  files: [metrics.json]\ngates:\n  - metric: accuracy\n    min: 0.8\n",
    )
    git_repo.commit("base")
    git_repo.git("checkout", "-q", "-b", "feature")
    git_repo.write("metrics.json", json.dumps({"accuracy": 0.95}))
    done = mlci("check", "-o", "report.html", cwd=git_repo.path)
    assert done.exit_code == 0, done.stderr
    assert "mlci report" in done.stdout  # the terminal gets the text view
    with chromium.visit(git_repo.path / "report.html") as visit:
        assert visit.console_errors == []
        assert visit.requests == []
        assert visit.page.locator("#gates").count() == 1
        assert visit.page.locator("#metrics td", has_text="0.95").count() == 1


def test_without_matplotlib_the_page_keeps_its_tables(
    mlci, git_repo, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    import sys

    from mlci.report.html import charts_need_extra

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    report = full_report("accuracy")
    assert charts_need_extra(report, RenderOptions())
    page = render_html(report, RenderOptions())
    assert "<svg" not in page
    assert "pip install &#39;mlci[html]&#39;" in page
    assert 'id="chart-roc"' in page  # the chart's table is still there, open
    assert "<details open><summary>Numbers</summary>" in page
