"""How a dataset changed against the base: row count, columns, null rates and distribution drift.

Drift per column: the Population Stability Index for categorical columns (text, category, bool),
the two-sample Kolmogorov-Smirnov statistic for numeric ones. Both are plain numbers a gate can
hold to a limit (common rules of thumb: PSI above 0.2, or a KS statistic above 0.1, is a shift
worth a look).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

PSI_FLOOR = 1e-4
"""Proportions are floored at this before taking logs (a category absent on one side)."""
MAX_CATEGORIES = 50
"""Categories beyond the base's most frequent ones are pooled into one bin."""


@dataclass
class ColumnChange:
    column: str
    null_rate_old: float
    null_rate_new: float
    null_rate_change: float
    drift_method: Literal["psi", "ks"] | None = None
    drift: float | None = None
    """PSI, or the KS statistic (the largest gap between the two cumulative distributions)."""
    p_value: float | None = None
    """For KS: the probability of a gap this large between samples of one distribution."""


@dataclass
class DataComparison:
    rows_old: int
    rows_new: int
    columns_added: list[str] = field(default_factory=list)
    columns_removed: list[str] = field(default_factory=list)
    columns: list[ColumnChange] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["rows_change"] = self.rows_new - self.rows_old
        return out


def compare_frames(old: Any, new: Any) -> DataComparison:
    """Compare two pandas DataFrames column by column."""
    import pandas as pd

    comparison = DataComparison(
        rows_old=len(old),
        rows_new=len(new),
        columns_added=[str(c) for c in new.columns if c not in old.columns],
        columns_removed=[str(c) for c in old.columns if c not in new.columns],
    )
    for name in [c for c in new.columns if c in old.columns]:
        before, after = old[name], new[name]
        old_null = float(before.isna().mean()) if len(before) else 0.0
        new_null = float(after.isna().mean()) if len(after) else 0.0
        change = ColumnChange(
            column=str(name),
            null_rate_old=old_null,
            null_rate_new=new_null,
            null_rate_change=new_null - old_null,
        )
        numeric = all(
            pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
            for s in (before, after)
        )
        if numeric:
            change.drift_method = "ks"
            change.drift, change.p_value = ks(before.dropna(), after.dropna())
        else:
            change.drift_method = "psi"
            change.drift = psi(before.dropna(), after.dropna())
        comparison.columns.append(change)
    return comparison


def psi(old: Any, new: Any) -> float | None:
    """Population Stability Index of two categorical samples: Σ (q - p) · ln(q / p)."""
    if len(old) == 0 or len(new) == 0:
        return None
    old_counts = old.astype(str).value_counts()
    new_counts = new.astype(str).value_counts()
    kept = list(old_counts.index[:MAX_CATEGORIES])
    kept_set = set(kept)
    bins_old = [float(old_counts.get(k, 0)) for k in kept]
    bins_new = [float(new_counts.get(k, 0)) for k in kept]
    bins_old.append(float(old_counts[[k for k in old_counts.index if k not in kept_set]].sum()))
    bins_new.append(float(new_counts[[k for k in new_counts.index if k not in kept_set]].sum()))
    return psi_of_bins(bins_old, bins_new)


def psi_of_bins(bins_old: list[float], bins_new: list[float]) -> float:
    """PSI of two histograms over the same bins (counts)."""
    total_old, total_new = sum(bins_old), sum(bins_new)
    value = 0.0
    for a, b in zip(bins_old, bins_new, strict=True):
        p = max(a / total_old, PSI_FLOOR)
        q = max(b / total_new, PSI_FLOOR)
        if a == 0 and b == 0:
            continue
        value += (q - p) * math.log(q / p)
    return value


def ks(old: Any, new: Any) -> tuple[float | None, float | None]:
    """The two-sample Kolmogorov-Smirnov statistic and p-value (scipy)."""
    if len(old) == 0 or len(new) == 0:
        return None, None
    from scipy import stats

    result = stats.ks_2samp(old.to_numpy(dtype=float), new.to_numpy(dtype=float))
    return float(result.statistic), float(result.pvalue)
