"""Every Mermaid chart mlci can draw, parsed by Mermaid itself (tests/renderers.py): curves of
binary, multiclass and regression models, hostile names, one class, many classes, negative
values and NaN."""

from __future__ import annotations

import math

import numpy as np
import pytest
from renderers import Chromium, MermaidParser

from mlci.checks.curves import classification_curves, regression_curves
from mlci.report.charts import (
    MAX_BARS,
    Chart,
    history_chart,
    mermaid_chart,
    mermaid_text,
    model_curve_charts,
    paired_bar_chart,
)

HOSTILE = [
    'a"b',
    "`code` ```",
    "%%{init: {'theme': 'dark'}}%%",
    "x]; y[",
    "line\nbreak",
    "<script>alert(1)</script>",
    "@octocat #1 https://evil.example",
    "ünïcödé 名前",
    "\u202eevil",
    "a,b",
    "-",
    "",
    " ",
    "x" * 300,
]


def blocks(charts: list[Chart]) -> list[str]:
    return [block for block in map(mermaid_chart, charts) if block is not None]


def assert_parse(mermaid: MermaidParser, charts: list[Chart], at_least: int = 1) -> list[str]:
    found = blocks(charts)
    assert len(found) >= at_least
    mermaid.assert_parses("\n\n".join(found), at_least=len(found))
    return found


def binary_scores(seed: int = 0, n: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    base = np.clip(rng.normal(0.4 + 0.2 * y, 0.25), 0, 1)
    head = np.clip(base + 0.2 * (y - 0.5), 0, 1)
    return y, head, base


def test_binary_curves_parse(mermaid: MermaidParser) -> None:
    y, head, base = binary_scores()
    charts = model_curve_charts(classification_curves(y, head, base))
    assert [chart.key for chart in charts] == ["roc", "pr", "calibration"]
    found = assert_parse(mermaid, charts, at_least=3)
    roc = found[0]
    assert 'line "base" [' in roc
    assert 'line "head" [' in roc
    assert 'y-axis "true positive rate" 0 --> 1' in roc
    # The title names the colours: GitHub's older Mermaid draws no legend.
    assert "base grey, head blue" in roc
    # The numbers are the table's: 21 points, no exponent notation.
    assert len(charts[0].table.rows) == 21
    assert "e-" not in roc
    assert "e+" not in roc


def test_multiclass_curves_with_hostile_class_names_parse(mermaid: MermaidParser) -> None:
    rng = np.random.default_rng(1)
    classes = HOSTILE[:6]
    y = np.array(classes, dtype=object)[rng.integers(0, len(classes), 300)]
    head = rng.dirichlet(np.ones(len(classes)), 300)
    base = rng.dirichlet(np.ones(len(classes)), 300)
    charts = model_curve_charts(classification_curves(y, head, base, classes=classes))
    assert charts[0].note is not None
    assert_parse(mermaid, charts, at_least=3)


def test_one_class_draws_what_it_can(mermaid: MermaidParser) -> None:
    y = np.ones(50)
    charts = model_curve_charts(classification_curves(y, np.linspace(0, 1, 50)))
    drawn = blocks(charts)
    # No ROC without negatives: the table says "-", the chart is left out; PR and calibration stay.
    assert mermaid_chart(charts[0]) is None
    assert all(row[1] == "-" for row in charts[0].table.rows)
    assert_parse(mermaid, charts[1:], at_least=2)
    assert len(drawn) == 2


def test_calibration_leaves_out_empty_bins(mermaid: MermaidParser) -> None:
    y, head, base = binary_scores(2)
    head = head * 0.5  # every head score below 0.5: the upper bins are empty
    calibration = model_curve_charts(classification_curves(y, head, base))[2]
    block = mermaid_chart(calibration)
    assert block is not None
    assert block.count('"') < 2 * 10 + 10  # fewer than ten categories drawn
    assert any(row[2] == "-" for row in calibration.table.rows)
    assert_parse(mermaid, [calibration])


def test_regression_curves_parse_with_negative_values(mermaid: MermaidParser) -> None:
    rng = np.random.default_rng(3)
    actual = rng.normal(-50, 20, 500)
    charts = model_curve_charts(
        regression_curves(actual, actual + rng.normal(0, 5, 500), actual + rng.normal(3, 9, 500))
    )
    assert [chart.key for chart in charts] == ["residuals", "deciles"]
    found = assert_parse(mermaid, charts, at_least=2)
    assert 'bar "base" [' in found[0]
    assert '"-' in found[0]  # negative residual bins
    assert 'line "head actual" [' in found[1]


@pytest.mark.parametrize("count", [1, 2, 60])
def test_per_class_bars_parse_for_one_few_and_many_classes(
    mermaid: MermaidParser, count: int
) -> None:
    rows = [
        (HOSTILE[i % len(HOSTILE)] + str(i), 0.5 + i / 200, 0.55 + (i % 7) / 100)
        for i in range(count)
    ]
    chart = paired_bar_chart("per_class", "F1 per class", "class", "F1", rows, y_range=(0, 1))
    assert len(chart.table.rows) == count
    assert len(chart.categories) == 2 * min(count, MAX_BARS)
    assert (chart.note is not None) == (count > MAX_BARS)
    assert_parse(mermaid, [chart])


def test_slice_bars_with_negative_values_and_nan(mermaid: MermaidParser) -> None:
    rows = [
        ("region=north", -0.4, 0.2),
        ("region=<b>south</b>", 0.3, -1.5),
        ("region=|east|", math.nan, 0.1),
        ("region=west", 0.2, None),
    ]
    chart = paired_bar_chart("slices", 'R² by "region"', "slice", "r2", rows)
    block = mermaid_chart(chart)
    assert block is not None
    assert "NaN" not in block
    assert [row[1] for row in chart.table.rows] == ["-0.4", "0.3", "NaN", "0.2"]
    assert chart.table.rows[3][2] == "-"
    assert_parse(mermaid, [chart])


def test_history_parses(mermaid: MermaidParser) -> None:
    runs = [(f"run {i}", 0.9 + i / 100) for i in range(8)] + [("PR #7", 0.97)]
    assert_parse(mermaid, [history_chart("accuracy`]", runs)])


def test_every_hostile_name_parses_alone(mermaid: MermaidParser) -> None:
    charts = [paired_bar_chart("slices", name, name, name, [(name, 1.0, 2.0)]) for name in HOSTILE]
    assert_parse(mermaid, charts, at_least=len(HOSTILE))


def test_mermaid_text_is_inert() -> None:
    for name in HOSTILE:
        text = mermaid_text(name)
        assert not set(text) & set('"`\n[];{}<>#@\u202e'), text
        assert "%%" not in text
        assert len(text) <= 40


# --- charts in the markdown report ----------------------------------------------------------

from mlci.report.markdown import COMMENT_BUDGET, render_fitted, render_markdown_report  # noqa: E402
from mlci.report.model import Report  # noqa: E402
from mlci.report.options import RenderOptions  # noqa: E402


def curves_report(seed: int = 0) -> Report:
    y, head, base = binary_scores(seed)
    return Report(title="binary model", curves=classification_curves(y, head, base))


def test_markdown_report_shows_each_chart_collapsed_with_its_table(mermaid: MermaidParser) -> None:
    body = render_markdown_report(curves_report(), RenderOptions())
    assert "#### Charts" in body
    assert body.count("<details><summary>📈 ") == 3
    assert "<details><summary>📈 ROC curve: AUC 0." in body
    blocks = mermaid.assert_parses(body, at_least=3)
    assert len(blocks) == 3
    roc = body.split("📈 ROC curve")[1].split("</details>")[0]
    assert "| false positive rate | base | head |" in roc
    assert roc.count("\n| 0") + roc.count("\n| 1 ") == 21  # one row per point


def test_config_turns_charts_off_one_by_one() -> None:
    body = render_markdown_report(curves_report(), RenderOptions(charts=frozenset({"pr"})))
    assert body.count("```mermaid") == 1
    assert "Precision-recall" in body
    assert "```mermaid" not in render_markdown_report(curves_report(), RenderOptions(mermaid=False))


def test_charts_past_the_budget_are_left_out_and_said_so() -> None:
    body = render_markdown_report(curves_report(), RenderOptions(chart_bytes=3_000))
    assert 1 <= body.count("```mermaid") < 3
    assert "left out to keep this page within its size limit" in body


def test_charts_go_before_tables_when_the_comment_is_too_long() -> None:
    report = curves_report()
    full = render_markdown_report(report, RenderOptions())
    without_charts = render_fitted(report, RenderOptions(), len(full.encode()) - 100)
    assert "```mermaid" not in without_charts
    assert "3 charts left out" in without_charts
    assert len(render_fitted(report, RenderOptions(), COMMENT_BUDGET).encode()) <= COMMENT_BUDGET


def test_every_chart_is_drawn_by_mermaid_in_chromium(chromium: Chromium) -> None:
    # Parsing is not drawing: Mermaid's browser bundle must turn each block into an SVG too.
    y, head, base = binary_scores(4)
    rng = np.random.default_rng(4)
    actual = rng.normal(-5, 2, 300)
    charts = [
        *model_curve_charts(classification_curves(y, head, base)),
        *model_curve_charts(regression_curves(actual, actual + rng.normal(0, 1, 300), actual)),
        paired_bar_chart(
            "per_class", "F1 per class", "class", "F1", [(n, 0.4, 0.6) for n in HOSTILE]
        ),
        paired_bar_chart(
            "slices", "r2 by slice", "slice", "r2", [("a", -0.5, 0.2), ("b", 0.1, math.nan)]
        ),
        history_chart("accuracy", [("run 1", 0.9), ("run 2", 0.92), ("PR", 0.95)]),
    ]
    found = blocks(charts)
    texts = [block.split("\n", 1)[1].rsplit("\n", 1)[0] for block in found]  # without the fence
    assert chromium.render_mermaid(texts) == [None] * len(texts)


def test_the_trend_charts_in_the_comment_parse(mermaid: MermaidParser) -> None:
    """The head against the base-branch trend, as `mlci check` puts it in the comment: one
    chart per gated metric (hostile names, a commit without a value), each parsed by Mermaid;
    the names in the trend table are escaped."""
    from mlci.report.model import HistoryTrend, TrendMetric, TrendPoint

    names = ["accuracy", HOSTILE[1], HOSTILE[5], HOSTILE[2]]
    trend = HistoryTrend(
        source="origin/mlci-history",
        metrics=[TrendMetric("metrics.json", name, "higher") for name in names],
        points=[
            TrendPoint(f"{index:x}" * 40, "2026-11-30T21:00:00Z", [0.9 + index / 100] * 4)
            for index in range(1, 10)
        ],
        head=[0.95, None, -0.5, 1e6],
    )
    trend.points[3].values[0] = None
    report = Report(history=trend)
    markdown = render_markdown_report(report, RenderOptions())
    blocks = mermaid.assert_parses(markdown, at_least=4)
    assert all("this PR" in block for block in blocks)
    assert "<script>" not in markdown
    assert "| Metric | 6666666 | 7777777 | 8888888 | 9999999 | aaaaaaa | bbbbbbb |" not in markdown
    assert "| Metric | 4444444 | 5555555 | 6666666 | 7777777 | 8888888 | 9999999 | this PR |" in (
        markdown
    )
