"""Which way is better for a metric: from the config, or guessed from its name.

Names come as real tools write them: dvclive (`avg_prec.test`, `train.loss`, `dice_multi`),
MLflow autologging (`training_accuracy_score`, `training_log_loss`, `val_loss`), Keras
(`val_accuracy`), Hugging Face's Trainer (`eval_loss`, `eval_f1`, `eval_samples_per_second`),
scikit-learn scorers (`neg_mean_squared_error`). Every dotted or slashed part is looked at, the
last one first; words such as split names (`train`, `val`, `test`, `eval`) say nothing, `score`
alone says "higher"; the longest known phrase in a part decides (`log_loss` is a loss, not a log).
"""

from __future__ import annotations

import re
from typing import Literal

Direction = Literal["higher", "lower"]

HIGHER_IS_BETTER = frozenset(
    {
        "accuracy",
        "acc",
        "balanced_accuracy",
        "precision",
        "prec",
        "recall",
        "f1",
        "f2",
        "fbeta",
        "auc",
        "auroc",
        "auprc",
        "roc_auc",
        "pr_auc",
        "average_precision",
        "avg_prec",
        "ap",
        "map",
        "r2",
        "explained_variance",
        "ndcg",
        "mrr",
        "hit_rate",
        "hits",
        "iou",
        "miou",
        "jaccard",
        "dice",
        "bleu",
        "rouge",
        "rouge1",
        "rouge2",
        "rougel",
        "meteor",
        "chrf",
        "psnr",
        "ssim",
        "specificity",
        "sensitivity",
        "tpr",
        "true_positive_rate",
        "throughput",
        "per_second",
        "kappa",
        "mcc",
        "matthews_corrcoef",
        "top1",
        "top5",
        "coverage",
        "exact_match",
        "em",
        "success_rate",
        "reward",
        "return",
    }
)
LOWER_IS_BETTER = frozenset(
    {
        "loss",
        "error",
        "err",
        "error_rate",
        "rmse",
        "mae",
        "mse",
        "latency",
        "log_loss",
        "logloss",
        "nll",
        "cross_entropy",
        "mape",
        "smape",
        "rmsle",
        "msle",
        "max_error",
        "perplexity",
        "ppl",
        "fpr",
        "fnr",
        "false_positive_rate",
        "false_negative_rate",
        "brier",
        "brier_score",
        "hamming_loss",
        "wer",
        "cer",
        "fid",
        "duration",
        "runtime",
        "seconds",
        "memory",
        "regret",
        "deviance",
    }
)
# `score` alone says "higher" (scikit-learn's `estimator.score`), but any other word wins.
WEAK_HIGHER = frozenset({"score"})
# scikit-learn scorers negate losses so that higher is better: `neg_mean_squared_error`.
NEGATED = "neg"
_PARTS = re.compile(r"[./:]+")
_TOKEN = re.compile(r"[^a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_LONGEST = max(len(phrase.split("_")) for phrase in HIGHER_IS_BETTER | LOWER_IS_BETTER)


def infer_direction(name: str) -> Direction | None:
    """Guess from the name's parts, the last first; None when unknown or ambiguous."""
    for part in reversed(_PARTS.split(_CAMEL.sub("_", name))):
        direction = _part_direction(part.lower())
        if direction is not None:
            return direction
    return None


def _part_direction(part: str) -> Direction | None:
    tokens = [token for token in _TOKEN.split(part) if token]
    negated = bool(tokens) and tokens[0] == NEGATED
    if negated:
        tokens = tokens[1:]
    found: set[Direction] = set()
    weak = False
    index = 0
    while index < len(tokens):
        for length in range(min(_LONGEST, len(tokens) - index), 0, -1):
            phrase = "_".join(tokens[index : index + length])
            if phrase in LOWER_IS_BETTER:
                found.add("lower")
            elif phrase in HIGHER_IS_BETTER:
                found.add("higher")
            elif length == 1 and phrase in WEAK_HIGHER:
                weak = True
                break
            else:
                continue
            index += length - 1
            break
        index += 1
    if not found and weak:
        found.add("higher")
    if len(found) != 1:
        return None
    direction = found.pop()
    if negated:
        return "lower" if direction == "higher" else "higher"
    return direction
