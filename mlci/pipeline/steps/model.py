"""The `model` step: the model diff of the `predictions:` section into `report.model` — the head
file paired with the base's, found at the baseline exactly as the significance gate finds it."""

from __future__ import annotations

from mlci.config import PredictionsOptions, Significance
from mlci.errors import BaselineUnavailable
from mlci.pipeline.context import CheckContext
from mlci.report.model import Report


def predictions_rule(section: PredictionsOptions) -> Significance:
    """The section as the significance gate's loader reads it (same files, same cache)."""
    return Significance(
        predictions=section.path,
        base_predictions=section.base_path,
        id=section.id,
        target=section.target,
        prediction=section.prediction,
    )


def run(context: CheckContext, report: Report) -> None:
    """Nothing without a `predictions:` section. Without base predictions (a first pull
    request) the head's numbers alone, and why."""
    section = context.config.config.predictions
    if section is None:
        return
    from mlci.checks.curves import curves_from_pairs
    from mlci.checks.model_diff import compute_model_diff, head_only, metric_aliases
    from mlci.checks.significance import add_intervals
    from mlci.sources.prediction_pairs import pair_for_diff, read_joined
    from mlci.sources.predictions import read_predictions

    unavailable = None
    try:
        head, base = context.predictions(predictions_rule(section))
    except BaselineUnavailable as missing:
        head = read_predictions(context.config.resolve(section.path), label=section.path)
        base, unavailable = head, str(missing)
    joined = read_joined(context.config.resolve(section.join)) if section.join else None
    paired = pair_for_diff(head, base, section, joined=joined, join_label=section.join)
    diff = compute_model_diff(paired, examples=section.examples, min_support=section.min_support)
    # The charts' curves (ROC, PR, calibration / residuals, deciles) from the same pairing.
    report.curves = curves_from_pairs(paired, with_base=unavailable is None)
    if unavailable is not None:
        report.model = head_only(diff, unavailable)
        return
    add_intervals(
        diff, paired, resamples=section.resamples, confidence=section.confidence, seed=section.seed
    )
    if report.diff is not None:
        diff.aliases = metric_aliases([change.name for change in report.diff.metrics], diff)
    report.model = diff
