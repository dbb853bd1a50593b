"""The markdown report: layout, escaping of everything from users' files, the size limits,
the Mermaid chart and user templates. Comments are parsed back with markdown-it-py (tables on,
HTML on, as GitHub renders them) to check that what the reader sees is what the data said."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from markdown_parse import GFM, html_tags, parse_tables

from mlci.errors import ConfigError
from mlci.report.comparison import (
    ColumnDrift,
    DataChanges,
    DatasetComparison,
    SchemaChange,
    SchemaChanges,
)
from mlci.report.markdown import (
    COMMENT_BUDGET,
    COMMENT_LIMIT,
    render_comment,
    render_fitted,
    render_markdown_report,
)
from mlci.report.markdown_text import escape_markdown
from mlci.report.model import (
    CheckFailure,
    DatasetResult,
    FailureCase,
    GateResult,
    MetricChange,
    MetricsDiff,
    Problem,
    Report,
)
from mlci.report.options import RenderOptions

ZWSP = "\u200b"
HOSTILE = "f1|<script>alert(1)</script> @octocat #123 `x` **b** $x$ [l](http://e.vil)\nnext"
ALLOWED_HTML = {
    "<details>",
    "<details open>",
    "</details>",
    "<summary>",
    "</summary>",
    "<sub>",
    "</sub>",
}


def metric(
    name: str, old: float, new: float, verdict: str = "improved", path: str = "metrics.json"
) -> MetricChange:
    diff = new - old
    return MetricChange(
        path=path,
        name=name,
        old=old,
        new=new,
        diff=diff,
        relative=diff / abs(old) if old else None,
        direction="higher",
        verdict=verdict,  # type: ignore[arg-type]
    )


def sample_report() -> Report:
    report = Report(title="mlci report", report_id="default", base="abc123")
    report.diff = MetricsDiff(
        base="abc123",
        head="workspace",
        metrics=[
            metric("accuracy", 0.9, 0.93, "improved"),
            metric("loss", 0.4, 0.45, "regressed"),
            metric("f1", 0.5, 0.5, "unchanged"),
        ],
    )
    report.gates = [
        GateResult("accuracy", "min", "passed", "0.93 >= 0.9", observed=0.93, limit=0.9),
        GateResult(
            "loss",
            "max_increase",
            "failed",
            "rose by 0.05, more than 0.01",
            observed=0.45,
            baseline=0.4,
            limit=0.01,
        ),
    ]
    report.datasets = [
        DatasetResult(
            "train",
            "data/train.csv",
            "schema.yaml",
            "invalid",
            rows=150,
            columns=5,
            failures=[
                CheckFailure(
                    "greater_than_or_equal_to(0)",
                    "sepal_length",
                    2,
                    cases=[FailureCase(-1.0, 3, 5), FailureCase(-2.0, 7, 9)],
                )
            ],
        ),
        DatasetResult("test", "data/test.csv", "schema.yaml", "valid", rows=50, columns=5),
    ]
    return report


OPTIONS = RenderOptions(mermaid=False)


def test_first_line_after_the_marker_is_verdict_and_counts() -> None:
    body = render_markdown_report(sample_report(), OPTIONS)
    lines = body.splitlines()
    assert lines[0] == "<!-- mlci:report id=default -->"
    assert lines[1] == (
        "### ❌ mlci report: failed · gates: 1 failed, 1 passed · datasets: 1 invalid, 1 valid"
        " · metrics: 1 regressed, 1 improved, 1 unchanged"
    )


def test_tables_parse_with_the_values_of_the_report() -> None:
    tables = parse_tables(render_markdown_report(sample_report(), OPTIONS))
    gates, metrics, unchanged, datasets, failures = tables
    assert gates == [
        ["", "Gate", "Rule", "Observed", "Baseline", "Limit", "Why"],
        ["❌", "loss", "max_increase", "0.45", "0.4", "0.01", "rose by 0.05, more than 0.01"],
        ["✅", "accuracy", "min", "0.93", "-", "0.9", "0.93 >= 0.9"],
    ]
    assert metrics == [
        ["Metric", "abc123", "workspace", "Change", ""],
        ["loss", "0.4", "0.45", "▲ +0.05 (+12.50%)", "🔴 worse"],
        ["accuracy", "0.9", "0.93", "▲ +0.03 (+3.33%)", "🟢 better"],
    ]
    assert unchanged == [["Metric", "Value"], ["f1", "0.5"]]
    assert datasets == [
        ["", "Dataset", "Rows", "Columns", "Failing checks", "Schema", "Note"],
        ["❌", "train", "150", "5", "1", "schema.yaml", ""],
        ["✅", "test", "50", "5", "0", "schema.yaml", ""],
    ]
    assert failures == [
        ["Column", "Check", "Failing rows", "Examples"],
        [
            "sepal_length",
            "greater_than_or_equal_to(0)",
            "2",
            "row 3, line 5: -1.0; row 7, line 9: -2.0",
        ],
    ]


def test_hostile_names_render_as_text() -> None:
    report = Report(report_id="default")
    report.diff = MetricsDiff(base="main", head="workspace", metrics=[metric(HOSTILE, 1.0, 2.0)])
    report.gates = [GateResult(HOSTILE, "min", "failed", HOSTILE, observed=2.0, limit=3.0)]
    report.datasets = [
        DatasetResult(
            HOSTILE,
            "d.csv",
            None,
            "invalid",
            failures=[CheckFailure(HOSTILE, HOSTILE, 1, cases=[FailureCase(HOSTILE, 0, 2)])],
            comparison=DatasetComparison(
                "compared",
                base=HOSTILE,
                sha="0" * 40,
                schema=SchemaChanges(
                    "compared",
                    changes=[SchemaChange(HOSTILE, HOSTILE, HOSTILE, None, True, HOSTILE)],
                ),
                data=DataChanges(
                    "compared",
                    rows_before=1,
                    rows_after=1,
                    columns_removed=[HOSTILE],
                    drift=[ColumnDrift(HOSTILE, "psi", 0.5, 0.2, "failed")],
                ),
            ),
        )
    ]
    body = render_markdown_report(report, RenderOptions(mermaid=True))
    # What a reader sees is the name itself, one line, with zero-width spaces after @, # and :
    seen = "f1|<script>alert(1)</script> @\u200boctocat #\u200b123 `x` **b** $x$ [l](http:\u200b//e.vil) next"
    tables = parse_tables(body)
    assert tables[0][1][1] == seen  # the gate
    assert tables[0][1][6] == seen  # its reason
    assert tables[1][1][0] == seen  # the metric
    assert tables[2][1][1] == seen  # the dataset
    assert tables[3][1][:2] == [seen, seen]  # the failing column and check
    assert tables[3][1][3] == "row 0, line 2: " + seen
    assert tables[4][1][:4] == [seen, seen, seen, "-"]  # the schema change
    assert tables[5][1] == [seen, "PSI", "0.5", "0.2", "FAIL"]  # drift
    # Every table row has as many cells as its header: no `|` split a cell.
    for table in tables:
        assert {len(row) for row in table} == {len(table[0])}
    # No HTML but mlci's own, no links, no mentions, no code spans made by the data.
    assert html_tags(body) <= ALLOWED_HTML
    html = GFM.render(body)
    assert "<script" not in html
    assert "<a " not in html.split("<sub>")[0]
    assert "<code>x</code>" not in html
    assert "<strong>" not in html
    # The summary line of the failures (raw HTML, where markdown escapes do not work).
    assert (
        "<summary>❌ f1|&lt;script&gt;alert(1)&lt;/script&gt; @\u200boctocat #\u200b123 `x` **b** $x$"
        in body
    )
    # A metric diff alone draws no chart: the table says it all.
    assert "```mermaid" not in body


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("a|b", "a\\|b"),
        ("@user", "@\u200buser"),
        ("#123", "\\#\u200b123"),
        ("GH-12", "GH-\u200b12"),
        ("<img src=x>", "&lt;img src=x&gt;"),
        ("line\r\nbreak\ttab", "line break tab"),
        ("rtl\u202eevil", "rtlevil"),
        ("$x$ ~y~ *z* _w_ [l]", "\\$x\\$ \\~y\\~ \\*z\\* \\_w\\_ \\[l\\]"),
        ("https://a.b www.c.d", "https:\u200b//a.b www\u200b.c.d"),
    ],
)
def test_escape_markdown(text: str, escaped: str) -> None:
    assert escape_markdown(text) == escaped


@pytest.mark.parametrize(
    "trigger",
    [*"\r\n\t\x00\x1f\x7f\x9f\u2028\u2029\u200e\u202e\u2066&<>\\`*_[]#|~$@", "://", "gh-1", "WWW."],
)
def test_escape_markdown_never_skips_text_it_must_change(trigger: str) -> None:
    # Cells without any of these characters skip the substitutions (most cells are numbers).
    assert escape_markdown(f"a {trigger} b") != f"a {trigger} b"


@pytest.mark.parametrize("text", ["0.77052", "-19.11%", "▲ better", "eval.yaml", "-", "NaN", ""])
def test_escape_markdown_leaves_plain_cells_alone(text: str) -> None:
    assert escape_markdown(text) == text


def test_mermaid_can_be_switched_off() -> None:
    assert "mermaid" not in render_markdown_report(sample_report(), RenderOptions(mermaid=False))


def huge_report(metrics: int = 5_000, cases: int = 200) -> Report:
    report = Report(report_id="big")
    report.diff = MetricsDiff(
        base="main",
        head="workspace",
        metrics=[
            metric(f"metric_{i}_" + "x" * 40, 1.0, 1.0 + i, "regressed") for i in range(metrics)
        ],
    )
    report.gates = [
        GateResult(f"metric_{i}", "min", "failed", "y" * 500, observed=1.0, limit=2.0)
        for i in range(500)
    ]
    report.datasets = [
        DatasetResult(
            f"set{d}",
            "d.csv",
            "s.yaml",
            "invalid",
            failures=[
                CheckFailure(
                    f"check_{c}",
                    f"col_{c}",
                    cases,
                    cases=[FailureCase("v" * 200, r, r + 2) for r in range(cases)],
                )
                for c in range(50)
            ],
            comparison=DatasetComparison(
                "compared",
                base="main",
                data=DataChanges(
                    "compared",
                    rows_before=10,
                    rows_after=10,
                    drift=[
                        ColumnDrift(f"col_{c}", "psi", 0.1 * c, 0.2, "failed") for c in range(300)
                    ],
                ),
            ),
        )
        for d in range(5)
    ]
    report.problems = [Problem("validate", "z" * 2000) for _ in range(50)]
    return report


def test_comment_fits_the_limit_whatever_the_report() -> None:
    report = huge_report()
    full = render_markdown_report(report, RenderOptions())
    assert len(full.encode()) > 10 * COMMENT_LIMIT
    body = render_comment(report, RenderOptions(run_url="https://github.test/o/r/actions/runs/9"))
    assert len(body.encode()) <= COMMENT_BUDGET < COMMENT_LIMIT
    assert body.startswith(
        "<!-- mlci:report id=big -->\n### ⚠️ mlci report: error · gates: 500 failed"
    )
    assert (
        "> Parts of this report were shortened to fit GitHub's size limit. The full report is in "
        "[the job summary and the report artifact](https://github.test/o/r/actions/runs/9)."
    ) in body
    assert "_… and 470 more gates, in [the job summary and the report artifact]" in body
    for table in parse_tables(body):
        assert {len(row) for row in table} == {len(table[0])}


def test_unicode_heavy_reports_fit_in_bytes() -> None:
    report = Report(report_id="u")
    report.diff = MetricsDiff(
        base="main",
        head="workspace",
        metrics=[metric("指標" * 100 + str(i), 1.0, 2.0) for i in range(2_000)],
    )
    body = render_comment(report, RenderOptions())
    assert len(body.encode()) <= COMMENT_BUDGET


def test_tiny_limit_keeps_the_verdict() -> None:
    body = render_fitted(huge_report(metrics=10, cases=1), RenderOptions(), 600)
    assert len(body.encode()) <= 600
    assert body.splitlines()[:2] == [
        "<!-- mlci:report id=big -->",
        "### ⚠️ mlci report: error · gates: 500 failed · datasets: 5 invalid · metrics: 10 regressed · 50 input errors",
    ]


def test_small_report_is_not_marked_shortened() -> None:
    body = render_comment(sample_report(), OPTIONS)
    assert "shortened" not in body
    assert body == render_markdown_report(sample_report(), OPTIONS)


def test_user_template_extends_the_default(tmp_path: Path) -> None:
    template = tmp_path / "my.md.j2"
    template.write_text(
        '{% extends "mlci/report.md.j2" %}\n'
        "{% block footer %}\n\nOwned by {{ report.title }} · {{ view.verdict }}\n{{ super() }}{% endblock %}\n"
    )
    report = sample_report()
    report.title = "team @ml <b>"
    body = render_markdown_report(report, replace(OPTIONS, template=str(template)))
    assert body.startswith(
        "<!-- mlci:report id=default -->\n### ❌ team @\u200bml &lt;b&gt;: failed"
    )
    assert "\nOwned by team @\u200bml &lt;b&gt; · failed\n" in body
    assert body.rstrip().endswith("· report `default`</sub>")


def test_user_template_with_a_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    template = tmp_path / "bad.md.j2"
    template.write_text(
        '{% extends "mlci/report.md.j2" %}\n{% block footer %}{{ oops(}}{% endblock %}\n'
    )
    with pytest.raises(ConfigError) as caught:
        render_markdown_report(sample_report(), replace(OPTIONS, template=str(template)))
    assert str(caught.value).startswith(f"{template}:2: report template is not valid Jinja2: ")


def test_user_template_missing_parent(tmp_path: Path) -> None:
    template = tmp_path / "t.md.j2"
    template.write_text('{% extends "nope.md.j2" %}')
    with pytest.raises(ConfigError) as caught:
        render_markdown_report(sample_report(), replace(OPTIONS, template=str(template)))
    assert str(caught.value) == (
        f"{template}: report template 'nope.md.j2' not found "
        '(extend the default with {% extends "mlci/report.md.j2" %})'
    )


def test_input_errors_are_listed() -> None:
    report = Report(problems=[Problem("validate", "bad | thing", "schema.yaml", 3)])
    body = render_markdown_report(report, OPTIONS)
    assert body.splitlines()[1] == "### ⚠️ mlci report: error · 1 input error"
    assert parse_tables(body) == [
        [["Check", "Problem", "Where"], ["validate", "bad | thing", "schema.yaml:3"]]
    ]
