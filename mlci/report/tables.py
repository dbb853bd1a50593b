"""The report's sections laid out as tables of strings, shared by the text and markdown views."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # tables only read the model: `mlci diff` builds its table without loading it
    from mlci.report.metric_change import MetricChange
    from mlci.report.model import DataChange, DatasetResult, GateResult, Report

MISSING = "-"
ARROWS = {"improved": "▲ better", "regressed": "▼ worse", "added": "new", "removed": "gone"}
GATE_MARKS = {"passed": "pass", "failed": "FAIL", "warned": "warn", "skipped": "skip"}


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
        gate_parts = [
            f"{gates[k]} {k}" for k in ("passed", "failed", "warned", "skipped") if gates[k]
        ]
        parts.append("gates " + ", ".join(gate_parts))
    datasets = counts["datasets"]
    if report.datasets:
        ds_parts = [f"{datasets[k]} {k}" for k in ("valid", "invalid", "error") if datasets[k]]
        parts.append("datasets " + ", ".join(ds_parts))
    if report.diff is not None:
        metrics = counts["metrics"]
        moved = [
            f"{metrics[k]} {k}"
            for k in ("improved", "regressed", "changed", "added", "removed")
            if metrics[k]
        ]
        parts.append("metrics " + (", ".join(moved) if moved else "unchanged"))
    if report.problems:
        parts.append(f"{len(report.problems)} input error{'s' if len(report.problems) > 1 else ''}")
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
) -> Table:
    headers = (["Path"] if with_path else []) + ["Metric", base, head]
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


def dataset_change_tables(dataset: DatasetResult, precision: int = 5) -> list[Table]:
    """The schema and data changes of a dataset against the base (see mlci/checks/datasets.py)."""
    tables = []
    details = dataset.details
    comparison = details.get("comparison") or {}
    if comparison.get("status") == "skipped":
        table = Table(title=f"Dataset {dataset.name}: not compared", headers=["Why"])
        table.rows.append([str(comparison.get("reason", ""))])
        return [table]
    schema = details.get("schema_changes") or {}
    if schema.get("changes"):
        table = Table(
            title=f"Schema changes of {dataset.name}: {schema.get('breaking', 0)} breaking",
            headers=["Column", "Change", "Kind"],
        )
        for change in schema["changes"]:
            kind = "BREAKING" if change["breaking"] else "compatible"
            table.rows.append([change["column"] or "(schema)", change["detail"], kind])
        tables.append(table)
    data = details.get("data_changes") or {}
    if data.get("status") == "compared":
        title = (
            f"Data changes of {dataset.name}: rows {data['rows_old']} → {data['rows_new']}"
            + "".join(f", +{name}" for name in data["columns_added"])
            + "".join(f", -{name}" for name in data["columns_removed"])
        )
        table = Table(
            title=title,
            headers=["Column", "Null rate", "Null change", "Drift", "Value"],
            align_right={1, 2, 4},
        )
        for column in data["columns"]:
            drift = column["drift"]
            table.rows.append(
                [
                    column["column"],
                    f"{column['null_rate_new'] * 100:.2f}%",
                    f"{column['null_rate_change'] * 100:+.2f}%",
                    {"psi": "PSI", "ks": "KS"}.get(column["drift_method"] or "", MISSING),
                    MISSING if drift is None else format_value(round(drift, precision), precision),
                ]
            )
        tables.append(table)
    return tables


def report_tables(report: Report, precision: int = 5) -> list[Table]:
    """Every section that has something to show, in reading order."""
    tables = []
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
                )
            )
    if report.data_changes:
        tables.append(data_change_table(report.data_changes))
    if report.problems:
        table = Table(title="Input errors", headers=["Check", "Problem"])
        table.rows = [[problem.check, problem.message] for problem in report.problems]
        tables.append(table)
    return tables
