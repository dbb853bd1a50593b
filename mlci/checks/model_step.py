"""The model diff inside `mlci check`: the `predictions:` section's head file, the base file found
at the baseline exactly as the significance gate finds it, paired into `report.model`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlci.config import PredictionsOptions, Significance

if TYPE_CHECKING:
    from mlci.checks.check import CheckContext
    from mlci.checks.gates import PredictionsLoader
    from mlci.report.model import Report
    from mlci.report.model_diff import ModelDiff
    from mlci.sources.prediction_pairs import PairedPredictions


def predictions_rule(section: PredictionsOptions) -> Significance:
    """The section as the significance gate's loader reads it (same files, same cache)."""
    return Significance(
        predictions=section.path,
        base_predictions=section.base_path,
        id=section.id,
        target=section.target,
        prediction=section.prediction,
    )


def model_diff_step(
    context: CheckContext, report: Report, loader: PredictionsLoader | None = None
) -> None:
    """`report.model` from the `predictions:` section; nothing without one. Without base
    predictions (a first pull request) the diff is left out and the reason noted."""
    from mlci.checks.gates import BaselineUnavailable, ContextPredictions
    from mlci.checks.model_diff import compute_model_diff, head_only
    from mlci.sources.prediction_pairs import pair_for_diff, read_joined
    from mlci.sources.predictions import read_predictions

    section = context.config.config.predictions
    if section is None:
        return
    load = loader or ContextPredictions(context)
    unavailable = None
    try:
        head, base = load(predictions_rule(section))
    except BaselineUnavailable as missing:
        # A first pull request: the head's own numbers, and why there is nothing to compare.
        head = read_predictions(context.config.resolve(section.path), label=section.path)
        base, unavailable = None, str(missing)
    joined = None
    if section.join:
        joined = read_joined(context.config.resolve(section.join))
    paired = pair_for_diff(head, base or head, section, joined=joined, join_label=section.join)
    diff = compute_model_diff(paired, examples=section.examples, min_support=section.min_support)
    if unavailable is not None:
        report.model = head_only(diff, unavailable)
        return
    add_intervals(diff, paired, section)
    if report.diff is not None:
        diff.aliases = metric_aliases([change.name for change in report.diff.metrics], diff)
    report.model = diff


def metric_aliases(names: list[str], diff: ModelDiff) -> dict[str, str]:
    """Which metric-file metrics the model diff measures, under its own name."""
    from mlci.checks.stats import statistic_for

    found = {}
    for name in names:
        key = name if name in diff.metrics else statistic_for(name)
        if key is not None and key in diff.metrics and key != name:
            found[name] = key
    return found


def add_intervals(diff: ModelDiff, paired: PairedPredictions, section: PredictionsOptions) -> None:
    """The paired confidence interval of every metric's change (same seed, same resamples)."""
    from mlci.checks.significance import paired_intervals

    intervals = paired_intervals(
        paired,
        list(diff.metrics),
        resamples=section.resamples,
        confidence=section.confidence,
        seed=section.seed,
    )
    for name, interval in intervals.items():
        change = diff.metrics[name]
        change.ci_low, change.ci_high = interval.low, interval.high
        change.significant = interval.low > 0 or interval.high < 0
    diff.confidence, diff.resamples, diff.seed = section.confidence, section.resamples, section.seed
