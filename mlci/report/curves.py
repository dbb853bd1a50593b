"""Curves of the model's behaviour, base vs head: ROC, precision-recall, calibration, residuals,
predicted vs actual by decile. Plain data, computed once (`mlci.checks.curves`) and drawn by
every renderer (Mermaid in markdown, SVG in HTML) from the same numbers.

In the JSON report they are `curves[]`; each holds the resampled points, never the raw arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

CurveKind = Literal["roc", "pr", "calibration", "residuals", "deciles"]


@dataclass
class Series:
    """One line (or set of bars) of a curve: a side and what it measures, one value per x."""

    name: str
    """`base`, `head`, or a side and a quantity (`head predicted`)."""
    values: list[float | None]
    """One per x; None where the side has no value there (an empty calibration bin)."""
    side: Literal["base", "head"] = "head"


@dataclass
class Curve:
    kind: CurveKind
    title: str
    x_label: str
    y_label: str
    x: list[float]
    """The x positions (a grid of rates, bin centres, decile numbers), increasing."""
    series: list[Series] = field(default_factory=list)
    summary: dict[str, float | None] = field(default_factory=dict)
    """One number per side that sums the curve up: `base AUC`, `head AUC`, `head ECE`, ..."""
    counts: dict[str, list[int]] = field(default_factory=dict)
    """Examples behind each x, per side (calibration bins, histogram bins, deciles)."""
    x_edges: list[float] | None = None
    """Bin edges, for binned curves (len(x) + 1)."""


@dataclass
class ModelCurves:
    """The curves of one model diff; `task` says which curves it can have."""

    task: Literal["binary", "multiclass", "regression"]
    curves: list[Curve] = field(default_factory=list)
    note: str | None = None
    """How the curves were made when that is not obvious (micro-average, top-label)."""

    def get(self, kind: CurveKind) -> Curve | None:
        return next((curve for curve in self.curves if curve.kind == kind), None)
