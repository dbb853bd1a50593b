"""Combine the reports of the parts of one check (`mlci check --only ...` in the jobs of a CI
matrix: datasets, steps, or the projects of a repository) into the one report a whole check
would have made: `mlci report merge`.

The result does not depend on the order the reports are given in, and merging a merged report
with nothing else gives it back. Reports that cannot belong to one check (another commit,
another report id, a part held twice) are an error naming the files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mlci.errors import MlciError
from mlci.report.model import Partial, Problem, Report

MERGE_CHECK = "merge"
"""The `check` of the Problems the merge itself adds (a part no report holds); an earlier
merge's are recomputed."""

# Fields each part of a check fills once: from whichever report has them.
_SINGLE = ("diff", "train", "curves", "model", "mlflow_run", "history")
# Fields every report of one check has the same value of (when it has one at all). Not
# `config`: the path of mlci.yaml differs from runner to runner.
_SAME = ("report_id", "head_sha", "base")


@dataclass(frozen=True)
class NamedReport:
    name: str
    """Where the report was read from (a file name), for the messages."""
    report: Report


class ReportsDisagree(MlciError):
    """The reports cannot be parts of one check."""


def merge_reports(reports: Sequence[NamedReport]) -> Report:
    """One report from the reports of the parts of one check."""
    if not reports:
        raise MlciError("no reports to merge", hint="give the JSON reports `mlci check` wrote")
    _agree(reports)
    every = _every_part(reports)
    ordered = sorted(reports, key=lambda named: _position(named, every))
    _no_part_twice(ordered, every)
    first = ordered[0].report
    merged = Report(
        title=first.title,
        config=first.config,
        **{name: _first(ordered, name) for name in _SAME},
        mlci_version=max((r.report.mlci_version for r in ordered), key=_version_key),
    )
    for name in _SINGLE:
        setattr(merged, name, _first(ordered, name))
    for named in ordered:
        report = named.report
        merged.gates += report.gates
        merged.datasets += report.datasets
        merged.data_changes += report.data_changes
        merged.problems += [  # one said by several parts (a missing --base) is said once
            p for p in report.problems if p.check != MERGE_CHECK and p not in merged.problems
        ]
        merged.projects += report.projects
    index = {part: at for at, part in enumerate(every or [])}
    merged.datasets.sort(key=lambda d: index.get(f"datasets:{d.name}", len(index)))
    merged.projects.sort(key=lambda p: index.get(f"projects:{p.path}", len(index)))
    if every is not None:
        held = {part for named in ordered for part in _held(named, every)}
        parts = [part for part in every if part in held]
        merged.partial = None if len(parts) == len(every) else Partial(parts=parts, of=every)
        missing = [part for part in every if part not in held]
        if missing:
            names = ", ".join(repr(part) for part in missing)
            merged.problems.append(
                Problem(
                    check=MERGE_CHECK,
                    message=f"no report holds the part{'s' if len(missing) > 1 else ''} "
                    f"{names}: their job did not run or did not upload its report",
                )
            )
    return merged


def _agree(reports: Sequence[NamedReport]) -> None:
    for name in _SAME:
        seen: dict[Any, str] = {}
        for named in reports:
            value = getattr(named.report, name)
            if value is not None:
                seen.setdefault(value, named.name)
        if len(seen) > 1:
            (a_value, a_file), (b_value, b_file) = list(seen.items())[:2]
            raise ReportsDisagree(
                f"{a_file} and {b_file} are not reports of one check: their {name} differ "
                f"({_short(a_value)!r} and {_short(b_value)!r})",
                hint="merge the reports of one run",
            )
    titles = {named.report.title: named.name for named in reports}
    if len(titles) > 1:
        (a_title, a_file), (b_title, b_file) = list(titles.items())[:2]
        raise ReportsDisagree(
            f"{a_file} and {b_file} are not reports of one check: their titles differ "
            f"({a_title!r} and {b_title!r})",
            hint="merge the reports of one mlci.yaml",
        )


def _every_part(reports: Sequence[NamedReport]) -> list[str] | None:
    """The parts of the check, from the partial reports (which must agree on them); None when
    every report is whole."""
    found: tuple[list[str], str] | None = None
    for named in reports:
        partial = named.report.partial
        if partial is None:
            continue
        if found is None:
            found = (partial.of, named.name)
        elif partial.of != found[0]:
            raise ReportsDisagree(
                f"{found[1]} and {named.name} are not reports of one check: their check has "
                f"other parts ({', '.join(found[0])} and {', '.join(partial.of)})",
                hint="merge the reports of one mlci.yaml at one commit",
            )
    return found[0] if found else None


def _held(named: NamedReport, every: list[str] | None) -> list[str]:
    partial = named.report.partial
    if partial is not None:
        return partial.parts
    return list(every or [])


def _position(named: NamedReport, every: list[str] | None) -> tuple[int, str]:
    held = _held(named, every)
    index = {part: at for at, part in enumerate(every or [])}
    return (min((index[p] for p in held if p in index), default=len(index)), ",".join(held))


def _no_part_twice(reports: Sequence[NamedReport], every: list[str] | None) -> None:
    if len(reports) > 1 and any(named.report.partial is None for named in reports):
        whole = next(named for named in reports if named.report.partial is None)
        other = next(named for named in reports if named is not whole)
        raise ReportsDisagree(
            f"{whole.name} holds the whole check, so {other.name} repeats a part of it",
            hint="merge the reports of `mlci check --only` (or of a merge that left parts out)",
        )
    owner: dict[str, str] = {}
    for named in reports:
        for part in _held(named, every):
            if part in owner:
                raise ReportsDisagree(
                    f"{owner[part]} and {named.name} both hold the part {part!r}: a shard "
                    "given twice",
                    hint="give each shard's report once",
                )
            owner[part] = named.name


def _first(reports: Sequence[NamedReport], name: str) -> Any:
    return next(
        (value for named in reports if (value := getattr(named.report, name)) is not None), None
    )


def _short(value: Any) -> str:
    text = str(value)
    return text[:12] if len(text) == 40 and all(c in "0123456789abcdef" for c in text) else text


def _version_key(version: str) -> tuple[int, ...]:
    numbers = []
    for piece in version.split("."):
        digits = "".join(c for c in piece if c.isdigit())
        numbers.append(int(digits) if digits else 0)
    return tuple(numbers)
