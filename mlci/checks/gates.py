"""Model quality gates: absolute limits, limits against the baseline, MLflow's improvement rules
and statistical significance, each evaluated to one GateResult per rule (docs/gates.md)."""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlci.checks.direction import Direction, infer_direction
from mlci.config import BASELINE_RULES, MLFLOW_RULES, RULES, Gate, Significance
from mlci.config_file import ConfigFile
from mlci.errors import BaselineUnavailable, MlciError
from mlci.report.model import GateResult, GateStatus
from mlci.sources.metrics import MetricSet

if TYPE_CHECKING:
    from mlci.config import Statistic
    from mlci.sources.predictions import Predictions

MLFLOW_ZERO_BASELINE_STEP = 1e-10
"""MLflow's fallback for `min_relative_change` on a zero baseline: improve by at least this."""
ROUNDING = {"rel_tol": 1e-9, "abs_tol": 1e-12}
"""mlci's own limits count a value this close to the limit as on it (float rounding of
`baseline - max_drop` must not fail a value that is exactly at the limit)."""


class GateError(MlciError):
    """A gate that cannot be evaluated as written: unknown metric, a text value, ... (exit 2)."""


PredictionsLoader = Callable[[Significance], "tuple[Predictions, Predictions]"]
"""Loads (head, base) predictions of a significance rule; raises BaselineUnavailable."""


def evaluate_gates(
    gates: ConfigFile | Sequence[Gate],
    head: MetricSet,
    base: MetricSet | None,
    *,
    base_unavailable: str | None = None,
    predictions: PredictionsLoader | None = None,
) -> list[GateResult]:
    """One GateResult per rule of every gate, in order.

    `base` None means there is no baseline (`base_unavailable` says why): rules against it fail
    when the gate is required and are skipped otherwise. `predictions` loads the per-example
    predictions of significance rules; without it they are skipped. Raises GateError (or another
    MlciError) for a gate that cannot be evaluated as written.
    """
    if isinstance(gates, ConfigFile):
        gates = gates.config.gates
    results: list[GateResult] = []
    for gate in gates:
        results += evaluate_gate(
            gate, head, base, base_unavailable=base_unavailable, predictions=predictions
        )
    return results


def evaluate_gate(
    gate: Gate,
    head: MetricSet,
    base: MetricSet | None,
    *,
    base_unavailable: str | None = None,
    predictions: PredictionsLoader | None = None,
) -> list[GateResult]:
    return list(
        iter_gate_results(
            gate, head, base, base_unavailable=base_unavailable, predictions=predictions
        )
    )


def iter_gate_results(
    gate: Gate,
    head: MetricSet,
    base: MetricSet | None,
    *,
    base_unavailable: str | None = None,
    predictions: PredictionsLoader | None = None,
    no_base_yet: str | None = None,
) -> Iterator[GateResult]:
    """The results of one gate, rule by rule: a rule that raises leaves the earlier ones.

    `no_base_yet` (why) says the repository has nothing to compare with yet (no base branch
    before the first push): rules against the baseline are then skipped, required or not,
    since no pull request could have met them."""
    rules = [(rule, getattr(gate, rule)) for rule in RULES[:-1] if getattr(gate, rule) is not None]
    if no_base_yet is not None:
        base, base_unavailable = None, no_base_yet
    if rules:
        observed = _find(gate, head, "head")
        reference = _find(gate, base, "base") if base is not None else None
        if observed is None and reference is None:
            raise _unknown_metric(gate, head, base, base_unavailable)
        for rule, limit in rules:
            rows = _Rule(gate, rule, float(limit), base, base_unavailable, no_base_yet is not None)
            yield _settle(gate, rows.evaluate(observed, reference))
    if gate.significance is not None:
        if no_base_yet is not None:
            yield _no_base_yet(gate, "significance", no_base_yet)
        else:
            yield _settle(gate, _significance(gate, gate.significance, predictions))


def _no_base_yet(gate: Gate, rule: str, why: str) -> GateResult:
    return GateResult(
        metric=gate.metric,
        rule=rule,
        status="skipped",
        reason=f"skipped: no baseline ({why})",
        severity=gate.severity,
        gate=gate.name,
    )


def _settle(gate: Gate, result: GateResult) -> GateResult:
    if result.status == "failed" and gate.severity == "warning":
        result.status = "warned"
    return result


def gate_direction(gate: Gate) -> Direction | None:
    """`direction`, else `greater_is_better`, else the guess from the metric's name."""
    if gate.direction is not None:
        return gate.direction
    if gate.greater_is_better is not None:
        return "higher" if gate.greater_is_better else "lower"
    return infer_direction(gate.metric)


# --- rules on metric values ----------------------------------------------------------------------

Found = tuple[str, Any]
"""(metrics file, value) of a metric on one side."""


def _find(gate: Gate, metrics: MetricSet, side: str) -> Found | None:
    hits = metrics.lookup(gate.metric, gate.path)
    if len(hits) > 1:
        raise GateError(
            f"gate on {gate.metric!r}: the {side} metrics define it in several files "
            f"({', '.join(path for path, _ in hits)})",
            hint="say which file with `path:` on the gate",
        )
    return hits[0] if hits else None


def _unknown_metric(
    gate: Gate, head: MetricSet, base: MetricSet | None, base_unavailable: str | None
) -> GateError:
    names = sorted(head.names() | (base.names() if base is not None else set()))
    close = difflib.get_close_matches(gate.metric, names, n=1, cutoff=0.6)
    if close:
        hint = f"did you mean {close[0]!r}?"
    elif names:
        hint = "the metrics are: " + ", ".join(names)
    else:
        hint = "no metrics were found: list the metrics files under `metrics: files:`"
    where = f" in {gate.path}" if gate.path else ""
    sides = "the head or the base metrics" if base is not None else "the head metrics"
    if base is None and base_unavailable:
        sides += f" (and no baseline: {base_unavailable})"
    return GateError(f"gate on {gate.metric!r}: no such metric{where} in {sides}", hint=hint)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(gate: Gate, rule: str, found: Found, side: str) -> float:
    path, value = found
    if isinstance(value, bool) or not isinstance(value, int | float):
        kind = "true/false" if isinstance(value, bool) else type(value).__name__
        raise GateError(
            f"gate on {gate.metric!r}: rule {rule} needs a number, but the {side} value is "
            f"{value!r} ({kind})",
            path=path,
        )
    return float(value)


@dataclass
class _Rule:
    gate: Gate
    rule: str
    limit: float
    base: MetricSet | None
    base_unavailable: str | None
    no_base_yet: bool = False
    result: GateResult = field(init=False)

    def __post_init__(self) -> None:
        self.result = GateResult(
            metric=self.gate.metric,
            rule=self.rule,
            status="passed",
            reason="",
            severity=self.gate.severity,
            gate=self.gate.name,
        )

    def evaluate(self, observed: Found | None, reference: Found | None) -> GateResult:
        gate, rule, result = self.gate, self.rule, self.result
        if reference is not None and _is_number(reference[1]):
            result.baseline = float(reference[1])
        if observed is None:
            return _unmet(gate, result, "missing from the head metrics")
        value = result.observed = _number(gate, rule, observed, "head")
        direction = None
        if rule in MLFLOW_RULES:
            direction = gate_direction(gate)
            if direction is None:
                raise GateError(
                    f"gate on {gate.metric!r}: rule {rule} needs to know whether higher or lower "
                    "is better, and the metric's name does not say",
                    hint="set `direction: higher` or `direction: lower` on the gate",
                )
        ref = 0.0
        if rule in BASELINE_RULES:
            if self.base is None and self.no_base_yet:
                result.status = "skipped"
                result.reason = f"skipped: no baseline ({self.base_unavailable})"
                return result
            if self.base is None:
                return _unmet(gate, result, f"no baseline: {self.base_unavailable or 'none'}")
            if reference is None:
                return _unmet(gate, result, f"missing from the baseline ({self.base.label})")
            ref = result.baseline = _number(gate, rule, reference, "base")
            if math.isnan(ref):
                return _verdict(result, False, "the baseline value is NaN")
        if math.isnan(value):
            return _verdict(result, False, "the head value is NaN")
        check = getattr(self, "_" + rule)
        passed, reason = check(value, ref, direction)
        return _verdict(result, passed, reason)

    # mlci's own rules: at the limit passes (within ROUNDING)

    def _min(self, value: float, _: float, __: Direction | None) -> tuple[bool, str]:
        self.result.limit = self.limit
        if _at_least(value, self.limit):
            return True, f"{_n(value)} >= min {_n(self.limit)}"
        return False, f"{_n(value)} < min {_n(self.limit)}"

    def _max(self, value: float, _: float, __: Direction | None) -> tuple[bool, str]:
        self.result.limit = self.limit
        if _at_most(value, self.limit):
            return True, f"{_n(value)} <= max {_n(self.limit)}"
        return False, f"{_n(value)} > max {_n(self.limit)}"

    def _max_drop(self, value: float, ref: float, _: Direction | None) -> tuple[bool, str]:
        limit = self.result.limit = ref - self.limit
        change = f"{_change(value - ref)} from the baseline, max_drop {_n(self.limit)}"
        return _at_least(value, limit), change

    def _max_increase(self, value: float, ref: float, _: Direction | None) -> tuple[bool, str]:
        limit = self.result.limit = ref + self.limit
        change = f"{_change(value - ref)} from the baseline, max_increase {_n(self.limit)}"
        return _at_most(value, limit), change

    def _max_drop_pct(self, value: float, ref: float, _: Direction | None) -> tuple[bool, str]:
        limit = self.result.limit = ref - self.limit / 100 * abs(ref)
        reason = f"{_percent(value, ref)} from the baseline, max_drop_pct {_n(self.limit)}%"
        return _at_least(value, limit), reason

    def _max_increase_pct(self, value: float, ref: float, _: Direction | None) -> tuple[bool, str]:
        limit = self.result.limit = ref + self.limit / 100 * abs(ref)
        reason = f"{_percent(value, ref)} from the baseline, max_increase_pct {_n(self.limit)}%"
        return _at_most(value, limit), reason

    # MLflow's rules, exactly as mlflow.models.evaluation.validation._validate decides them

    def _threshold(self, value: float, _: float, direction: Direction | None) -> tuple[bool, str]:
        self.result.limit = self.limit
        higher = direction == "higher"
        passed = value >= self.limit if higher else value <= self.limit
        sign = (">=" if passed else "<") if higher else ("<=" if passed else ">")
        return passed, f"{_n(value)} {sign} threshold {_n(self.limit)} ({direction} is better)"

    def _min_absolute_change(
        self, value: float, ref: float, direction: Direction | None
    ) -> tuple[bool, str]:
        higher = direction == "higher"
        limit = self.result.limit = ref + self.limit if higher else ref - self.limit
        passed = value >= limit if higher else value <= limit
        gain = value - ref if higher else ref - value
        return passed, (
            f"improved by {_n(gain)} on the baseline, min_absolute_change {_n(self.limit)}"
        )

    def _min_relative_change(
        self, value: float, ref: float, direction: Direction | None
    ) -> tuple[bool, str]:
        higher = direction == "higher"
        if ref == 0:  # MLflow's fallback: relative change is undefined, require any improvement
            limit = ref + MLFLOW_ZERO_BASELINE_STEP if higher else ref - MLFLOW_ZERO_BASELINE_STEP
            self.result.limit = limit
            passed = value >= limit if higher else value <= limit
            return passed, "the baseline is 0: must improve on it by at least 1e-10 (as MLflow)"
        gain = (value - ref if higher else ref - value) / abs(ref)
        self.result.limit = ref + self.limit * abs(ref) if higher else ref - self.limit * abs(ref)
        passed = not gain < self.limit
        return passed, (
            f"improved by {_n(gain * 100)}% of |baseline|, min_relative_change "
            f"{_n(self.limit)} ({_n(self.limit * 100)}%)"
        )


def _at_least(value: float, limit: float) -> bool:
    return value >= limit or math.isclose(value, limit, **ROUNDING)


def _at_most(value: float, limit: float) -> bool:
    return value <= limit or math.isclose(value, limit, **ROUNDING)


def _verdict(result: GateResult, passed: bool, reason: str) -> GateResult:
    result.status = "passed" if passed else "failed"
    result.reason = reason
    return result


def _unmet(gate: Gate, result: GateResult, reason: str) -> GateResult:
    """Something the rule needs is absent: a failure when required, else a skip."""
    status: GateStatus = "failed" if gate.required else "skipped"
    result.status = status
    result.reason = reason if gate.required else f"skipped: {reason} (required: false)"
    return result


def _n(value: float) -> str:
    return f"{value:.6g}"


def _change(diff: float) -> str:
    if diff < 0:
        return f"dropped {_n(-diff)}"
    return f"rose {_n(diff)}" if diff > 0 else "unchanged"


def _percent(value: float, ref: float) -> str:
    if ref == 0:
        return _change(value - ref) + " (baseline 0)"
    relative = (value - ref) / abs(ref) * 100
    if relative < 0:
        return f"dropped {_n(-relative)}%"
    return f"rose {_n(relative)}%" if relative > 0 else "unchanged"


# --- the significance rule -----------------------------------------------------------------------


def _significance(
    gate: Gate, options: Significance, predictions: PredictionsLoader | None
) -> GateResult:
    from mlci.checks.stats import DIRECTIONS, statistic_for
    from mlci.config import STATISTICS

    result = GateResult(
        metric=gate.metric,
        rule="significance",
        status="passed",
        reason="",
        severity=gate.severity,
        gate=gate.name,
    )
    statistic = options.statistic or statistic_for(gate.metric)
    if statistic is None:
        raise GateError(
            f"gate on {gate.metric!r}: significance cannot tell which statistic this metric is",
            hint="set `significance: {statistic: ...}` to one of: " + ", ".join(STATISTICS),
        )
    direction = DIRECTIONS[statistic]
    declared = gate.direction or (
        None if gate.greater_is_better is None else "higher" if gate.greater_is_better else "lower"
    )
    if declared is not None and declared != direction:
        raise GateError(
            f"gate on {gate.metric!r}: significance compares {statistic}, where {direction} is "
            f"better, but the gate says direction {declared}"
        )
    if predictions is None:
        result.status = "skipped"
        result.reason = "skipped: the per-example predictions are not available here"
        return result
    try:
        head, base = predictions(options)
    except BaselineUnavailable as missing:
        return _unmet(gate, result, f"no base predictions: {missing}")
    return significance_result(gate, options, statistic, head, base, result)


def significance_result(
    gate: Gate,
    options: Significance,
    statistic: Statistic,
    head: Predictions,
    base: Predictions,
    result: GateResult,
) -> GateResult:
    """Bootstrap (and McNemar) on paired predictions, into `result`."""
    from mlci.checks.pairing import pair_predictions
    from mlci.checks.stats import (
        CLASSIFICATION,
        DIRECTIONS,
        PER_EXAMPLE,
        mcnemar,
        paired_bootstrap,
        significantly_worse,
    )

    if statistic not in PER_EXAMPLE:  # F1, ROC AUC, log loss, R², ...: on the predictions
        from mlci.checks.significance import gate_result

        return gate_result(options, statistic, head, base, result)

    paired = pair_predictions(
        head,
        base,
        statistic=statistic,
        id_column=options.id,
        target=options.target,
        prediction=options.prediction,
    )
    boot = paired_bootstrap(
        statistic,
        paired.head,
        paired.base,
        resamples=options.resamples,
        confidence=options.confidence,
        seed=options.seed,
    )
    direction = DIRECTIONS[statistic]
    worse = significantly_worse(boot, direction, options.tolerance)
    result.observed, result.baseline = boot.head, boot.base
    result.details = {
        "statistic": statistic,
        "direction": direction,
        "examples": boot.examples,
        "difference": boot.difference,
        "ci_low": boot.low,
        "ci_high": boot.high,
        "confidence": boot.confidence,
        "resamples": boot.resamples,
        "seed": boot.seed,
        "tolerance": options.tolerance,
        "method": boot.method,
        "head_predictions": head.label,
        "base_predictions": base.label,
    }
    reason = (
        f"{statistic} {boot.difference:+.4g}, {boot.confidence * 100:g}% CI "
        f"[{boot.low:+.4g}, {boot.high:+.4g}]"
    )
    if statistic in CLASSIFICATION:
        flip = 1.0 if statistic == "accuracy" else -1.0
        right_head = paired.head if flip > 0 else 1.0 - paired.head
        right_base = paired.base if flip > 0 else 1.0 - paired.base
        test = mcnemar(right_head, right_base)
        result.details.update(
            mcnemar_p_value=test.p_value,
            head_only_correct=test.head_only,
            base_only_correct=test.base_only,
        )
        reason += f", McNemar p={test.p_value:.3g}"
    tolerance = f" by more than {_n(options.tolerance)}" if options.tolerance else ""
    reason += (
        f": significantly worse{tolerance}" if worse else f": not significantly worse{tolerance}"
    )
    result.status = "failed" if worse else "passed"
    result.reason = reason
    return result
