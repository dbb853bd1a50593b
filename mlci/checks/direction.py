"""Which way is better for a metric: from the config, or guessed from its name."""

from __future__ import annotations

import re
from typing import Literal

Direction = Literal["higher", "lower"]

HIGHER_IS_BETTER = frozenset(
    {
        "accuracy",
        "acc",
        "precision",
        "recall",
        "f1",
        "auc",
        "r2",
        "roc_auc",
        "pr_auc",
        "ndcg",
        "iou",
        "dice",
        "bleu",
        "rouge",
        "specificity",
        "sensitivity",
        "tpr",
        "throughput",
        "kappa",
        "mcc",
    }
)
LOWER_IS_BETTER = frozenset(
    {
        "loss",
        "error",
        "rmse",
        "mae",
        "mse",
        "latency",
        "log_loss",
        "logloss",
        "mape",
        "smape",
        "rmsle",
        "msle",
        "perplexity",
        "fpr",
        "fnr",
        "brier",
        "wer",
        "cer",
        "duration",
    }
)
_TOKEN = re.compile(r"[^a-z0-9]+")


def infer_direction(name: str) -> Direction | None:
    """Guess from the last dotted part of `name`; None when unknown or ambiguous."""
    last = name.rsplit(".", 1)[-1].lower()
    tokens = [token for token in _TOKEN.split(last) if token]
    joined = "_".join(tokens)
    higher = joined in HIGHER_IS_BETTER or any(t in HIGHER_IS_BETTER for t in tokens)
    lower = joined in LOWER_IS_BETTER or any(t in LOWER_IS_BETTER for t in tokens)
    if joined in LOWER_IS_BETTER:  # "log_loss" beats the "log" + "loss" token guess
        higher = False
    if higher == lower:
        return None
    return "higher" if higher else "lower"
