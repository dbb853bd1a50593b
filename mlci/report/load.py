"""Read a JSON report (`mlci check --format json`) back into the typed Report, for `mlci report
merge`. The file is untrusted input: any shape it should not have is one error naming it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlci.errors import InputFileError
from mlci.json_source import parse_json
from mlci.report.model import REPORT_SCHEMA_VERSION, Report

_NON_FINITE = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}
# Derived from the rest when a report is written; read back, they would only disagree with it.
_DERIVED = ("schema_version", "status", "exit_code", "counts")


def read_report(path: Path) -> Report:
    """The report in `path`, as `mlci check -o report.json` wrote it."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise InputFileError(
            "report not found", path=path, hint="give the JSON reports `mlci check` wrote"
        ) from None
    except IsADirectoryError:
        raise InputFileError("is a directory, not a JSON report", path=path) from None
    except OSError as error:
        raise InputFileError(f"cannot read the report: {error.strerror}", path=path) from None
    except UnicodeDecodeError as error:
        raise InputFileError(
            f"not a JSON report: not UTF-8 text (byte {error.start})", path=path
        ) from None
    data = parse_json(
        text,
        path,
        invalid="not a JSON report",
        deep="not a JSON report: nested too deeply to read",
        hint="write it with `mlci check --format json -o FILE`",
    )
    return report_from_dict(data, path)


def report_from_dict(data: Any, path: Path) -> Report:
    if not isinstance(data, dict) or "schema_version" not in data or "title" not in data:
        raise InputFileError(
            "not an mlci report: a JSON object with `schema_version` and `title` is expected",
            path=path,
            hint="write it with `mlci check --format json -o FILE`",
        )
    version = data["schema_version"]
    if version != REPORT_SCHEMA_VERSION:
        raise InputFileError(
            f"report schema_version {version!r} (mlci {data.get('mlci_version')!r}); this mlci "
            f"reads schema_version {REPORT_SCHEMA_VERSION}",
            path=path,
            hint="merge reports written by the same mlci version",
        )
    import msgspec

    body = {key: value for key, value in data.items() if key not in _DERIVED}
    try:
        report = msgspec.convert(_typed(body), Report, strict=False)
    except msgspec.ValidationError as error:
        raise InputFileError(f"not an mlci report: {error}", path=path) from None
    _numbers(report)
    return report


def _typed(value: Any, key: str | None = None) -> Any:
    """The JSON as the dataclasses read it: `per_class[].class` back to `label`, nested
    project reports without their derived keys."""
    if isinstance(value, dict):
        out = {k: _typed(v, k) for k, v in value.items()}
        if key == "report":  # a project's own report
            out = {k: v for k, v in out.items() if k not in _DERIVED}
        return out
    if isinstance(value, list):
        items = [_typed(item) for item in value]
        if key == "per_class":
            items = [
                {"label": item.pop("class", None), **item} if isinstance(item, dict) else item
                for item in items
            ]
        return items
    return value


def _numbers(report: Report) -> None:
    """Metric values are numbers or strings in the model, so msgspec leaves "NaN" a string;
    it was a float when written."""
    reports = [report, *(p.report for p in report.projects if p.report is not None)]
    for each in reports:
        if each.diff is None:
            continue
        for change in [*each.diff.metrics, *each.diff.params]:
            if isinstance(change.old, str) and change.old in _NON_FINITE:
                change.old = _NON_FINITE[change.old]
            if isinstance(change.new, str) and change.new in _NON_FINITE:
                change.new = _NON_FINITE[change.new]
