"""`mlci evaluate`: scikit-learn's own metric functions are the oracle; the predictions file
feeds the significance gate; every bad input's exact message."""

from __future__ import annotations

import json
import math
import pickle
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from conftest import Invoker
from sklearn import metrics
from sklearn.datasets import load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier


@pytest.fixture
def iris(tmp_path: Path) -> pd.DataFrame:
    frame = load_iris(as_frame=True).frame
    frame.columns = ["sepal_length", "sepal_width", "petal_length", "petal_width", "species"]
    frame["species"] = frame["species"].map({0: "setosa", 1: "versicolor", 2: "virginica"})
    frame.insert(0, "sample", [f"s{i:03d}" for i in range(len(frame))])
    frame.to_csv(tmp_path / "iris.csv", index=False)
    return frame


FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def test_multiclass_metrics_equal_scikit_learns_and_predictions_pair_up(
    mlci: Invoker, tmp_path: Path, iris: pd.DataFrame
) -> None:
    model = LogisticRegression(max_iter=500).fit(
        iris[FEATURES].iloc[::2], iris["species"].iloc[::2]
    )
    joblib.dump(model, tmp_path / "model.joblib")
    result = mlci(
        "evaluate",
        "--model",
        "model.joblib",
        "--data",
        "iris.csv",
        "--target",
        "species",
        "--id",
        "sample",
        "-o",
        "out/metrics.json",
        "--predictions",
        "preds.parquet",
        cwd=tmp_path,
    )
    assert result.exit_code == 0, result.stderr
    truth, features = iris["species"], iris[FEATURES]
    predicted, proba = model.predict(features), model.predict_proba(features)
    assert json.loads((tmp_path / "out" / "metrics.json").read_text()) == {
        "accuracy": metrics.accuracy_score(truth, predicted),
        "balanced_accuracy": metrics.balanced_accuracy_score(truth, predicted),
        "precision_macro": metrics.precision_score(truth, predicted, average="macro"),
        "recall_macro": metrics.recall_score(truth, predicted, average="macro"),
        "f1_macro": metrics.f1_score(truth, predicted, average="macro"),
        "precision_weighted": metrics.precision_score(truth, predicted, average="weighted"),
        "recall_weighted": metrics.recall_score(truth, predicted, average="weighted"),
        "f1_weighted": metrics.f1_score(truth, predicted, average="weighted"),
        "roc_auc": metrics.roc_auc_score(truth, proba, multi_class="ovr", average="macro"),
        "log_loss": metrics.log_loss(truth, proba),
    }
    predictions = pd.read_parquet(tmp_path / "preds.parquet")
    assert list(predictions.columns) == [
        "id",
        "target",
        "prediction",
        "proba_setosa",
        "proba_versicolor",
        "proba_virginica",
    ]
    assert predictions["id"].tolist() == iris["sample"].tolist()
    assert (predictions["prediction"] == predicted).all()
    np.testing.assert_array_equal(predictions.iloc[:, 3:].to_numpy(), proba)
    assert result.stdout.splitlines()[0] == (
        "sklearn.linear_model.LogisticRegression on iris.csv (150 examples, classification)"
    )
    assert result.stdout.splitlines()[-2:] == [
        "wrote metrics to out/metrics.json",
        "wrote predictions to preds.parquet",
    ]


def test_evaluate_then_gate_on_significance(
    mlci: Invoker, tmp_path: Path, iris: pd.DataFrame
) -> None:
    """The whole loop: two models evaluated by mlci, compared by the significance gate."""
    train = iris.iloc[::3]
    for name, model in (
        ("head", LogisticRegression(max_iter=500)),
        ("base", DecisionTreeClassifier(max_depth=1, random_state=0)),
    ):
        joblib.dump(model.fit(train[FEATURES], train["species"]), tmp_path / f"{name}.pkl")
        result = mlci(
            "evaluate",
            "--model",
            f"{name}.pkl",
            "--data",
            "iris.csv",
            "--target",
            "species",
            "--id",
            "sample",
            "--format",
            "json",
            "--predictions",
            f"{name}.csv",
            cwd=tmp_path,
        )
        assert result.exit_code == 0, result.stderr
        (tmp_path / f"{name}.json").write_text(result.stdout)
    (tmp_path / "mlci.yaml").write_text(
        "metrics:\n  files: [head.json]\nbaseline:\n  source: files\n  dir: .\ngates:\n"
        "  - metric: accuracy\n    min: 0.9\n    significance:\n      predictions: head.csv\n"
        "      base_predictions: base.csv\n"
    )
    result = mlci("gate", "--format", "json", cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    significance = json.loads(result.stdout)["gates"][1]
    assert significance["status"] == "passed"
    assert significance["details"]["ci_low"] > 0  # a depth-1 tree misses a whole class
    assert (
        significance["details"]["head_only_correct"]
        > 10 * significance["details"]["base_only_correct"]
    )


def test_binary_roc_auc_uses_the_positive_class_column(
    mlci: Invoker, tmp_path: Path, iris: pd.DataFrame
) -> None:
    binary = iris[iris["species"] != "setosa"].copy()
    binary["petal_length"] += np.random.default_rng(0).normal(0, 1, len(binary))
    binary.to_csv(tmp_path / "binary.csv", index=False)
    model = LogisticRegression().fit(binary[["petal_length"]], binary["species"])
    joblib.dump(model, tmp_path / "model.joblib")
    result = mlci(
        "evaluate",
        "--model",
        "model.joblib",
        "--data",
        "binary.csv",
        "--target",
        "species",
        "--id",
        "sample",
        "--format",
        "json",
        cwd=tmp_path,
    )
    assert result.exit_code == 0, result.stderr
    found = json.loads(result.stdout)
    proba = model.predict_proba(binary[["petal_length"]])[:, 1]
    assert found["roc_auc"] == metrics.roc_auc_score(binary["species"], proba)
    assert found["roc_auc"] < 1


def test_a_classifier_without_probabilities_has_no_roc_auc_or_log_loss(
    mlci: Invoker, tmp_path: Path, iris: pd.DataFrame
) -> None:
    joblib.dump(LinearSVC().fit(iris[FEATURES], iris["species"]), tmp_path / "svc.joblib")
    result = mlci(
        "evaluate",
        "--model",
        "svc.joblib",
        "--data",
        "iris.csv",
        "--target",
        "species",
        "--id",
        "sample",
        "--format",
        "json",
        "--predictions",
        "p.csv",
        cwd=tmp_path,
    )
    assert result.exit_code == 0, result.stderr
    assert "roc_auc" not in json.loads(result.stdout)
    assert "log_loss" not in json.loads(result.stdout)
    assert pd.read_csv(tmp_path / "p.csv").columns.tolist() == ["id", "target", "prediction"]


def test_regression_metrics_with_row_numbers_as_ids(mlci: Invoker, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"x1": rng.normal(size=80), "x2": rng.normal(size=80)})
    frame["price"] = 3 * frame["x1"] - frame["x2"] + rng.normal(0, 0.5, 80) + 10
    frame.to_parquet(tmp_path / "houses.parquet")
    model = LinearRegression().fit(
        frame[["x1", "x2"]].to_numpy(), frame["price"]
    )  # no feature names
    with (tmp_path / "model.pkl").open("wb") as handle:
        pickle.dump(model, handle)
    result = mlci(
        "evaluate",
        "--model",
        "model.pkl",
        "--data",
        "houses.parquet",
        "--target",
        "price",
        "-o",
        "m.json",
        "--predictions",
        "p.csv",
        cwd=tmp_path,
    )
    assert result.exit_code == 0, result.stderr
    predicted = model.predict(frame[["x1", "x2"]].to_numpy())
    assert json.loads((tmp_path / "m.json").read_text()) == {
        "rmse": math.sqrt(metrics.mean_squared_error(frame["price"], predicted)),
        "mae": metrics.mean_absolute_error(frame["price"], predicted),
        "r2": metrics.r2_score(frame["price"], predicted),
        "mape": metrics.mean_absolute_percentage_error(frame["price"], predicted),
    }
    predictions = pd.read_csv(tmp_path / "p.csv")
    assert predictions.columns.tolist() == ["id", "target", "prediction"]
    assert predictions["id"].tolist() == list(range(80))


@pytest.mark.parametrize(
    ("args", "setup", "message"),
    [
        (
            ["--model", "dict.joblib"],
            lambda p: joblib.dump({"weights": [1, 2]}, p / "dict.joblib"),
            "dict.joblib: is not a scikit-learn estimator (it holds a builtins.dict) (save the "
            "fitted estimator itself, e.g. joblib.dump(model, 'model.joblib'))",
        ),
        (
            ["--model", "notes.txt"],
            lambda p: (p / "notes.txt").write_text("not a pickle\n"),
            "notes.txt: cannot load the model (KeyError: 110) (it must be a fitted estimator "
            "saved with joblib.dump or pickle.dump)",
        ),
        (
            ["--model", "nowhere.joblib"],
            None,
            "nowhere.joblib: model file not found (check the path)",
        ),
        (
            ["--data", "missing.csv"],
            None,
            "missing.csv: data file not found (check the path)",
        ),
        (
            ["--target", "label"],
            None,
            "iris.csv: data has no target column 'label' (columns: sample, sepal_length, "
            "sepal_width, petal_length, petal_width, species)",
        ),
        (
            ["--id", "key"],
            None,
            "iris.csv: data has no id column 'key' (columns: sample, sepal_length, sepal_width, "
            "petal_length, petal_width, species)",
        ),
    ],
)
def test_bad_inputs_exit_2(
    mlci: Invoker, tmp_path: Path, iris: pd.DataFrame, args: list[str], setup: object, message: str
) -> None:
    joblib.dump(
        LogisticRegression(max_iter=500).fit(iris[FEATURES], iris["species"]),
        tmp_path / "model.joblib",
    )
    if callable(setup):
        setup(tmp_path)
    options = {
        "--model": "model.joblib",
        "--data": "iris.csv",
        "--target": "species",
        "--id": "sample",
    }
    options.update(zip(args[::2], args[1::2], strict=True))
    result = mlci("evaluate", *[part for pair in options.items() for part in pair], cwd=tmp_path)
    assert result.exit_code == 2
    assert result.stderr == f"mlci: error: {message}\n"


def test_help_warns_that_unpickling_runs_code(mlci: Invoker) -> None:
    result = mlci("evaluate", "--help")
    result.stdout = " ".join(result.stdout.split())
    assert "Loading it runs code from the file: load only files you trust." in result.stdout
    assert "WARNING: a pickle or joblib file can run any code when it is loaded." in result.stdout


def test_a_predictions_file_without_a_model_gets_the_same_metrics(
    mlci: Invoker, tmp_path: Path, iris: pd.DataFrame
) -> None:
    """Any framework's predictions: the metrics equal those of the model path (scikit-learn's)."""
    model = LogisticRegression(max_iter=500).fit(iris[FEATURES], iris["species"])
    joblib.dump(model, tmp_path / "model.joblib")
    common = ["--target", "species", "--id", "sample", "--format", "json"]
    from_model = mlci(
        "evaluate", "--model", "model.joblib", "--data", "iris.csv", "--predictions",
        "preds.csv", *common, cwd=tmp_path,
    )  # fmt: skip
    assert from_model.exit_code == 0, from_model.stderr
    (tmp_path / "scored.jsonl").write_text(
        pd.read_csv(tmp_path / "preds.csv")
        .rename(columns={"id": "sample", "target": "species", "prediction": "label"})
        .to_json(orient="records", lines=True)
    )
    alone = mlci(
        "evaluate", "--predictions", "scored.jsonl", "--prediction", "label", *common,
        cwd=tmp_path,
    )  # fmt: skip
    assert alone.exit_code == 0, alone.stderr
    expected, found = json.loads(from_model.stdout), json.loads(alone.stdout)
    assert set(found) == set(expected)
    for name, value in expected.items():
        assert found[name] == pytest.approx(value, rel=1e-9), name  # probabilities via CSV


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "Error: give --model PATH --data FILE, or --predictions FILE"),
        (["--predictions", "p.csv", "--data", "iris.csv"], "Error: --data needs --model"),
        (["--model", "model.joblib"], "Error: --model needs --data FILE to score it on"),
    ],
)
def test_evaluate_needs_a_model_and_data_or_a_predictions_file(
    mlci: Invoker, tmp_path: Path, args: list[str], message: str
) -> None:
    result = mlci("evaluate", "--target", "species", *args, cwd=tmp_path)
    assert result.exit_code == 2
    assert message in result.stderr
