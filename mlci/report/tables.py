"""The report's sections laid out as tables of strings, shared by the text and markdown views."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # tables only read the model: `mlci diff` builds its table without loading it
    from mlci.report.metric_change import MetricChange
    from mlci.report.model import DataChange, DatasetResult, GateResult, Report
    from mlci.report.model_diff import ModelDiff

MISSING = "-"
ARROWS = {"improved": "▲ better", "regressed": "▼ worse", "added": "new", "removed": "gone"}
GATE_MARKS = {"passed": "pass", "failed": "FAIL", "warned": "warn", "skipped": "skip"}
SMALL_SAMPLE = 1_000
"""Under this many paired examples the headline says how many: intervals are then wide."""


def model_phrase(model: ModelDiff, *, with_count: bool = False) -> str | None:
    """The model diff in the headline: how many paired examples when few (or when asked), and
    that there was no base when there was none."""
    paired = model.examples.paired
    if paired == 0:
        return "model: head only, no base predictions"
    if paired < SMALL_SAMPLE or with_count:
        return f"{paired:,} paired examples"
    return None


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    align_right: set[int] = field(default_factory=set)


def format_value(value: Any, precision: int = 5) -> str:
    """A metric value as DVC shows it: floats rounded to `precision` decimals."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return str(round(value, precision))
    return str(value)


def format_change(value: float | None, precision: int = 5) -> str:
    if value is None:
        return MISSING
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    text = format_value(value, precision)
    return f"+{text}" if value > 0 else text


def format_percent(relative: float | None) -> str:
    if relative is None or not math.isfinite(relative):
        return MISSING
    return f"{relative * 100:+.2f}%"


def headline(report: Report) -> str:
    """The verdict and the counts, in one line."""
    counts = report.counts()
    parts = []
    gates = counts["gates"]
    if report.gates:
        # The same order as the markdown headline: what needs attention first.
        gate_parts = [
            f"{gates[k]} {k}" for k in ("failed", "warned", "passed", "skipped") if gates[k]
        ]
        parts.append("gates " + ", ".join(gate_parts))
    datasets = counts["datasets"]
    if report.datasets:
        ds_parts = [f"{datasets[k]} {k}" for k in ("invalid", "error", "valid") if datasets[k]]
        parts.append("datasets " + ", ".join(ds_parts))
    if report.diff is not None:
        metrics = counts["metrics"]
        moved = [
            f"{metrics[k]} {k}"
            for k in ("regressed", "improved", "changed", "added", "removed")
            if metrics[k]
        ]
        parts.append("metrics " + (", ".join(moved) if moved else "unchanged"))
    if report.model is not None:
        phrase = model_phrase(report.model, with_count=report.diff is None)
        if phrase:
            parts.append(phrase)
    if report.problems:
        parts.append(f"{len(report.problems)} input error{'s' if len(report.problems) > 1 else ''}")
    if report.projects:
        parts.append("projects " + project_phrase(report))
    verdict = {"passed": "PASSED", "failed": "FAILED", "error": "ERROR"}[report.status]
    return f"{verdict}: " + ("; ".join(parts) if parts else "nothing to check")


def metric_table(
    changes: list[MetricChange],
    *,
    title: str,
    base: str,
    head: str,
    precision: int = 5,
    with_change: bool = True,
    with_path: bool = True,
    name_header: str = "Metric",
) -> Table:
    headers = (["Path"] if with_path else []) + [name_header, base, head]
    if with_change:
        headers += ["Change", "%", ""]
    table = Table(title=title, headers=headers)
    first = 1 if with_path else 0
    table.align_right = {first + 1, first + 2} | ({first + 3, first + 4} if with_change else set())
    for change in changes:
        row = ([change.path] if with_path else []) + [
            change.name or "(value)",
            format_value(change.old, precision),
            format_value(change.new, precision),
        ]
        if with_change:
            row += [
                format_change(change.diff, precision),
                format_percent(change.relative),
                ARROWS.get(change.verdict, ""),
            ]
        table.rows.append(row)
    return table


def gate_table(gates: list[GateResult], precision: int = 5) -> Table:
    table = Table(
        title="Gates",
        headers=["Metric", "Rule", "Observed", "Baseline", "Limit", "Verdict", "Why"],
        align_right={2, 3, 4},
    )
    for gate in gates:
        table.rows.append(
            [
                gate.metric,
                gate.rule,
                format_value(gate.observed, precision),
                format_value(gate.baseline, precision),
                format_value(gate.limit, precision),
                GATE_MARKS[gate.status],
                gate.reason,
            ]
        )
    return table


def data_change_table(changes: list[DataChange]) -> Table:
    """DVC-tracked data and stage dependencies whose recorded hashes changed."""
    table = Table(
        title="Data changes (DVC)",
        headers=["Path", "Change", "Recorded in", "Base", "Head", "Size"],
    )
    for change in changes:
        where = change.source
        if change.stage is not None:
            where = f"{change.source}: {change.role} of {change.stage}"
        table.rows.append(
            [
                change.path,
                change.change,
                where,
                short_hash(change.old_hash),
                short_hash(change.new_hash),
                size_change(change),
            ]
        )
    return table


def short_hash(digest: str | None) -> str:
    if digest is None:
        return MISSING
    suffix = ".dir" if digest.endswith(".dir") else ""
    return digest.removesuffix(".dir")[:8] + suffix


def format_size(size: int | None) -> str:
    if size is None:
        return MISSING
    if size < 1024:
        return f"{size} B"
    value = size / 1024
    for unit in ("KiB", "MiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def size_change(change: DataChange) -> str:
    """`12 B → 20 B`, with the file count of a directory."""

    def side(size: int | None, files: int | None) -> str:
        text = format_size(size)
        return f"{text} ({files} files)" if files is not None else text

    old, new = side(change.old_size, change.old_files), side(change.new_size, change.new_files)
    if change.change == "added":
        return new
    if change.change == "removed":
        return old
    return old if old == new else f"{old} → {new}"


def plain_value(value: Any, precision: int = 5) -> str:
    """Any value from a user's schema or data as one line of text: a mapping as `key=value`
    pairs, a list comma-separated (never JSON)."""
    if isinstance(value, dict):
        return ", ".join(f"{key}={plain_value(item, precision)}" for key, item in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return "[" + ", ".join(plain_value(item, precision) for item in value) + "]"
    return format_value(value, precision)


STATISTIC_NAMES = {
    "psi": "PSI",
    "ks": "KS",
    "null_rate_change": "null rate change",
    "row_drop_pct": "row drop %",
}
DRIFT_MARKS = {"passed": "pass", "failed": "FAIL", "warned": "warn"}


def comparison_note(dataset: DatasetResult) -> str | None:
    """The comparison with the base in one sentence when there is no table to show: skipped
    (and why), or nothing changed."""
    comparison = dataset.comparison
    if comparison is None:
        return None
    if comparison.status == "skipped":
        return f"Not compared with the base: {comparison.reason}."
    return None


def schema_note(dataset: DatasetResult) -> str | None:
    comparison = dataset.comparison
    if comparison is None or comparison.status == "skipped" or comparison.schema is None:
        return None
    schema = comparison.schema
    if schema.status == "compared":
        return None if schema.changes else f"No schema change against {comparison.base}."
    if schema.status == "new":
        return f"Schema not compared: {schema.reason}."
    return f"Schema not compared: {schema.reason}."


def schema_change_table(dataset: DatasetResult, precision: int = 5) -> Table:
    """Every schema change against the base: column, change, before, after, breaking."""
    comparison = dataset.comparison
    schema = comparison.schema if comparison is not None else None
    changes = schema.changes if schema is not None else []
    breaking = sum(change.breaking for change in changes)
    table = Table(
        title=f"Schema changes of {dataset.name}: {breaking} breaking",
        headers=["Column", "Change", "Before", "After", "Breaking"],
    )
    for change in changes:
        table.rows.append(
            [
                change.column or "(schema)",
                change.detail,
                plain_value(change.before, precision),
                plain_value(change.after, precision),
                "yes" if change.breaking else "no",
            ]
        )
    return table


def data_note(dataset: DatasetResult) -> str | None:
    comparison = dataset.comparison
    if comparison is None or comparison.status == "skipped" or comparison.data is None:
        return None
    data = comparison.data
    if data.status != "compared":
        return f"Data not compared: {data.reason}."
    if not data.drift:
        return "No column in common with the base to measure."
    return None


def data_summary(dataset: DatasetResult) -> str:
    """`rows 500 → 400, +note, -city`: the shape of the data against the base."""
    comparison = dataset.comparison
    data = comparison.data if comparison is not None else None
    if data is None or data.status != "compared":
        return ""
    return (
        f"rows {data.rows_before} → {data.rows_after}"
        + "".join(f", +{name}" for name in data.columns_added)
        + "".join(f", -{name}" for name in data.columns_removed)
    )


def drift_table(dataset: DatasetResult, precision: int = 5) -> Table:
    """Each column's statistics against the base: statistic, value, limit, verdict."""
    comparison = dataset.comparison
    data = comparison.data if comparison is not None else None
    table = Table(
        title=f"Data changes of {dataset.name}: {data_summary(dataset)}",
        headers=["Column", "Statistic", "Value", "Limit", "Verdict"],
        align_right={2, 3},
    )
    for row in data.drift if data is not None else []:
        value = MISSING if row.value is None else format_value(round(row.value, precision))
        if row.statistic == "null_rate_change" and row.before is not None:
            value += f" ({row.before * 100:.2f}% → {(row.after or 0.0) * 100:.2f}%)"
        table.rows.append(
            [
                row.column,
                STATISTIC_NAMES[row.statistic],
                value,
                format_value(row.limit, precision),
                DRIFT_MARKS[row.verdict] if row.verdict else "no limit",
            ]
        )
    return table


def dataset_change_tables(dataset: DatasetResult, precision: int = 5) -> list[Table]:
    """The schema and data changes of a dataset against the base, for the text view."""
    tables = []
    for note in (comparison_note(dataset), schema_note(dataset), data_note(dataset)):
        if note:
            tables.append(Table(title=f"Dataset {dataset.name}: {note}", headers=[]))
    comparison = dataset.comparison
    if comparison is None or comparison.status == "skipped":
        return tables
    if comparison.schema is not None and comparison.schema.changes:
        tables.append(schema_change_table(dataset, precision))
    if comparison.data is not None and comparison.data.drift:
        tables.append(drift_table(dataset, precision))
    return tables


def unchecked_table(dataset: DatasetResult) -> Table:
    """The schema's rules the engine did not check (pandera's PySpark backend lacks them)."""
    table = Table(
        title=f"Dataset {dataset.name}: {len(dataset.unchecked)} rule"
        f"{'s' if len(dataset.unchecked) != 1 else ''} of the schema not checked by this engine",
        headers=["Not checked"],
    )
    table.rows = [[rule] for rule in dataset.unchecked]
    return table


def project_phrase(report: Report) -> str:
    """`2 passed, 1 unchanged`: the projects by status, worst first."""
    order = ("error", "failed", "passed", "unchanged")
    found = [project.status for project in report.projects]
    return ", ".join(f"{found.count(key)} {key}" for key in order if key in found)


def projects_table(report: Report) -> Table:
    """One line per project: its verdict, its gates, and why it did not run."""
    table = Table(title="Projects", headers=["Project", "Status", "Gates passed", "Note"])
    for project in report.projects:
        gates = project.report.counts()["gates"] if project.report else None
        passed = f"{gates['passed']}/{sum(gates.values())}" if gates else ""
        table.rows.append([project.path, project.status, passed, project.reason or ""])
    return table


def report_tables(report: Report, precision: int = 5) -> list[Table]:
    """Every section that has something to show, in reading order."""
    tables = []
    if report.projects:
        tables.append(projects_table(report))
    if report.gates:
        tables.append(gate_table(report.gates, precision))
    for dataset in report.datasets:
        table = Table(
            title=f"Dataset {dataset.name}: {dataset.status}"
            + (f" ({dataset.rows} rows)" if dataset.rows is not None else ""),
            headers=["Column", "Check", "Failing", "Examples"],
            align_right={2},
        )
        for failure in dataset.failures:
            examples = ", ".join(
                (f"row {case.row}: " if case.row is not None else "")
                + format_value(case.value, precision)
                for case in failure.cases[:5]
            )
            table.rows.append(
                [failure.column or "(schema)", failure.check, str(failure.failing), examples]
            )
        if dataset.message:
            table.rows.append(["", dataset.message, "", ""])
        if dataset.failures or (dataset.message and dataset.status != "error"):
            tables.append(table)
        if dataset.unchecked:
            tables.append(unchecked_table(dataset))
        tables += dataset_change_tables(dataset, precision)
    if report.diff is not None:
        shown = [c for c in report.diff.metrics if c.verdict != "unchanged"] or report.diff.metrics
        tables.append(
            metric_table(
                shown,
                title=f"Metrics ({report.diff.base} → {report.diff.head})",
                base=report.diff.base or "base",
                head=report.diff.head,
                precision=precision,
            )
        )
        changed_params = [c for c in report.diff.params if c.verdict != "unchanged"]
        if changed_params:
            tables.append(
                metric_table(
                    changed_params,
                    title="Params",
                    base=report.diff.base or "base",
                    head=report.diff.head,
                    precision=precision,
                    with_change=False,
                    name_header="Param",
                )
            )
    if report.data_changes:
        tables.append(data_change_table(report.data_changes))
    if report.problems:
        table = Table(title="Input errors", headers=["Check", "Problem"])
        table.rows = [[problem.check, problem.message] for problem in report.problems]
        tables.append(table)
    return tables
