"""The markdown report (PR comment, job summary), rendered from Jinja2 templates in the package.

Everything that comes from users' files is escaped on the way out: the template environment
escapes every `{{ value }}` unless it is markup this module built (`Safe`), so a user template
that forgets a filter still cannot break a table or trigger an @-mention. The report always fits
a size limit: it is rendered at decreasing levels of detail until it does (`render_fitted`).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlci.report.markdown_text import (
    Safe,
    code,
    escape_html_text,
    escape_markdown,
    markdown_table,
    shorten,
)
from mlci.report.model_tables import metric_intervals
from mlci.report.tables import (
    MISSING,
    Table,
    comparison_note,
    data_change_table,
    data_note,
    data_summary,
    drift_table,
    format_change,
    format_percent,
    format_value,
    model_phrase,
    plain_value,
    project_phrase,
    projects_table,
    schema_change_table,
    schema_note,
    unchecked_table,
)
from mlci.report.training import train_lines

if TYPE_CHECKING:
    import jinja2

    from mlci.report.charts import Chart
    from mlci.report.metric_change import MetricChange
    from mlci.report.model import DatasetResult, GateResult, Report
    from mlci.report.options import RenderOptions

TEMPLATES = Path(__file__).parent / "templates"
DEFAULT_TEMPLATE = "report.md.j2"
COMMENT_LIMIT = 65_536
"""GitHub's limit on the body of an issue comment (characters; we count UTF-8 bytes, which is
never fewer)."""
COMMENT_BUDGET = COMMENT_LIMIT - 1_024
"""What the rendered comment may use: room is left for what the poster adds (the marker)."""
SUMMARY_LIMIT = 1024 * 1024
"""GitHub's limit on one step's job summary (bytes)."""

# --- the view: what the template shows, cut to a level of detail -----------------------------


@dataclass(frozen=True)
class Detail:
    """How much of the report is shown; `LEVELS` goes from everything to the bare verdict."""

    rows: int | None
    """Rows per table (None: all)."""
    cases: int | None
    """Failure cases per failing check (None: the configured `report.max_failure_cases`)."""
    cell: int
    """Characters per table cell."""
    chart: bool
    data_details: bool
    """Schema changes, drift and other per-dataset details."""


LEVELS = (
    Detail(rows=None, cases=None, cell=300, chart=True, data_details=True),
    # Charts go before any table is shortened: the numbers matter more than their picture.
    Detail(rows=None, cases=None, cell=300, chart=False, data_details=True),
    Detail(rows=100, cases=5, cell=160, chart=False, data_details=True),
    Detail(rows=30, cases=3, cell=100, chart=False, data_details=True),
    Detail(rows=10, cases=1, cell=60, chart=False, data_details=True),
    Detail(rows=3, cases=0, cell=40, chart=False, data_details=False),
)

STATUS_ICONS = {"passed": "✅", "failed": "❌", "error": "⚠️"}
GATE_ICONS = {"passed": "✅", "failed": "❌", "warned": "⚠️", "skipped": "⏭️"}
DATASET_ICONS = {"valid": "✅", "invalid": "❌", "error": "⚠️"}
VERDICTS = {
    "improved": "🟢 better",
    "regressed": "🔴 worse",
    "changed": "changed",
    "added": "🆕 added",
    "removed": "🗑️ removed",
    "unchanged": "unchanged",
}
_VERDICT_ORDER = {"regressed": 0, "improved": 1, "changed": 2, "added": 3, "removed": 4}
_GATE_ORDER = {"failed": 0, "warned": 1, "passed": 2, "skipped": 3}


@dataclass
class Section:
    """One table of the report, with how many of its rows were left out."""

    title: str
    table: Table
    hidden: int = 0
    note: str | None = None
    """A sentence shown instead of (or under) the table: why it is empty."""
    open: bool = True
    """Shown expanded in a `<details>` block."""

    @property
    def shown(self) -> int:
        return len(self.table.rows)

    @property
    def total(self) -> int:
        return len(self.table.rows) + self.hidden


@dataclass
class ChartSection:
    """A chart as the markdown shows it: the Mermaid block and its table."""

    chart: Chart
    block: Safe

    @property
    def title(self) -> str:
        return self.chart.title

    @property
    def summary(self) -> str:
        return self.chart.summary

    @property
    def note(self) -> str | None:
        return self.chart.note

    @property
    def table(self) -> Table:
        return self.chart.table


@dataclass
class ReportView:
    """The report prepared for the markdown template: formatted, ordered, cut to `detail`."""

    report: Report
    detail: Detail
    icon: str
    verdict: str
    counts: list[str]
    gates: Section | None = None
    gate_details: Section | None = None
    metrics: Section | None = None
    unchanged: Section | None = None
    params: Section | None = None
    trend: Section | None = None
    """The head against the base-branch history (`report.history`)."""
    pushes: Section | None = None
    """This pull request's earlier pushes and this one (`report.pushes`)."""
    charts: list[ChartSection] = field(default_factory=list)
    charts_left_out: int = 0
    """Charts the report has but this view does not show (the size budget, GitHub's limit)."""
    datasets: Section | None = None
    failures: list[Section] = field(default_factory=list)
    schema_changes: list[Section] = field(default_factory=list)
    drift: list[Section] = field(default_factory=list)
    data_changes: Section | None = None
    problems: Section | None = None
    model: list[Section] = field(default_factory=list)
    """The model diff's tables (report.model): metrics, per class, confusion, changed, slices."""
    shortened: bool = False
    full_report: str = "the job summary and the report artifact"
    run_url: str | None = None
    commit: str | None = None
    training: list[str] = field(default_factory=list)
    """What training did for this head (`train:`), one sentence a line."""
    projects: Section | None = None
    """`mlci check --all`: one line per project."""
    project_reports: list[Safe] = field(default_factory=list)
    """Each project's own report, rendered at the same detail, one heading level down."""
    html_report_url: str | None = None

    @property
    def headline(self) -> str:
        """The first line's text: verdict, then counts."""
        return " · ".join([self.verdict, *self.counts])

    @property
    def full_report_link(self) -> Safe:
        return Safe(_full_report_link(self))

    @property
    def truncated_sections(self) -> bool:
        sections = [
            self.gates,
            self.gate_details,
            self.metrics,
            self.unchanged,
            self.params,
            self.datasets,
            self.data_changes,
            self.problems,
            *self.failures,
            *self.schema_changes,
            *self.drift,
            *self.model,
        ]
        return any(section is not None and section.hidden for section in sections)


def build_view(report: Report, options: RenderOptions, detail: Detail = LEVELS[0]) -> ReportView:
    precision = options.precision
    counts = report.counts()
    view = ReportView(
        report=report,
        detail=detail,
        icon=STATUS_ICONS[report.status],
        verdict={"passed": "passed", "failed": "failed", "error": "error"}[report.status],
        counts=_count_phrases(report, counts),
        run_url=options.run_url,
        commit=options.commit,
        html_report_url=options.html_report_url,
    )
    if options.full_report:
        view.full_report = options.full_report
    view.training = train_lines(report.train)
    if report.projects:
        view.projects = Section("Projects", projects_table(report))
        view.project_reports = [
            _project_markdown(project.report, options, detail)
            for project in report.projects
            if project.report is not None
        ]
    rows = detail.rows
    if report.gates:
        view.gates, view.gate_details = _gate_sections(report.gates, precision, rows)
    if report.diff is not None:
        _metric_sections(view, report, precision, rows)
    if report.history is not None:
        from mlci.report.history import trend_table

        view.trend = Section("Trend", trend_table(report.history, precision))
        view.trend.note = report.history.note
    if report.pushes:
        from mlci.report.history import pushes_table

        view.pushes = Section("Pushes", pushes_table(report, options.commit, precision))
    if options.mermaid:
        _chart_sections(view, report, options, detail)
    if report.model is not None:
        view.model = _model_sections(report, precision, rows)
    if report.datasets:
        cases = options.max_failure_cases if detail.cases is None else detail.cases
        _dataset_sections(view, report.datasets, precision, rows, cases, detail.data_details)
    if report.data_changes:
        table = data_change_table(report.data_changes)
        view.data_changes = _cut(Section("Data changes (DVC)", table), rows)
    if report.problems:
        table = Table(title="Input errors", headers=["Check", "Problem", "Where"])
        for problem in report.problems:
            where = problem.path or ""
            if problem.path and problem.line is not None:
                where = f"{problem.path}:{problem.line}"
            table.rows.append([problem.check, problem.message, where])
        view.problems = _cut(Section("Input errors", table), rows)
    return view


def _project_markdown(report: Report, options: RenderOptions, detail: Detail) -> Safe:
    """A project's report inside the repository's comment: without its own marker and footer,
    its headings one level down."""
    text = _render(report, replace(options, template=None), build_view(report, options, detail))
    lines = [
        f"#{line}" if line.startswith("#") else line
        for line in text.splitlines()
        if not line.startswith(("<!-- mlci:report", "<sub>mlci "))
    ]
    return Safe("\n".join(lines).strip() + "\n")


def _count_phrases(report: Report, counts: dict[str, dict[str, int]]) -> list[str]:
    phrases = []
    if report.gates:
        gates = counts["gates"]
        parts = [f"{gates[key]} {key}" for key in ("failed", "warned", "passed", "skipped")]
        phrases.append("gates: " + ", ".join(p for p in parts if not p.startswith("0 ")))
    if report.datasets:
        datasets = counts["datasets"]
        parts = [f"{datasets[key]} {key}" for key in ("invalid", "error", "valid")]
        phrases.append("datasets: " + ", ".join(p for p in parts if not p.startswith("0 ")))
    if report.diff is not None:
        metrics = counts["metrics"]
        keys = ("regressed", "improved", "changed", "added", "removed", "unchanged")
        parts = [f"{metrics[key]} {key}" for key in keys if metrics[key]]
        phrases.append("metrics: " + (", ".join(parts) if parts else "none"))
    if report.model is not None:
        phrase = model_phrase(report.model, with_count=report.diff is None)
        if phrase:
            phrases.append(phrase)
    if report.problems:
        count = len(report.problems)
        phrases.append(f"{count} input error{'s' if count != 1 else ''}")
    if report.projects:
        phrases.append("projects: " + project_phrase(report))
    return phrases


def _cut(section: Section, rows: int | None) -> Section:
    if rows is not None and len(section.table.rows) > rows:
        section.hidden += len(section.table.rows) - rows
        section.table.rows = section.table.rows[:rows]
    return section


def _gate_sections(
    gates: list[GateResult], precision: int, rows: int | None
) -> tuple[Section, Section | None]:
    ordered = sorted(gates, key=lambda gate: _GATE_ORDER.get(gate.status, 9))
    table = Table(
        title="Gates",
        headers=["", "Gate", "Rule", "Observed", "Baseline", "Limit", "Why"],
        align_right={3, 4, 5},
    )
    details = Table(title="Gate details", headers=["Gate", "Rule", "Detail", "Value"])
    for gate in ordered:
        label = gate.gate if gate.gate and gate.gate != gate.metric else gate.metric
        if gate.gate and gate.gate != gate.metric:
            label = f"{gate.gate} ({gate.metric})"
        status = gate.status + (" (warning)" if gate.severity == "warning" else "")
        table.rows.append(
            [
                Safe(GATE_ICONS.get(gate.status, "")),
                label,
                gate.rule,
                format_value(gate.observed, precision),
                format_value(gate.baseline, precision),
                format_value(gate.limit, precision),
                gate.reason or status,
            ]
        )
        for key, value in gate.details.items():
            details.rows.append([label, gate.rule, str(key), _plain(value, precision)])
    gate_details = _cut(Section("Gate details", details), rows) if details.rows else None
    return _cut(Section("Gates", table), rows), gate_details


def _change_cell(change: MetricChange, precision: int) -> str:
    if change.verdict == "added":
        return "new"
    if change.verdict == "removed":
        return "removed"
    if change.diff is None:
        return MISSING if change.old != change.new else "="
    if isinstance(change.diff, float) and math.isnan(change.diff):
        return "NaN"
    arrow = "▲ " if change.diff > 0 else "▼ " if change.diff < 0 else ""
    text = arrow + format_change(change.diff, precision)
    percent = format_percent(change.relative)
    return f"{text} ({percent})" if percent != MISSING else text


def _metric_sections(view: ReportView, report: Report, precision: int, rows: int | None) -> None:
    assert report.diff is not None
    diff = report.diff
    base, head = diff.base or "base", diff.head
    changed = [change for change in diff.metrics if change.verdict != "unchanged"]
    unchanged = [change for change in diff.metrics if change.verdict == "unchanged"]
    changed.sort(key=lambda change: _VERDICT_ORDER.get(change.verdict, 9))
    with_path = len({change.path for change in diff.metrics + diff.params}) > 1

    def label(change: MetricChange) -> list[str]:
        name = change.name or "(value)"
        return [change.path, name] if with_path else [name]

    prefix = ["File", "Metric"] if with_path else ["Metric"]
    first = len(prefix)
    intervals = metric_intervals(report.model, [c.name for c in changed], precision)
    table = Table(
        title="Metrics",
        headers=[*prefix, base, head, "Change", *intervals.headers, ""],
        align_right={first, first + 1, first + 2, first + 3},
    )
    for change in changed:
        table.rows.append(
            [
                *label(change),
                format_value(change.old, precision),
                format_value(change.new, precision),
                _change_cell(change, precision),
                *intervals.cells(change.name),
                Safe(VERDICTS.get(change.verdict, "")),
            ]
        )
    if changed:
        view.metrics = _cut(Section("Metrics", table), rows)
    if unchanged:
        table = Table(title="Unchanged", headers=[*prefix, "Value"], align_right={first})
        table.rows = [[*label(c), format_value(c.new, precision)] for c in unchanged]
        view.unchanged = _cut(Section("Unchanged metrics", table), rows)
    moved_params = [change for change in diff.params if change.verdict != "unchanged"]
    if moved_params:
        table = Table(
            title="Params",
            headers=[*(["File", "Param"] if with_path else ["Param"]), base, head],
            align_right={first, first + 1},
        )
        for change in moved_params:
            table.rows.append(
                [
                    *label(change),
                    format_value(change.old, precision),
                    format_value(change.new, precision),
                ]
            )
        view.params = _cut(Section("Params", table), rows)


MODEL_CLASSES = 10
"""Classes in the comment's per-class table: the largest F1 changes, the rest counted."""
_MODEL_MARKS = {"better": "🟢 better", "worse": "🔴 worse"}


def _model_sections(report: Report, precision: int, rows: int | None) -> list[Section]:
    from mlci.report.model_tables import model_tables

    assert report.model is not None
    limit = MODEL_CLASSES if rows is None else min(MODEL_CLASSES, rows)
    sections = []
    for found in model_tables(report.model, precision, class_limit=limit):
        table = found.table
        if found.key == "metrics":
            for row in table.rows:
                word = row[-1].split(" ")[0]
                if word in _MODEL_MARKS:
                    row[-1] = Safe(_MODEL_MARKS[word] + escape_markdown(row[-1][len(word) :]))
        section = _cut(Section(table.title, table), rows)
        section.note = "; ".join(found.notes) or None
        sections.append(section)
    return sections


def _dataset_sections(
    view: ReportView,
    datasets: list[DatasetResult],
    precision: int,
    rows: int | None,
    cases: int,
    with_details: bool,
) -> None:
    overview = Table(
        title="Data validation",
        headers=["", "Dataset", "Rows", "Columns", "Failing checks", "Schema", "Note"],
        align_right={2, 3, 4},
    )
    for dataset in datasets:
        unchecked = unchecked_table(dataset)
        overview.rows.append(
            [
                Safe(DATASET_ICONS.get(dataset.status, "")),
                dataset.name,
                format_value(dataset.rows),
                format_value(dataset.columns),
                str(len(dataset.failures)),
                dataset.schema or MISSING,
                dataset.message or "",
            ]
        )
        if dataset.failures:
            view.failures.append(_failure_section(dataset, precision, rows, cases))
        if dataset.unchecked:
            view.failures.append(_cut(Section(unchecked.title, unchecked), rows))
        if with_details:
            _comparison_sections(view, dataset, precision, rows)
    view.datasets = _cut(Section("Data validation", overview), rows)


def _failure_section(
    dataset: DatasetResult, precision: int, rows: int | None, cases: int
) -> Section:
    table = Table(
        title=dataset.name,
        headers=["Column", "Check", "Failing rows", "Examples"],
        align_right={2},
    )
    failing_rows = 0
    for failure in dataset.failures:
        failing_rows += failure.failing
        shown = []
        for case in failure.cases[:cases]:
            where = []
            if case.row is not None:
                where.append(f"row {case.row}")
            if case.line is not None:
                where.append(f"line {case.line}")
            value = format_value(case.value, precision)
            shown.append(f"{', '.join(where)}: {value}" if where else value)
        more = len(failure.cases) - len(shown)
        if failure.failing > len(failure.cases):
            more += failure.failing - len(failure.cases)
        if more > 0 and shown:
            shown.append(f"… {more} more")
        column = failure.column or "(schema)"
        table.rows.append([column, failure.check, str(failure.failing), "; ".join(shown)])
    checks = len(dataset.failures)
    title = (
        f"{dataset.name}: {checks} failing check{'s' if checks != 1 else ''}, "
        f"{failing_rows} failure case{'s' if failing_rows != 1 else ''}"
    )
    return _cut(Section(title, table), rows)


def _comparison_sections(
    view: ReportView, dataset: DatasetResult, precision: int, rows: int | None
) -> None:
    """The dataset against the base: a schema-changes table and a drift table, or a sentence
    saying that nothing changed or why it was not compared."""
    comparison = dataset.comparison
    if comparison is None:
        return
    if comparison.status == "skipped":
        note = comparison_note(dataset)
        view.schema_changes.append(Section(dataset.name, _NO_TABLE, note=note))
        return
    base = f" against {comparison.base}" if comparison.base else ""
    schema = comparison.schema
    if schema is not None:
        if schema.changes:
            table = schema_change_table(dataset, precision)
            count = len(schema.changes)
            title = (
                f"{dataset.name}: {count} schema change{'s' if count != 1 else ''}{base}, "
                f"{schema.breaking} breaking"
            )
            view.schema_changes.append(_cut(Section(title, table), rows))
        else:
            view.schema_changes.append(Section(dataset.name, _NO_TABLE, note=schema_note(dataset)))
    data = comparison.data
    if data is not None:
        if data.drift:
            title = f"{dataset.name}{base}: {data_summary(dataset)}"
            section = _cut(Section(title, drift_table(dataset, precision)), rows)
            section.open = any(row.verdict in ("failed", "warned") for row in data.drift)
            view.drift.append(section)
        else:
            view.drift.append(Section(dataset.name, _NO_TABLE, note=data_note(dataset)))


_NO_TABLE = Table(title="", headers=[])


def _plain(value: Any, precision: int) -> str:
    if value is None:
        return MISSING
    return plain_value(value, precision)


def _chart_sections(
    view: ReportView, report: Report, options: RenderOptions, detail: Detail
) -> None:
    """The charts that fit `options.chart_bytes`, in order; the rest are counted as left out."""
    from mlci.report.charts import mermaid_chart, report_charts

    charts = report_charts(report, options.charts, options.precision)
    if not detail.chart:
        view.charts_left_out = len(charts)
        return
    room = options.chart_bytes
    for chart in charts:
        block = mermaid_chart(chart)
        size = _size(block or "") + _size(markdown_table(chart.table, detail.cell))
        if block is None:
            continue
        if size > room:
            view.charts_left_out += 1
            continue
        room -= size
        view.charts.append(ChartSection(chart, Safe(block)))


# --- templates -------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _environment(user_template: Path | None) -> jinja2.Environment:
    """The template environment (cached: compiled templates are reused across renders)."""
    import jinja2
    from jinja2.runtime import BlockReference, Context
    from jinja2.sandbox import SandboxedEnvironment
    from markupsafe import Markup

    class SafeBlock(BlockReference):
        def __call__(self) -> str:
            return Safe(super().__call__())

    class SafeSuperContext(Context):
        """`{{ super() }}` gives markup already rendered, which must not be escaped again."""

        def super(self, name: str, current: Callable[..., Any]) -> Any:
            found = Context.super(self, name, current)
            if isinstance(found, BlockReference):
                found.__class__ = SafeBlock
            return found

    def finalize(value: Any) -> Any:
        if isinstance(value, Safe | Markup):
            return value
        if value is None:
            return ""
        return escape_markdown(value)

    loaders: list[jinja2.BaseLoader] = [
        jinja2.PrefixLoader({"mlci": jinja2.FileSystemLoader(str(TEMPLATES))}),
    ]
    if user_template is not None:
        loaders.insert(0, jinja2.FileSystemLoader(str(user_template.parent)))
    loaders.append(jinja2.FileSystemLoader(str(TEMPLATES)))
    environment = SandboxedEnvironment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=False,  # markdown, not HTML: `finalize` escapes every value for markdown
        finalize=finalize,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.context_class = SafeSuperContext
    environment.filters["md"] = lambda value: Safe(escape_markdown(value))
    environment.filters["code"] = lambda value, limit=80: code(value, limit)
    environment.filters["md_table"] = jinja2.pass_context(
        lambda context, table: Safe(markdown_table(table, cell_limit=context["view"].detail.cell))
    )
    environment.filters["shorten"] = shorten
    environment.filters["html"] = lambda value, limit=200: Safe(
        escape_html_text(shorten(value, limit))
    )
    return environment


def _render(report: Report, options: RenderOptions, view: ReportView) -> str:
    import jinja2

    user = Path(options.template) if options.template else None
    environment = _environment(user)
    name = user.name if user is not None else DEFAULT_TEMPLATE
    try:
        template = environment.get_template(name)
        return template.render(
            report=report,
            view=view,
            marker=Safe(comment_marker(report.report_id)),
            options=options,
            code=code,
        )
    except jinja2.TemplateSyntaxError as exc:
        from mlci.errors import ConfigError

        raise ConfigError(
            f"report template is not valid Jinja2: {exc.message}",
            path=exc.filename or (str(user) if user else name),
            line=exc.lineno,
        ) from None
    except jinja2.TemplateNotFound as exc:
        from mlci.errors import ConfigError

        raise ConfigError(
            f"report template {exc.name!r} not found",
            path=user,
            hint='extend the default with {% extends "mlci/report.md.j2" %}',
        ) from None
    except jinja2.UndefinedError as exc:
        from mlci.errors import ConfigError

        raise ConfigError(f"report template failed: {exc.message}", path=user) from None
    except (jinja2.TemplateError, ArithmeticError, TypeError, ValueError) as exc:
        # What the sandbox refuses (SecurityError, a range too big) and a template's own
        # mistakes (1/0, adding a string to a number) are the template's, not mlci's.
        if user is None:
            raise
        from mlci.errors import ConfigError

        raise ConfigError(
            f"report template failed: {type(exc).__name__}: {exc}", path=user
        ) from None


def comment_marker(report_id: str) -> str:
    """The hidden line that finds a report's sticky comment again."""
    safe_id = re.sub(r"[^A-Za-z0-9_.\-]", "_", report_id)[:64] or "default"
    return f"<!-- mlci:report id={safe_id} -->"


def render_markdown_report(report: Report, options: RenderOptions) -> str:
    """The whole report, every detail (for `-o report.md`)."""
    return _render(report, options, build_view(report, options))


def render_fitted(report: Report, options: RenderOptions, limit: int) -> str:
    """The report in at most `limit` UTF-8 bytes: each level of `LEVELS` shows less, and the
    last resort is the verdict line alone. A shortened report says where the full one is."""
    for index, detail in enumerate(LEVELS):
        view = build_view(report, options, detail)
        view.shortened = index > 0 or view.truncated_sections
        text = _render(report, options, view)
        if _size(text) <= limit:
            return text
    view = build_view(report, replace(options, mermaid=False), LEVELS[-1])
    view.shortened = True
    text = _minimal(view)
    if _size(text) <= limit:
        return text
    return text.encode()[: max(limit - 4, 0)].decode(errors="ignore").rstrip() + "\n…\n"


def render_comment(report: Report, options: RenderOptions) -> str:
    """The PR comment body: under GitHub's comment limit whatever the report holds."""
    return render_fitted(report, options, COMMENT_BUDGET)


def _minimal(view: ReportView) -> str:
    report = view.report
    lines = [
        comment_marker(report.report_id),
        f"### {view.icon} {escape_markdown(shorten(report.title, 120))}: "
        f"{escape_markdown(view.headline)}",
        "",
        f"> [!NOTE]\n> The report is too large for this page: the full report is in "
        f"{_full_report_link(view)}.",
        "",
    ]
    return "\n".join(lines)


def _full_report_link(view: ReportView) -> str:
    if view.run_url:
        return f"[{view.full_report}]({view.run_url})"
    return view.full_report


def _size(text: str) -> int:
    return len(text.encode("utf-8"))
