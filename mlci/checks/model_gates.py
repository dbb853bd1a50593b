"""Gates and the model diff: the diff's metrics as a source of gate metrics, gates on slices,
and a failed threshold told apart from noise.

Gates on slices (`slices: true` or a list of slice columns on a gate): every rule of the gate
applied to every slice of the model diff, one result per rule naming the worst slice.

A slice's value of the metric is the model diff's (`report.model.slices`), head against base on
that slice's examples; the rules are the gate's own, decided by the same code as on the whole
metric (`iter_gate_results`). A pull request that improves the overall metric but degrades one
region fails here, and the reason names the region.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from mlci.checks.gates import GateError, gate_direction, iter_gate_results
from mlci.config import RULES
from mlci.sources.metrics import MetricSet

MODEL_FILE = "predictions"
"""How the gates name the model diff's metrics as a metrics "file"."""

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


# --- the model diff's metrics as gate metrics --------------------------------------------------


def with_model_metrics(
    metrics: MetricSet | None, model: ModelDiff | None, side: str
) -> MetricSet | None:
    """`metrics` plus the model diff's metrics (`side`: `new` for the head, `old` for the base)
    that no metrics file defines, under the file name `predictions`: a gate on `f1_macro` then
    needs no metrics file."""
    if model is None:
        return metrics
    values = {
        name: getattr(change, side)
        for name, change in model.metrics.items()
        if getattr(change, side) is not None
    }
    if not values:
        return metrics
    if metrics is None:
        if side == "old":
            return None  # no baseline at all: the model diff alone does not make one
        metrics = MetricSet(label="predictions")
    defined = metrics.names()
    extra = {name: value for name, value in values.items() if name not in defined}
    if not extra:
        return metrics
    return MetricSet(label=metrics.label, data={**metrics.data, MODEL_FILE: extra})


# --- a failed threshold within noise -----------------------------------------------------------


def note_noise(results: list[GateResult], model: ModelDiff | None) -> None:
    """Next to every failed threshold rule whose metric's change is within noise (a passing
    significance rule on it, or the model diff's interval containing 0), say so."""
    from mlci.checks.stats import statistic_for

    passing = {
        result.metric: result
        for result in results
        if result.rule == "significance" and result.status == "passed"
    }
    for result in results:
        if result.status not in ("failed", "warned") or result.rule == "significance":
            continue
        if result.rule.endswith("(slices)"):
            continue
        note = None
        significance = passing.get(result.metric)
        if significance is not None:
            details = significance.details
            note = (
                f"the significance rule finds the change within noise "
                f"({details.get('confidence', 0.95) * 100:g}% CI "
                f"[{details.get('ci_low', 0):+.4g}, {details.get('ci_high', 0):+.4g}])"
            )
        elif model is not None:
            name = result.metric if result.metric in model.metrics else statistic_for(result.metric)
            change = model.metrics.get(name or "")
            if change is not None and change.significant is False and change.ci_low is not None:
                assert change.ci_high is not None
                confidence = (model.confidence or 0.95) * 100
                note = (
                    f"the change is within noise on the paired predictions ({confidence:g}% CI "
                    f"[{change.ci_low:+.4g}, {change.ci_high:+.4g}])"
                )
        if note is not None:
            result.reason += f"; {note}"
            result.details["within_noise"] = True
