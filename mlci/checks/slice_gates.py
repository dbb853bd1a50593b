"""Gates on slices (`slices: true` or a list of slice columns on a gate): every rule of the gate
applied to every slice of the model diff, one result per rule naming the worst slice.

A slice's value of the metric is the model diff's (`report.model.slices`), head against base on
that slice's examples; the rules are the gate's own, decided by the same code as on the whole
metric (`iter_gate_results`). A pull request that improves the overall metric but degrades one
region fails here, and the reason names the region.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from mlci.checks.gates import RULES, GateError, gate_direction, iter_gate_results
from mlci.sources.metrics import MetricSet

if TYPE_CHECKING:
    from mlci.config import Gate
    from mlci.report.model import GateResult
    from mlci.report.model_diff import ModelDiff, SliceChange

_AT_LEAST = {"min", "max_drop", "max_drop_pct"}
_AT_MOST = {"max", "max_increase", "max_increase_pct"}
SLICES_FILE = "predictions (slice)"


def slice_metric(gate: Gate, model: ModelDiff) -> str:
    """The model diff's name of the gate's metric (`test_accuracy` -> `accuracy`)."""
    from mlci.checks.stats import statistic_for

    available = sorted(model.slices[0].metrics) if model.slices else []
    for name in (gate.metric, statistic_for(gate.metric)):
        if name in available:
            return name
    raise GateError(
        f"gate on {gate.metric!r}: `slices` needs a metric the model diff computes per slice "
        f"({', '.join(available) or 'none: no slices'})",
        hint="name the gate's metric as the model diff does, e.g. `metric: accuracy`",
    )


def slice_gate_results(gate: Gate, model: ModelDiff | None) -> list[GateResult]:
    """One result per threshold rule of `gate`: the worst slice's verdict (any failing slice
    fails the rule). Empty when the gate has no `slices`."""
    if gate.slices is False:
        return []
    if model is None or not model.slices:
        raise GateError(
            f"gate on {gate.metric!r}: `slices` needs the model diff's slices "
            "(`predictions: {slices: [...]}` and base predictions)"
        )
    name = slice_metric(gate, model)
    columns = gate.slices if isinstance(gate.slices, list) else None
    rows = [row for row in model.slices if columns is None or row.column in columns]
    plain = msgspec.structs.replace(
        gate, metric=name, path=None, significance=None, slices=False, required=True
    )
    per_rule: dict[str, list[tuple[SliceChange, GateResult]]] = {}
    for row in rows:
        change = row.metrics.get(name)
        if change is None or change.new is None:
            continue
        head = MetricSet(label=_where(row), data={SLICES_FILE: {name: change.new}})
        base = None
        if change.old is not None:
            base = MetricSet(label=_where(row), data={SLICES_FILE: {name: change.old}})
        unavailable = None if base is not None else "no base predictions"
        for result in iter_gate_results(plain, head, base, base_unavailable=unavailable):
            per_rule.setdefault(result.rule, []).append((row, result))
    found = []
    for rule in RULES:
        if rule not in per_rule:
            continue
        found.append(_worst(gate, rule, per_rule[rule], gate_direction(plain)))
    return found


def _worst(
    gate: Gate,
    rule: str,
    results: list[tuple[SliceChange, GateResult]],
    direction: str | None,
) -> GateResult:
    from mlci.report.model import GateResult

    failing = [(row, result) for row, result in results if result.status == "failed"]
    row, worst = min(
        results, key=lambda pair: (pair[1].status != "failed", _margin(pair[1], direction))
    )
    total = len(results)
    if failing:
        names = ", ".join(_where(r) for r, _ in failing[:3]) + (", ..." if len(failing) > 3 else "")
        summary = f"{len(failing)} of {total} slices fail ({names}); worst {_where(row)}"
    else:
        summary = f"all {total} slices pass; closest {_where(row)}"
    status = worst.status
    if status == "failed" and gate.severity == "warning":
        status = "warned"
    return GateResult(
        metric=gate.metric,
        rule=f"{rule} (slices)",
        status=status,
        reason=f"{summary} (n={row.support}): {worst.reason}",
        severity=gate.severity,
        gate=gate.name,
        observed=worst.observed,
        baseline=worst.baseline,
        limit=worst.limit,
        details={
            "slice_column": row.column,
            "slice_value": row.value,
            "slice_support": row.support,
            "slices": total,
            "failing_slices": [
                {"column": r.column, "value": r.value, "support": r.support} for r, _ in failing
            ],
        },
    )


def _margin(result: GateResult, direction: str | None) -> float:
    """How far the value is inside its limit (negative: outside); the worst slice has least."""
    if result.observed is None or result.limit is None:
        return float("-inf")
    rule = result.rule
    if rule in _AT_LEAST:
        return result.observed - result.limit
    if rule in _AT_MOST:
        return result.limit - result.observed
    # MLflow's rules point the metric's way.
    if direction == "lower":
        return result.limit - result.observed
    return result.observed - result.limit


def _where(row: SliceChange) -> str:
    if row.grouped:
        return f"{row.column}=(other: {len(row.grouped)} values)"
    return f"{row.column}={row.value}"
