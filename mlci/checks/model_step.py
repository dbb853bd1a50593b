"""The model diff inside `mlci check`: the `predictions:` section's head file, the base file found
at the baseline exactly as the significance gate finds it, paired into `report.model`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlci.config import PredictionsOptions, Significance

if TYPE_CHECKING:
    from mlci.checks.check import CheckContext
    from mlci.checks.gates import PredictionsLoader
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
    report.model = diff if unavailable is None else head_only(diff, unavailable)
