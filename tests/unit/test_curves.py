"""The curves of checks/curves.py against scikit-learn's own, on generated data (ties included)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn import metrics
from sklearn.calibration import calibration_curve

from mlci.checks import curves


def scores(seed: int, n: int = 500, ties: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    score = np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0, 1)
    if ties:
        score = np.round(score, 1)
    return y, score


@pytest.mark.parametrize(("seed", "ties"), [(0, False), (1, True), (2, True)])
def test_roc_and_pr_are_scikit_learns(seed: int, ties: bool) -> None:
    y, score = scores(seed, ties=ties)
    fpr, tpr, thresholds = curves.roc_curve(y, score)
    want = metrics.roc_curve(y, score, drop_intermediate=False)
    np.testing.assert_allclose(fpr, want[0])
    np.testing.assert_allclose(tpr, want[1])
    np.testing.assert_allclose(thresholds, want[2])
    assert curves.area_under(fpr, tpr) == pytest.approx(metrics.roc_auc_score(y, score))

    precision, recall, thresholds = curves.precision_recall_curve(y, score)
    want = metrics.precision_recall_curve(y, score)
    np.testing.assert_allclose(precision, want[0])
    np.testing.assert_allclose(recall, want[1])
    np.testing.assert_allclose(thresholds, want[2])
    assert curves.average_precision(precision, recall) == pytest.approx(
        metrics.average_precision_score(y, score)
    )


def test_calibration_bins_are_scikit_learns_non_empty_bins() -> None:
    y, score = scores(3, n=300)
    score = score * 0.75  # leaves the top bins empty
    fraction, mean, counts = curves.calibration_bins(y, score, bins=10)
    want_true, want_pred = calibration_curve(y, score, n_bins=10, strategy="uniform")
    filled = counts > 0
    assert not filled.all()
    np.testing.assert_allclose(fraction[filled], want_true)
    np.testing.assert_allclose(mean[filled], want_pred)
    assert counts.sum() == y.size
    assert np.isnan(fraction[~filled]).all()


def test_resampled_roc_follows_the_curve() -> None:
    # A curve that rises straight up at fpr 0 and 0.5: the grid takes the top of each rise.
    fpr = np.array([0.0, 0.0, 0.5, 0.5, 1.0])
    tpr = np.array([0.0, 0.6, 0.6, 1.0, 1.0])
    grid = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(curves.resample_roc(fpr, tpr, grid), [0.6, 0.8, 1.0, 1.0, 1.0])


def test_resampled_pr_is_the_best_precision_at_that_recall_or_more() -> None:
    y, score = scores(4)
    precision, recall, _ = curves.precision_recall_curve(y, score)
    grid = np.linspace(0, 1, 21)
    resampled = curves.resample_pr(precision, recall, grid)
    for r, p in zip(grid, resampled, strict=True):
        assert p == pytest.approx(precision[recall >= r].max())
    assert (np.diff(resampled) <= 1e-12).all()


def test_binary_curves_base_and_head() -> None:
    y, base = scores(5)
    head = np.clip(base + 0.15 * (y - 0.5), 0, 1)  # a better model on the same examples
    found = curves.classification_curves(y, head, base)
    assert found.task == "binary"
    roc, pr, calibration = found.curves
    assert [s.name for s in roc.series] == ["base", "head"]
    assert len(roc.x) == curves.CURVE_POINTS <= curves.MAX_POINTS
    assert roc.summary["head AUC"] == pytest.approx(metrics.roc_auc_score(y, head))
    assert roc.summary["base AUC"] == pytest.approx(metrics.roc_auc_score(y, base))
    assert roc.summary["head AUC"] > roc.summary["base AUC"]  # type: ignore[operator]
    assert pr.summary["head AP"] == pytest.approx(metrics.average_precision_score(y, head))
    assert sum(calibration.counts["head"]) == y.size
    assert calibration.x_edges is not None
    assert len(calibration.x_edges) == len(calibration.x) + 1


def test_multiclass_curves_are_micro_averaged() -> None:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import label_binarize

    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    head = LogisticRegression(max_iter=500).fit(X, names).predict_proba(X)
    base = LogisticRegression(max_iter=500, C=0.01).fit(X, names).predict_proba(X)
    found = curves.classification_curves(
        names, head, base, classes=["setosa", "versicolor", "virginica"]
    )
    assert found.task == "multiclass"
    assert found.note is not None
    assert "micro" in found.note
    onehot = label_binarize(names, classes=["setosa", "versicolor", "virginica"])
    want = metrics.roc_auc_score(onehot, head, average="micro")
    assert found.curves[0].summary["head AUC"] == pytest.approx(want)


def test_one_class_only_gives_no_roc_but_no_crash() -> None:
    y = np.ones(20)
    found = curves.classification_curves(y, np.linspace(0, 1, 20))
    roc = found.curves[0]
    assert roc.summary["head AUC"] is None
    assert all(value is None for value in roc.series[0].values)


def test_regression_curves() -> None:
    rng = np.random.default_rng(6)
    actual = rng.normal(10, 3, 1000)
    base = actual + rng.normal(0.5, 1.0, 1000)
    head = actual + rng.normal(0.0, 0.5, 1000)
    found = curves.regression_curves(actual, head, base)
    residuals, deciles = found.curves
    assert (
        residuals.counts["head"] == np.histogram(head - actual, bins=residuals.x_edges)[0].tolist()
    )
    assert sum(residuals.counts["base"]) == 1000
    assert residuals.summary["base mean residual"] == pytest.approx(np.mean(base - actual))
    assert [s.name for s in deciles.series] == [
        "base predicted",
        "base actual",
        "head predicted",
        "head actual",
    ]
    head_predicted = deciles.series[2].values
    assert head_predicted == sorted(head_predicted)  # type: ignore[type-var]
