"""One metric on both sides of a diff: the row `mlci diff` and the report's diff share.

Kept apart from the report model so that `mlci diff` builds its rows without loading the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from mlci.sources.metric_files import Scalar
else:  # at run time too, for reading a JSON report back (report/load.py), without the readers
    Scalar = bool | int | float | str

Verdict = Literal["improved", "regressed", "unchanged", "changed", "added", "removed"]


@dataclass
class MetricChange:
    """One metric (or param) on both sides of a diff. `None` means absent on that side."""

    path: str
    name: str
    old: Scalar | None
    new: Scalar | None
    diff: float | None = None
    """new - old, when both are numbers."""
    relative: float | None = None
    """diff / |old|, when both are numbers and old is not zero."""
    direction: Literal["higher", "lower"] | None = None
    verdict: Verdict = "changed"
