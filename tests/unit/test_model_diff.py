"""The model diff's numbers equal scikit-learn's on generated predictions: binary, multiclass,
regression, with ties in scores and classes missing from the target or from a model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics

from mlci.checks.model_diff import compute_model_diff
from mlci.config import PredictionsOptions
from mlci.sources.prediction_pairs import pair_for_diff
from mlci.sources.predictions import Predictions

CLASSIFICATION = [
    "accuracy",
    "balanced_accuracy",
    "precision_macro",
    "recall_macro",
    "f1_macro",
    "precision_weighted",
    "recall_weighted",
    "f1_weighted",
]


def sides(head: pd.DataFrame, base: pd.DataFrame) -> tuple[Predictions, Predictions]:
    return (
        Predictions(frame=head, path=Path("head.csv"), label="head.csv"),
        Predictions(frame=base, path=Path("base.csv"), label="base.csv"),
    )


def sklearn_classification(
    truth: Any, predicted: Any, proba: Any = None, labels: Any = None, positive: Any = None
) -> dict[str, float]:
    found = {
        "accuracy": metrics.accuracy_score(truth, predicted),
        "balanced_accuracy": metrics.balanced_accuracy_score(truth, predicted),
    }
    for average in ("macro", "weighted"):
        for name, function in (
            ("precision", metrics.precision_score),
            ("recall", metrics.recall_score),
            ("f1", metrics.f1_score),
        ):
            found[f"{name}_{average}"] = function(
                truth, predicted, average=average, zero_division=0
            )
    if positive is not None:
        for name, function in (
            ("precision", metrics.precision_score),
            ("recall", metrics.recall_score),
            ("f1", metrics.f1_score),
        ):
            found[name] = function(truth, predicted, pos_label=positive, zero_division=0)
    if proba is not None:
        if len(labels) == 2:
            found["roc_auc"] = metrics.roc_auc_score(truth == positive, proba[:, 1])
        else:
            found["roc_auc"] = metrics.roc_auc_score(
                truth, proba, multi_class="ovr", average="macro", labels=labels
            )
        found["log_loss"] = metrics.log_loss(truth, proba, labels=labels)
    return {name: float(value) for name, value in found.items()}


def noisy(rng: np.random.Generator, truth: np.ndarray, classes: list[Any], right: float) -> Any:
    keep = rng.random(len(truth)) < right
    return np.where(keep, truth, rng.choice(classes, size=len(truth)))


def probabilities(rng: np.random.Generator, codes: np.ndarray, k: int) -> np.ndarray:
    """Hundredths that sum to 1: many ties in every class's score."""
    weights = rng.random((len(codes), k)) + 2.0 * np.eye(k)[codes] * rng.random((len(codes), 1))
    weights /= weights.sum(axis=1, keepdims=True)
    counts = np.array([rng.multinomial(100, row) for row in weights])
    return counts / 100


def test_multiclass_equals_sklearn_with_a_class_no_model_predicts() -> None:
    rng = np.random.default_rng(1)
    n, classes = 3000, ["ant", "bee", "cat", "dog", "eel"]
    truth = rng.choice(classes, size=n, p=[0.4, 0.3, 0.2, 0.08, 0.02])
    head_pred = noisy(rng, truth, classes[:4], 0.8)  # never predicts eel
    base_pred = noisy(rng, truth, classes, 0.7)
    codes = np.searchsorted(classes, truth)
    head_proba, base_proba = probabilities(rng, codes, 5), probabilities(rng, codes, 5)
    frames = []
    for predicted, proba in ((head_pred, head_proba), (base_pred, base_proba)):
        frame = pd.DataFrame({"id": np.arange(n), "target": truth, "prediction": predicted})
        for index, label in enumerate(classes):
            frame[f"proba_{label}"] = proba[:, index]
        frames.append(frame)
    options = PredictionsOptions(path="p.csv")
    paired = pair_for_diff(*sides(frames[0], frames[1].sample(frac=1, random_state=0)), options)
    assert paired.task == "multiclass"
    diff = compute_model_diff(paired)

    old = sklearn_classification(truth, base_pred, base_proba, classes)
    new = sklearn_classification(truth, head_pred, head_proba, classes)
    assert set(diff.metrics) == set(new)
    for name in new:
        assert diff.metrics[name].old == pytest.approx(old[name], abs=1e-12), name
        assert diff.metrics[name].new == pytest.approx(new[name], abs=1e-12), name
    report = metrics.classification_report(
        truth, head_pred, labels=classes, output_dict=True, zero_division=0
    )
    for row in diff.per_class:
        expected = report[row.label]
        assert row.support == expected["support"]
        assert row.precision.new == pytest.approx(expected["precision"], abs=1e-12)
        assert row.recall.new == pytest.approx(expected["recall"], abs=1e-12)
        assert row.f1.new == pytest.approx(expected["f1-score"], abs=1e-12)
    assert diff.confusion_matrix is not None
    assert (
        diff.confusion_matrix.head
        == metrics.confusion_matrix(truth, head_pred, labels=classes).tolist()
    )
    assert (
        diff.confusion_matrix.base
        == metrics.confusion_matrix(truth, base_pred, labels=classes).tolist()
    )
    assert diff.changed is not None
    base_right, head_right = base_pred == truth, head_pred == truth
    assert diff.changed.fixed == int((~base_right & head_right).sum())
    assert diff.changed.broken == int((base_right & ~head_right).sum())
    first = np.flatnonzero(base_right & ~head_right)[:10]
    assert [example.id for example in diff.changed.examples] == first.tolist()
    assert [example.head for example in diff.changed.examples] == head_pred[first].tolist()


def test_binary_integer_labels_with_a_score_column_equal_sklearn() -> None:
    rng = np.random.default_rng(2)
    n = 2000
    truth = (rng.random(n) < 0.3).astype(int)
    frames, predictions, scores = [], [], []
    for skill in (1.0, 0.6):
        score = np.round(np.clip(truth * skill * rng.random(n) + rng.random(n) * 0.7, 0, 1), 1)
        predicted = (score > 0.5).astype(int)
        frames.append(
            pd.DataFrame(
                {"id": np.arange(n), "target": truth, "prediction": predicted, "score": score}
            )
        )
        predictions.append(predicted)
        scores.append(score)
    paired = pair_for_diff(*sides(frames[0], frames[1]), PredictionsOptions(path="p.csv"))
    assert paired.task == "binary"
    diff = compute_model_diff(paired)
    for side, predicted, score in (
        ("new", predictions[0], scores[0]),
        ("old", predictions[1], scores[1]),
    ):
        expected = sklearn_classification(truth, predicted, positive=1)
        expected["roc_auc"] = metrics.roc_auc_score(truth, score)
        for name, value in expected.items():
            assert getattr(diff.metrics[name], side) == pytest.approx(value, abs=1e-12), name
    assert "log_loss" not in diff.metrics


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_a_class_missing_from_the_target_but_known_from_the_probabilities() -> None:
    truth = np.array([0, 0, 1, 1, 1, 0])
    head = np.array([0, 2, 1, 1, 0, 0])  # predicts class 2, which no target has
    base = np.array([0, 0, 1, 0, 1, 1])
    proba = np.full((6, 3), 1 / 3)
    frame = pd.DataFrame({"id": range(6), "target": truth})
    for label in range(3):
        frame[f"proba_{label}"] = proba[:, label]
    paired = pair_for_diff(
        *sides(frame.assign(prediction=head), frame.assign(prediction=base)),
        PredictionsOptions(path="p.csv"),
    )
    assert paired.labels == [0, 1, 2]
    assert paired.task == "multiclass"
    diff = compute_model_diff(paired)
    for name, value in sklearn_classification(truth, head).items():
        assert diff.metrics[name].new == pytest.approx(value, abs=1e-12), name
    for name, value in sklearn_classification(truth, base).items():
        assert diff.metrics[name].old == pytest.approx(value, abs=1e-12), name
    assert "roc_auc" not in diff.metrics  # class 2 has no positive example: undefined
    assert diff.metrics["log_loss"].new == pytest.approx(
        metrics.log_loss(truth, proba, labels=[0, 1, 2])
    )


def test_regression_equals_sklearn_with_slices_grouped() -> None:
    rng = np.random.default_rng(3)
    n = 1500
    truth = rng.normal(10, 3, n)
    head = truth + rng.normal(0, 1.0, n)
    base = truth + rng.normal(0, 1.2, n)
    region = rng.choice(
        ["north", "south", "east", "tiny1", "tiny2"], n, p=[0.5, 0.3, 0.18, 0.01, 0.01]
    )
    frames = [
        pd.DataFrame({"id": np.arange(n), "target": truth, "prediction": p, "region": region})
        for p in (head, base)
    ]
    options = PredictionsOptions(path="p.csv", slices=["region"], examples=3)
    diff = compute_model_diff(pair_for_diff(*sides(*frames), options), examples=3, min_support=30)
    assert diff.task == "regression"

    def expected(t: Any, p: Any) -> dict[str, float]:
        return {
            "mae": metrics.mean_absolute_error(t, p),
            "mse": metrics.mean_squared_error(t, p),
            "rmse": float(np.sqrt(metrics.mean_squared_error(t, p))),
            "r2": metrics.r2_score(t, p),
            "mape": metrics.mean_absolute_percentage_error(t, p),
        }

    for name, value in expected(truth, head).items():
        assert diff.metrics[name].new == pytest.approx(value, rel=1e-12), name
    for name, value in expected(truth, base).items():
        assert diff.metrics[name].old == pytest.approx(value, rel=1e-12), name
    values = [s.value for s in diff.slices]
    assert values == ["east", "north", "south", "(other)"]
    other = diff.slices[-1]
    assert other.grouped == ["tiny1", "tiny2"]
    mask = np.isin(region, ["tiny1", "tiny2"])
    assert other.support == int(mask.sum())
    assert other.metrics["mae"].new == pytest.approx(
        metrics.mean_absolute_error(truth[mask], head[mask])
    )
    north = region == "north"
    assert diff.slices[1].metrics["r2"].old == pytest.approx(
        metrics.r2_score(truth[north], base[north])
    )
    growth = np.abs(head - truth) - np.abs(base - truth)
    assert diff.changed is not None
    assert [e.id for e in diff.changed.examples] == np.argsort(-growth)[:3].tolist()
    assert diff.changed.broken == int((growth > 0).sum())
    assert any("grouped" in note for note in diff.notes)
