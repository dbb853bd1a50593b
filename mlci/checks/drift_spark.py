"""How a Spark dataset changed against the base, computed in Spark: the same DataComparison
(rows, columns, null rates, KS for numeric columns, PSI for the others) as `drift.py` gives
for pandas frames, without collecting the data to the driver.

- Rows and null rates: one aggregation per side.
- KS: the two-sample Kolmogorov-Smirnov statistic from approximate quantiles. Spark's
  `approxQuantile` gives KS_QUANTILES + 1 quantiles of each side with relative error
  KS_RELATIVE_ERROR (one pass per side for every numeric column at once); each side's cumulative
  distribution is read from its quantiles as a step function, and the largest gap is taken over
  the quantile values of both sides. Each step function is within 1/KS_QUANTILES +
  KS_RELATIVE_ERROR of the exact one, so the statistic is within KS_ERROR (0.004) of the exact
  two-sample statistic. The p-value is the asymptotic one (Kolmogorov's distribution), as
  scipy's `ks_2samp(method="asymp")` gives it.
- PSI: the base's MAX_CATEGORIES most frequent values (one `groupBy` and a `limit`), counted on
  both sides; the rest pooled into one bin, as `drift.psi` does.
"""

from __future__ import annotations

import bisect
from typing import Any

from mlci.checks.drift import MAX_CATEGORIES, ColumnChange, DataComparison, psi_of_bins

KS_QUANTILES = 1000
KS_RELATIVE_ERROR = 0.001
KS_ERROR = 2 * (1 / KS_QUANTILES + KS_RELATIVE_ERROR)
"""How far the KS statistic may be from the exact two-sample statistic."""


def compare_spark_frames(old: Any, new: Any) -> DataComparison:
    """Compare two Spark DataFrames column by column, in Spark."""
    common = [name for name in new.columns if name in old.columns]
    old_stats = _counts(old, common)
    new_stats = _counts(new, common)
    comparison = DataComparison(
        rows_old=old_stats["__rows"],
        rows_new=new_stats["__rows"],
        columns_added=[str(c) for c in new.columns if c not in old.columns],
        columns_removed=[str(c) for c in old.columns if c not in new.columns],
    )
    numeric = [name for name in common if _is_numeric(old, name) and _is_numeric(new, name)]
    old_quantiles = _quantiles(old, numeric)
    new_quantiles = _quantiles(new, numeric)
    for index, name in enumerate(common):
        old_nulls, new_nulls = old_stats[f"__n{index}"], new_stats[f"__n{index}"]
        old_rate = old_nulls / comparison.rows_old if comparison.rows_old else 0.0
        new_rate = new_nulls / comparison.rows_new if comparison.rows_new else 0.0
        change = ColumnChange(
            column=str(name),
            null_rate_old=old_rate,
            null_rate_new=new_rate,
            null_rate_change=new_rate - old_rate,
        )
        old_values = comparison.rows_old - old_nulls
        new_values = comparison.rows_new - new_nulls
        if name in numeric:
            change.drift_method = "ks"
            if old_values and new_values:
                change.drift = ks_from_quantiles(old_quantiles[name], new_quantiles[name])
                change.p_value = _ks_p_value(change.drift, old_values, new_values)
        else:
            change.drift_method = "psi"
            if old_values and new_values:
                change.drift = _psi(old, new, name, old_values, new_values)
        comparison.columns.append(change)
    return comparison


def ks_from_quantiles(old: list[float], new: list[float]) -> float:
    """The largest gap between two cumulative distributions, each known by its quantiles at
    0, 1/KS_QUANTILES, ..., 1 (the CDF at x: the largest level whose quantile is <= x)."""
    levels = [index / (len(old) - 1) for index in range(len(old))]

    def cdf(quantiles: list[float], x: float) -> float:
        position = bisect.bisect_right(quantiles, x)
        return 0.0 if position == 0 else levels[position - 1]

    points = sorted(set(old) | set(new))
    return max(abs(cdf(old, x) - cdf(new, x)) for x in points)


def _counts(frame: Any, columns: list[str]) -> dict[str, int]:
    from pyspark.sql import functions

    aggregates = [functions.count(functions.lit(1)).alias("__rows")]
    for index, name in enumerate(columns):
        column = functions.col(_quoted(name))
        missing = column.isNull()
        if _is_float(frame, name):
            missing = missing | functions.isnan(column)
        aggregates.append(
            functions.sum(functions.when(missing, 1).otherwise(0)).alias(f"__n{index}")
        )
    row = frame.agg(*aggregates).collect()[0]
    return {key: int(row[key] or 0) for key in row.asDict()}


def _quantiles(frame: Any, columns: list[str]) -> dict[str, list[float]]:
    """Each numeric column's quantiles at KS_QUANTILES + 1 levels (nulls and NaN left out)."""
    if not columns:
        return {}
    levels = [index / KS_QUANTILES for index in range(KS_QUANTILES + 1)]
    cast = frame.select(*[_finite(name).alias(f"c{index}") for index, name in enumerate(columns)])
    found = cast.approxQuantile(
        [f"c{index}" for index in range(len(columns))], levels, KS_RELATIVE_ERROR
    )
    return {name: [float(v) for v in values] for name, values in zip(columns, found, strict=True)}


def _finite(name: str) -> Any:
    from pyspark.sql import functions

    value = functions.col(_quoted(name)).cast("double")
    return functions.when(functions.isnan(value), None).otherwise(value)


def _ks_p_value(statistic: float, old_values: int, new_values: int) -> float:
    from scipy.stats import kstwo

    effective = round(old_values * new_values / (old_values + new_values))
    return float(min(1.0, max(0.0, kstwo.sf(statistic, max(effective, 1)))))


def _psi(old: Any, new: Any, name: str, old_values: int, new_values: int) -> float | None:
    from pyspark.sql import functions

    column = functions.col(_quoted(name)).cast("string").alias("v")
    top = (
        old.select(column)
        .where("v IS NOT NULL")
        .groupBy("v")
        .count()
        .orderBy(functions.desc("count"), "v")
        .limit(MAX_CATEGORIES)
        .collect()
    )
    kept = [row["v"] for row in top]
    old_counts = {row["v"]: int(row["count"]) for row in top}
    new_rows = (
        new.select(column).where(functions.col("v").isin(kept)).groupBy("v").count().collect()
        if kept
        else []
    )
    new_counts = {row["v"]: int(row["count"]) for row in new_rows}
    bins_old = [float(old_counts.get(k, 0)) for k in kept]
    bins_new = [float(new_counts.get(k, 0)) for k in kept]
    bins_old.append(float(old_values - sum(old_counts.values())))
    bins_new.append(float(new_values - sum(new_counts.values())))
    return psi_of_bins(bins_old, bins_new)


def _is_numeric(frame: Any, name: str) -> bool:
    from pyspark.sql.types import BooleanType, NumericType

    data_type = frame.schema[name].dataType
    return isinstance(data_type, NumericType) and not isinstance(data_type, BooleanType)


def _is_float(frame: Any, name: str) -> bool:
    from pyspark.sql.types import DoubleType, FloatType

    return isinstance(frame.schema[name].dataType, DoubleType | FloatType)


def _quoted(name: str) -> str:
    return "`" + str(name).replace("`", "``") + "`"
