"""How a dataset compares with the base revision, as the report carries it: the comparison
itself (which base, or why none), the schema changes, the data changes and the drift of each
column against its limit. Text, markdown and JSON read these fields; none computes them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

PartStatus = Literal["compared", "new", "skipped"]
"""`compared`; `new`: the file is not in the base revision; `skipped`: see `reason`."""
Statistic = Literal["psi", "ks", "null_rate_change", "row_drop_pct"]
DriftVerdict = Literal["passed", "failed", "warned"]


@dataclass
class SchemaChange:
    column: str | None
    """None for a schema-wide change (strict, ordered, a dataframe check)."""
    kind: str
    """`column_removed`, `column_added`, `dtype_changed`, `nullable_changed`, `check_added`, ...
    (docs/data-validation.md lists them)."""
    before: Any
    after: Any
    breaking: bool
    """Data that passed the base's schema may fail the head's."""
    detail: str
    """The change in words: `dtype float64 → int64`."""


@dataclass
class SchemaChanges:
    status: PartStatus
    reason: str | None = None
    changes: list[SchemaChange] = field(default_factory=list)

    @property
    def breaking(self) -> int:
        return sum(change.breaking for change in self.changes)


@dataclass
class ColumnDrift:
    """One statistic of one column (`(rows)` for the row count) against its limit."""

    column: str
    statistic: Statistic
    """`psi` (text, category, bool columns), `ks` (numeric), `null_rate_change` (head minus base,
    0..1), `row_drop_pct` (rows lost, percent of the base's)."""
    value: float | None
    """None when it cannot be measured (a column empty on one side)."""
    limit: float | None = None
    """The configured limit (`drift.max_psi`, ...); None: no limit on this column."""
    verdict: DriftVerdict | None = None
    """Against the limit; None when there is no limit."""
    before: float | None = None
    """For `null_rate_change`: the base's null rate (0..1)."""
    after: float | None = None
    """For `null_rate_change`: the head's null rate (0..1)."""
    p_value: float | None = None
    """For `ks`: the probability of a gap this large between samples of one distribution."""


@dataclass
class DataChanges:
    status: PartStatus
    reason: str | None = None
    base_from: Literal["git", "dvc"] | None = None
    """Where the base's data was read: git, or DVC's cache or remote."""
    rows_before: int | None = None
    rows_after: int | None = None
    columns_added: list[str] = field(default_factory=list)
    columns_removed: list[str] = field(default_factory=list)
    drift: list[ColumnDrift] = field(default_factory=list)


@dataclass
class DatasetComparison:
    status: Literal["compared", "skipped"]
    base: str | None = None
    """The base revision as the user would name it: `merge-base(HEAD, origin/main)`, `HEAD~1`."""
    sha: str | None = None
    reason: str | None = None
    """Why it was skipped: no repository, no base branch, ..."""
    schema: SchemaChanges | None = None
    data: DataChanges | None = None
