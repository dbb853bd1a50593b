"""The significance rule: paired bootstrap and McNemar on real predictions files, checked against
scipy and a plain index bootstrap; a noisy-but-equal model passes and a worse one fails."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import GitRepo, Invoker
from scipy import stats as scipy_stats

from mlci.checks.stats import (
    mcnemar,
    paired_bootstrap,
    per_example_values,
    significantly_worse,
    statistic_for,
)

N = 2000
LABELS = np.array(["cat", "dog", "fox"])


def classification(accuracy: float, seed: int, n: int = N) -> pd.DataFrame:
    """Predictions of a model right on about `accuracy` of the same n examples (target seed 0)."""
    target = LABELS[np.random.default_rng(0).integers(0, 3, n)]
    noise = np.random.default_rng(seed)
    right = noise.random(n) < accuracy
    wrong = LABELS[(np.searchsorted(LABELS, target) + noise.integers(1, 3, n)) % 3]
    return pd.DataFrame(
        {"id": np.arange(n), "target": target, "prediction": np.where(right, target, wrong)}
    )


def regression(scale: float, seed: int, n: int = N) -> pd.DataFrame:
    target = np.random.default_rng(0).normal(10, 3, n)
    prediction = target + np.random.default_rng(seed).normal(0, scale, n)
    return pd.DataFrame({"id": [f"row-{i}" for i in range(n)], "y": target, "yhat": prediction})


CLASSIFIER_CONFIG = """\
gates:
  - metric: accuracy
    significance:
      predictions: preds.csv
      resamples: 2000
      seed: 7
"""


@pytest.fixture
def pr(git_repo: GitRepo) -> GitRepo:
    git_repo.write("mlci.yaml", CLASSIFIER_CONFIG)
    classification(0.85, seed=1).to_csv(git_repo.path / "preds.csv", index=False)
    git_repo.commit("base model")
    git_repo.git("checkout", "-q", "-b", "feature")
    return git_repo


def gate_rows(mlci: Invoker, repo: GitRepo, *args: str) -> list[dict[str, object]]:
    result = mlci("gate", "--format", "json", *args, cwd=repo.path)
    assert result.exit_code in (0, 1), result.stderr
    gates: list[dict[str, object]] = json.loads(result.stdout)["gates"]
    return gates


def test_a_noisy_but_equal_classifier_passes(mlci: Invoker, pr: GitRepo) -> None:
    classification(0.85, seed=2).to_csv(pr.path / "preds.csv", index=False)
    [row] = gate_rows(mlci, pr)
    assert row["status"] == "passed"
    details = row["details"]
    assert isinstance(details, dict)
    assert details["ci_low"] < 0 < details["ci_high"]
    assert row["reason"] == (
        f"accuracy {details['difference']:+.4g}, 95% CI [{details['ci_low']:+.4g}, "
        f"{details['ci_high']:+.4g}], McNemar p={details['mcnemar_p_value']:.3g}: "
        "not significantly worse"
    )
    assert details["mcnemar_p_value"] > 0.05


def test_a_truly_worse_classifier_fails(mlci: Invoker, pr: GitRepo) -> None:
    classification(0.80, seed=2).to_csv(pr.path / "preds.csv", index=False)
    result = mlci("gate", "--format", "json", cwd=pr.path)
    assert result.exit_code == 1
    [row] = json.loads(result.stdout)["gates"]
    assert row["status"] == "failed"
    assert row["details"]["ci_high"] < 0
    assert row["details"]["mcnemar_p_value"] < 0.001
    assert row["reason"].endswith(": significantly worse")
    assert row["observed"] < row["baseline"]


def test_f1_macro_of_a_truly_worse_classifier_fails(mlci: Invoker, pr: GitRepo) -> None:
    pr.write("mlci.yaml", CLASSIFIER_CONFIG.replace("accuracy", "f1_macro"))
    classification(0.75, seed=2).to_csv(pr.path / "preds.csv", index=False)
    (row,) = gate_rows(mlci, pr)
    assert row["status"] == "failed"
    details = row["details"]
    assert isinstance(details, dict)
    assert details["statistic"] == "f1_macro"
    assert (
        details["method"] == "exact multinomial bootstrap over the joint (target, base, head) cells"
    )
    assert details["ci_high"] < 0


def test_tolerance_lets_a_small_significant_drop_pass(mlci: Invoker, pr: GitRepo) -> None:
    classification(0.80, seed=2).to_csv(pr.path / "preds.csv", index=False)
    pr.write("mlci.yaml", CLASSIFIER_CONFIG + "      tolerance: 0.1\n")
    [row] = gate_rows(mlci, pr)
    assert row["status"] == "passed"
    assert str(row["reason"]).endswith(": not significantly worse by more than 0.1")


def test_the_same_seed_gives_the_same_interval_on_every_run(mlci: Invoker, pr: GitRepo) -> None:
    classification(0.84, seed=3).to_csv(pr.path / "preds.csv", index=False)
    first, again = gate_rows(mlci, pr), gate_rows(mlci, pr)
    assert first == again
    pr.write("mlci.yaml", CLASSIFIER_CONFIG.replace("seed: 7", "seed: 8"))
    assert gate_rows(mlci, pr)[0]["details"] != first[0]["details"]


@pytest.mark.parametrize(
    ("statistic", "scale", "status"),
    [
        ("mae", 1.0, "passed"),
        ("mae", 1.3, "failed"),
        ("rmse", 1.0, "passed"),
        ("rmse", 1.3, "failed"),
    ],
)
def test_regression_errors_from_parquet_with_base_predictions(
    mlci: Invoker, tmp_path: Path, statistic: str, scale: float, status: str
) -> None:
    regression(1.0, seed=1).to_parquet(tmp_path / "base.parquet")
    regression(scale, seed=2).to_parquet(tmp_path / "head.parquet")
    (tmp_path / "mlci.yaml").write_text(
        f"gates:\n  - metric: test_{statistic}\n    significance:\n      predictions: head.parquet\n"
        "      base_predictions: base.parquet\n      target: y\n      prediction: yhat\n"
        "      resamples: 1000\n"
    )
    result = mlci("gate", "--format", "json", cwd=tmp_path)
    [row] = json.loads(result.stdout)["gates"]
    assert row["status"] == status, row["reason"]
    assert result.exit_code == (0 if status == "passed" else 1)
    assert row["details"]["statistic"] == statistic
    assert "mcnemar_p_value" not in row["details"]
    target, prediction = regression(scale, seed=2)[["y", "yhat"]].to_numpy().T
    errors = np.abs(prediction - target)
    expected = errors.mean() if statistic == "mae" else math.sqrt((errors**2).mean())
    assert row["observed"] == pytest.approx(expected, rel=1e-12)


def test_base_predictions_missing_at_the_base_revision(mlci: Invoker, git_repo: GitRepo) -> None:
    git_repo.write("mlci.yaml", CLASSIFIER_CONFIG)
    base = git_repo.commit("before predictions existed")
    classification(0.85, seed=1).to_csv(git_repo.path / "preds.csv", index=False)
    [row] = gate_rows(mlci, git_repo)
    assert (row["status"], row["reason"]) == (
        "failed",
        f"no base predictions: preds.csv at {base[:12]} does not exist",
    )
    git_repo.write("mlci.yaml", CLASSIFIER_CONFIG + "    required: false\n")
    [row] = gate_rows(mlci, git_repo, "--base", "HEAD")
    assert (row["status"], row["reason"]) == (
        "skipped",
        "skipped: no base predictions: preds.csv at HEAD does not exist (required: false)",
    )


# --- bad predictions: exit 2 with the exact message ------------------------------------------------


def test_ids_that_do_not_match_say_how_many_are_missing(mlci: Invoker, pr: GitRepo) -> None:
    head = classification(0.85, seed=2)
    head = pd.concat(
        [head.iloc[3:], pd.DataFrame({"id": [5000], "target": ["cat"], "prediction": ["cat"]})]
    )
    head.to_csv(pr.path / "preds.csv", index=False)
    result = mlci("gate", cwd=pr.path)
    assert result.exit_code == 2
    base = pr.git("rev-parse", "main")[:12]
    assert result.stderr == (
        f"mlci: error: head predictions (preds.csv) and base predictions (preds.csv at {base}) "
        "are not on the same examples: 1 id of the head is missing from the base, 3 ids of the "
        "base are missing from the head (score both models on the same evaluation set with the "
        "same id column)\n"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda f: f.rename(columns={"prediction": "pred"}),
            "preds.csv: predictions have no column 'prediction' (columns: id, target, pred) "
            "(name the columns with `significance: {id:, target:, prediction:}`)",
        ),
        (
            lambda f: f.assign(id=f["id"].where(f["id"] != 9, 8)),
            "preds.csv: id 8 appears more than once in column 'id'; ids must be unique",
        ),
        (
            lambda f: f.assign(target=f["target"].where(f["id"] != 4, "emu")),
            "head predictions (preds.csv) and base predictions (preds.csv at BASE) disagree on "
            "the target of 1 of 2000 examples (first: id 4: 'emu' vs 'cat') (score both models "
            "on the same evaluation set)",
        ),
        (
            lambda f: f.assign(prediction=f["prediction"].where(f["id"] > 1, None)),
            "preds.csv: column 'prediction' has 2 missing values",
        ),
        (lambda f: f.iloc[:0], "preds.csv: predictions file has no rows"),
    ],
)
def test_bad_predictions_are_input_errors(
    mlci: Invoker, pr: GitRepo, change: object, message: str
) -> None:
    assert callable(change)
    change(classification(0.85, seed=2)).to_csv(pr.path / "preds.csv", index=False)
    result = mlci("gate", cwd=pr.path)
    assert result.exit_code == 2
    base = pr.git("rev-parse", "main")[:12]
    assert result.stderr == f"mlci: error: {message.replace('BASE', base)}\n"


def test_missing_head_predictions_file(mlci: Invoker, pr: GitRepo) -> None:
    (pr.path / "preds.csv").unlink()
    result = mlci("gate", cwd=pr.path)
    assert result.exit_code == 2
    assert result.stderr == (
        "mlci: error: preds.csv: predictions file not found (write it with `mlci evaluate "
        "--predictions FILE`, or fix `predictions.path` (or `significance.predictions`))\n"
    )


@pytest.mark.parametrize(
    ("gate", "message"),
    [
        (
            "metric: cohen_kappa",
            "gate on 'cohen_kappa': significance cannot tell which statistic this metric is (set "
            "`significance: {statistic: ...}` to one of: accuracy, error_rate, mae, mse, rmse, "
            "balanced_accuracy, f1_macro, f1_weighted, f1, precision_macro, precision_weighted, "
            "precision, recall_macro, recall_weighted, recall, roc_auc, log_loss, r2, mape)",
        ),
        (
            "metric: roc_auc",
            "preds.csv: significance on roc_auc: roc_auc needs proba_<class> columns (or a score "
            "column for a binary task) and examples of every class",
        ),
        (
            "metric: accuracy\n    direction: lower",
            "gate on 'accuracy': significance compares accuracy, where higher is better, but the "
            "gate says direction lower",
        ),
        (
            "metric: score\n    significance:\n      statistic: mae\n      predictions: preds.csv",
            "preds.csv: column 'target' is not numeric, which mae needs (set "
            "`significance.statistic: accuracy` for class labels)",
        ),
    ],
)
def test_significance_gates_that_cannot_be_evaluated(
    mlci: Invoker, pr: GitRepo, gate: str, message: str
) -> None:
    config = f"gates:\n  - {gate}\n"
    if "significance" not in gate:
        config += "    significance:\n      predictions: preds.csv\n"
    pr.write("mlci.yaml", config)
    result = mlci("gate", cwd=pr.path)
    assert result.exit_code == 2
    assert result.stderr == f"mlci: error: {message}\n"


# --- the statistics against independent computations ----------------------------------------------


def test_accuracy_resampling_matches_a_plain_index_bootstrap() -> None:
    """Drawing the four cell counts is the index bootstrap, in distribution."""
    rng = np.random.default_rng(11)
    head = (rng.random(400) < 0.8).astype(float)
    base = (rng.random(400) < 0.75).astype(float)
    ours = paired_bootstrap("accuracy", head, base, resamples=40_000, seed=1)
    indices = np.random.default_rng(2).integers(0, 400, size=(40_000, 400))
    plain = (head[indices] - base[indices]).mean(axis=1)
    low, high = np.quantile(plain, [0.025, 0.975])
    assert ours.low == pytest.approx(low, abs=0.0051)
    assert ours.high == pytest.approx(high, abs=0.0051)
    assert ours.difference == pytest.approx(head.mean() - base.mean())


def test_rmse_interval_matches_scipy_paired_bootstrap() -> None:
    rng = np.random.default_rng(5)
    target = rng.normal(size=300)
    head_sq = per_example_values("rmse", target, target + rng.normal(0, 1.0, 300))
    base_sq = per_example_values("rmse", target, target + rng.normal(0, 1.1, 300))
    ours = paired_bootstrap("rmse", head_sq, base_sq, resamples=20_000, seed=3)

    def rmse_difference(h: np.ndarray, b: np.ndarray, axis: int) -> np.ndarray:
        return np.sqrt(h.mean(axis=axis)) - np.sqrt(b.mean(axis=axis))

    oracle = scipy_stats.bootstrap(
        (head_sq, base_sq),
        rmse_difference,
        paired=True,
        vectorized=True,
        n_resamples=20_000,
        method="percentile",
        rng=np.random.default_rng(4),
    ).confidence_interval
    width = oracle.high - oracle.low
    assert ours.low == pytest.approx(oracle.low, abs=0.03 * width)
    assert ours.high == pytest.approx(oracle.high, abs=0.03 * width)


def test_block_resampling_is_independent_of_threads_and_blocks() -> None:
    rng = np.random.default_rng(9)
    head, base = np.abs(rng.normal(size=5000)), np.abs(rng.normal(size=5000))
    one = paired_bootstrap("mae", head, base, resamples=3000, seed=4, workers=1)
    two = paired_bootstrap("mae", head, base, resamples=3000, seed=4, workers=2)
    assert one == two
    assert paired_bootstrap("mae", head, base, resamples=3000, seed=5) != one


def test_mcnemar_is_the_exact_binomial_test_on_discordant_pairs() -> None:
    head = np.array([1] * 12 + [0] * 3 + [1] * 30 + [0] * 5, dtype=float)
    base = np.array([0] * 12 + [1] * 3 + [1] * 30 + [0] * 5, dtype=float)
    result = mcnemar(head, base)
    exact = min(1.0, 2 * sum(math.comb(15, k) for k in range(4)) / 2**15)
    assert (result.head_only, result.base_only) == (12, 3)
    assert result.p_value == pytest.approx(exact, rel=1e-12)
    assert mcnemar(head, head).p_value == 1.0


def test_significantly_worse_needs_the_whole_interval_beyond_the_tolerance() -> None:
    rng = np.random.default_rng(1)
    worse = paired_bootstrap(
        "error_rate", (rng.random(500) < 0.3) * 1.0, (rng.random(500) < 0.2) * 1.0
    )
    assert worse.low > 0
    assert significantly_worse(worse, "lower")
    assert not significantly_worse(worse, "lower", tolerance=worse.low)
    assert not significantly_worse(worse, "higher")


@pytest.mark.parametrize(
    ("name", "statistic"),
    [
        ("accuracy", "accuracy"),
        ("eval.test_accuracy", "accuracy"),
        ("val-MAE", "mae"),
        ("rmse", "rmse"),
        ("error_rate", "error_rate"),
        ("mean_squared_error", "mse"),
        ("f1_macro", "f1_macro"),
        ("val_macro_f1", "f1_macro"),
        ("cohen_kappa", None),
        ("log_loss", "log_loss"),
    ],
)
def test_statistic_from_metric_name(name: str, statistic: str | None) -> None:
    assert statistic_for(name) == statistic


def test_rules_before_a_failing_significance_rule_are_still_reported(
    mlci: Invoker, tmp_path: Path
) -> None:
    (tmp_path / "metrics.json").write_text('{"accuracy": 0.9}')
    (tmp_path / "mlci.yaml").write_text(
        "metrics:\n  files: [metrics.json]\nbaseline:\n  source: files\n  dir: base\ngates:\n"
        "  - metric: accuracy\n    min: 0.8\n    significance:\n      predictions: p.csv\n"
    )
    result = mlci("gate", "--format", "json", cwd=tmp_path)
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert [(g["rule"], g["status"]) for g in report["gates"]] == [("min", "passed")]
    assert report["problems"] == [
        {
            "check": "gates",
            "message": "p.csv: predictions file not found (write it with `mlci evaluate "
            "--predictions FILE`, or fix `predictions.path` (or `significance.predictions`))",
            "path": str(tmp_path / "p.csv"),
            "line": None,
        }
    ]
