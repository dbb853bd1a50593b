"""Directions guessed from the metric names real tools write."""

from __future__ import annotations

import pytest

from mlci.checks.direction import infer_direction

# name -> direction, grouped by the tool that writes it.
NAMES: dict[str, dict[str, str | None]] = {
    # dvclive: summaries nest on "/" and splits come last or first (eval/metrics.json of
    # example-get-started: avg_prec.test, roc_auc.train), Keras/Lightning callbacks.
    "dvclive": {
        "avg_prec.test": "higher",
        "avg_prec.train": "higher",
        "roc_auc.test": "higher",
        "dice_multi": "higher",
        "train.loss": "lower",
        "eval.loss": "lower",
        "eval.accuracy": "higher",
        "train.epoch.loss": "lower",
        "val.step.acc": "higher",
        "step": None,
    },
    # MLflow autologging (scikit-learn training metrics, post-training metrics, Keras).
    "mlflow": {
        "training_accuracy_score": "higher",
        "training_f1_score": "higher",
        "training_precision_score": "higher",
        "training_recall_score": "higher",
        "training_log_loss": "lower",
        "training_roc_auc": "higher",
        "training_score": "higher",
        "training_mean_squared_error": "lower",
        "training_root_mean_squared_error": "lower",
        "training_mean_absolute_error": "lower",
        "training_r2_score": "higher",
        "accuracy_score_X_test": "higher",
        "RandomForestClassifier_score_X_test": "higher",
        "val_loss": "lower",
        "epoch": None,
    },
    "keras": {
        "loss": "lower",
        "accuracy": "higher",
        "val_loss": "lower",
        "val_accuracy": "higher",
        "val_sparse_categorical_accuracy": "higher",
        "val_mean_absolute_error": "lower",
        "auc_1": "higher",
        "learning_rate": None,
    },
    "huggingface": {
        "eval_loss": "lower",
        "eval_f1": "higher",
        "eval_accuracy": "higher",
        "eval_runtime": "lower",
        "eval_samples_per_second": "higher",
        "eval_steps_per_second": "higher",
        "train_loss": "lower",
        "train_runtime": "lower",
        "grad_norm": None,
        "total_flos": None,
        "eval_rouge1": "higher",
        "eval_wer": "lower",
    },
    "scikit-learn": {
        "neg_mean_squared_error": "higher",
        "neg_log_loss": "higher",
        "brier_score_loss": "lower",
        "brier_score": "lower",
        "balanced_accuracy": "higher",
        "f1_macro": "higher",
        "matthews_corrcoef": "higher",
        "max_error": "lower",
        "explained_variance": "higher",
    },
    "other": {
        "mAP": "higher",
        "valAccuracy": "higher",
        "latency_ms": "lower",
        "false_positive_rate": "lower",
        "true_positive_rate": "higher",
        "accuracy_loss": None,  # both words: ambiguous
        "model": None,
        "batch_size": None,
    },
}


@pytest.mark.parametrize(
    ("name", "direction"),
    [(name, direction) for names in NAMES.values() for name, direction in names.items()],
)
def test_direction_from_real_names(name: str, direction: str | None) -> None:
    assert infer_direction(name) == direction
