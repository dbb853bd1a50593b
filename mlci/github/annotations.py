"""Failed gates and data failures as workflow-command annotations, pointing at the line of
the config file that declares the gate, the schema file, or the data file's failing row."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mlci.config import RULES
from mlci.errors import MlciError
from mlci.github.actions import Annotation, Level
from mlci.report.model import CheckFailure, DatasetResult, GateResult, Report
from mlci.report.tables import format_value


def report_annotations(
    report: Report, *, config_path: Path | None, workspace: Path
) -> list[Annotation]:
    """One annotation per failed or warned gate, failing data check, broken dataset and input
    error, errors first; file paths relative to `workspace` (GitHub's repository root)."""
    root = config_path.parent if config_path is not None else workspace
    annotations: list[Annotation] = []
    positions = _gate_positions(config_path)
    for gate in report.gates:
        if gate.status not in ("failed", "warned"):
            continue
        level: Level = (
            "error" if gate.status == "failed" and gate.severity == "error" else "warning"
        )
        line = _gate_line(gate, positions)
        annotations.append(
            Annotation(
                level,
                _gate_message(gate),
                title=f"mlci gate {gate.gate or gate.metric}: {gate.rule} {gate.status}",
                file=_relative(config_path, root, workspace) if config_path else None,
                line=line,
            )
        )
    for dataset in report.datasets:
        if dataset.status == "error":
            annotations.append(
                Annotation(
                    "error",
                    dataset.message or "the dataset could not be validated",
                    title=f"mlci dataset {dataset.name}",
                    file=_relative(dataset.path, root, workspace),
                )
            )
        for failure in dataset.failures:
            annotations.append(_failure_annotation(dataset, failure, root, workspace))
    for problem in report.problems:
        annotations.append(
            Annotation(
                "error",
                problem.message,
                title=f"mlci {problem.check}: input error",
                file=_relative(problem.path, root, workspace) if problem.path else None,
                line=problem.line,
            )
        )
    for project in report.projects:  # `mlci check --all`: each project's, at its own files
        if project.report is not None:
            nested = Path(project.report.config) if project.report.config else None
            annotations += report_annotations(
                project.report, config_path=nested, workspace=workspace
            )
        elif project.status == "error":
            annotations.append(
                Annotation(
                    "error",
                    project.reason or "the project could not be checked",
                    title=f"mlci project {project.path}",
                )
            )
    order = {"error": 0, "warning": 1, "notice": 2}
    return sorted(annotations, key=lambda annotation: order[annotation.level])


def _gate_message(gate: GateResult) -> str:
    parts = [gate.reason or f"{gate.metric}: {gate.rule} {gate.status}"]
    numbers = [
        f"{name} {format_value(value)}"
        for name, value in (
            ("observed", gate.observed),
            ("baseline", gate.baseline),
            ("limit", gate.limit),
        )
        if value is not None
    ]
    if numbers:
        parts.append("(" + ", ".join(numbers) + ")")
    return " ".join(parts)


def _failure_annotation(
    dataset: DatasetResult, failure: CheckFailure, root: Path, workspace: Path
) -> Annotation:
    column = f"column {failure.column}" if failure.column else "the table"
    examples = ", ".join(
        (f"row {case.row}: " if case.row is not None else "") + format_value(case.value)
        for case in failure.cases[:3]
    )
    message = f"{column} fails {failure.check}"
    if failure.schema_level:
        file = failure.path or _schema_file(dataset.schema, root)
        line = failure.line
    else:
        message += f" on {failure.failing} row{'s' if failure.failing != 1 else ''}"
        file = failure.path or dataset.path
        line = next((case.line for case in failure.cases if case.line is not None), None)
    if examples:
        message += f"; e.g. {examples}"
    return Annotation(
        "error",
        message,
        title=f"mlci data {dataset.name}: {failure.check}",
        file=_relative(file, root, workspace) if file else None,
        line=line,
    )


def _schema_file(schema: str | None, root: Path) -> str | None:
    """The schema's file, unless the schema is a Python `module:attribute`."""
    if not schema:
        return None
    if (root / schema).is_file() or Path(schema).is_file():
        return schema
    return None if ":" in schema else schema


def _relative(path: str | Path | None, root: Path, workspace: Path) -> str | None:
    """`path` (relative to the config file's directory, or absolute) relative to the workspace,
    with forward slashes, as GitHub matches annotation files."""
    if path is None:
        return None
    candidate = Path(path)
    if not candidate.is_absolute():
        candidate = root / candidate
    try:
        relative = os.path.relpath(candidate.resolve(), workspace.resolve())
    except ValueError:  # another drive on Windows
        return str(path)
    if relative.startswith(".."):
        return str(path)
    return relative.replace(os.sep, "/")


def _gate_positions(config_path: Path | None) -> list[tuple[Any, dict[str, int], int | None]]:
    """For each gate of the config file: its mapping, the line of each rule, its own line."""
    if config_path is None:
        return []
    from mlci.yaml_source import load_yaml

    try:
        document = load_yaml(config_path, "config file")
    except MlciError:
        return []
    gates = document.data.get("gates") if isinstance(document.data, dict) else None
    if not isinstance(gates, list):
        return []
    found = []
    for index, gate in enumerate(gates):
        if not isinstance(gate, dict):
            continue
        lines = {}
        for key in (*RULES, "metric", "name"):
            position = document.keys.get(("gates", index, key))
            if position is not None:
                lines[key] = position.line
        start = document.values.get(("gates", index))
        found.append((gate, lines, start.line if start else None))
    return found


def _gate_line(
    gate: GateResult, positions: list[tuple[Any, dict[str, int], int | None]]
) -> int | None:
    """The line of the gate's rule in the config file: the gate is found by its name, else by
    its metric and a rule of that name."""
    candidates = [
        (declared, lines, start)
        for declared, lines, start in positions
        if (gate.gate and declared.get("name") == gate.gate)
        or (not gate.gate and declared.get("metric") == gate.metric)
        or (gate.gate and not declared.get("name") and declared.get("metric") == gate.metric)
    ]
    for _declared, lines, _start in candidates:
        if gate.rule in lines:
            return lines[gate.rule]
    if candidates:
        _declared, lines, start = candidates[0]
        return lines.get("metric", start)
    return None
