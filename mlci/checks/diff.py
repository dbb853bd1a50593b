"""Compare two MetricSets: DVC's exact `metrics diff` result, and the richer rows mlci shows."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mlci.checks.direction import Direction, infer_direction
from mlci.sources.metric_files import flatten
from mlci.sources.metrics import MetricSet

if TYPE_CHECKING:
    from mlci.report.metric_change import MetricChange, Verdict

DvcDiff = dict[str, dict[str, dict[str, Any]]]
DirectionOf = Callable[[str, str], Direction | None]


def dvc_diff(old: MetricSet, new: MetricSet, *, with_unchanged: bool = False) -> DvcDiff:
    """`dvc metrics diff --json`: {path: {metric: {"old", "new", "diff"?}}}, key for key."""
    result: DvcDiff = {}
    for path in old.data.keys() | new.data.keys():
        path_diff = _diff_path(old.data.get(path, {}), new.data.get(path, {}), with_unchanged)
        if path_diff:
            result[path] = path_diff
    return result


def _parse(raw: Any) -> Any:
    if raw is None or isinstance(raw, dict | list | int | float):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _diff_values(old: Any, new: Any, with_unchanged: bool) -> dict[str, Any]:
    if isinstance(new, list) and isinstance(old, list) and len(old) == len(new) == 1:
        return _diff_values(old[0], new[0], with_unchanged)
    if not with_unchanged and old == new:
        return {}
    result = {"old": old, "new": new}
    if isinstance(new, int | float) and isinstance(old, int | float):
        result["diff"] = new - old
    return result


def _flat_or_default(data: Any) -> tuple[dict[str, Any], Any]:
    if not data:
        return {}, None
    if isinstance(data, dict):
        return flatten(data), None
    return {}, "unable to parse"


def _diff_path(old_raw: Any, new_raw: Any, with_unchanged: bool) -> dict[str, dict[str, Any]]:
    old, new = _parse(old_raw), _parse(new_raw)
    if isinstance(new, dict) or isinstance(old, dict):
        old_flat, old_default = _flat_or_default(old)
        new_flat, new_default = _flat_or_default(new)
        result = {}
        for name in old_flat.keys() | new_flat.keys():
            values = _diff_values(
                old_flat.get(name, old_default), new_flat.get(name, new_default), with_unchanged
            )
            if values:
                result[name] = values
        return result
    values = _diff_values(old, new, with_unchanged)
    return {"": values} if values else {}


def by_name(path: str, name: str) -> Direction | None:
    """The direction common metric names imply (accuracy up, loss down, ...)."""
    return infer_direction(name)


def no_direction(path: str, name: str) -> Direction | None:
    """Parameters are neither better nor worse: they only change."""
    return None


def metric_changes(
    old: MetricSet,
    new: MetricSet,
    *,
    direction_of: DirectionOf = by_name,
    with_unchanged: bool = True,
) -> list[MetricChange]:
    """Every metric on either side as a MetricChange, sorted by path then name."""
    rows = []
    for path, metrics in dvc_diff(old, new, with_unchanged=with_unchanged).items():
        for name, values in metrics.items():
            rows.append(_change(path, name, values, direction_of(path, name)))
    return sorted(rows, key=lambda row: (row.path, row.name))


def _change(
    path: str, name: str, values: dict[str, Any], direction: Direction | None
) -> MetricChange:
    from mlci.report.metric_change import MetricChange

    old, new, diff = values["old"], values["new"], values.get("diff")
    relative = None
    if diff is not None and isinstance(old, int | float) and old != 0 and math.isfinite(old):
        relative = diff / abs(old)
    return MetricChange(
        path=path,
        name=name,
        old=old,
        new=new,
        diff=diff,
        relative=relative,
        direction=direction,
        verdict=_verdict(old, new, diff, direction),
    )


def _verdict(old: Any, new: Any, diff: Any, direction: Direction | None) -> Verdict:
    if old is None and new is not None:
        return "added"
    if new is None and old is not None:
        return "removed"
    if diff is None or isinstance(old, bool) or isinstance(new, bool):
        return "unchanged" if old == new else "changed"
    if diff == 0:
        return "unchanged"
    if direction is None or math.isnan(diff):
        return "changed"
    better = diff > 0 if direction == "higher" else diff < 0
    return "improved" if better else "regressed"
