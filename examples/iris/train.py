"""Train the iris classifier, then score it with `mlci evaluate`, as a CI job would.

    python train.py             # candidate: model.joblib, metrics.json, predictions.csv
    python train.py --baseline  # the reference model: writes baseline/ (committed)

The data comes from scikit-learn's bundled iris set, written to data/iris.csv with an `id`
column so the predictions of two models can be paired example by example; the held-out rows
go to data/test.csv.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
from pathlib import Path

import joblib
import pandas as pd
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier

HERE = Path(__file__).parent
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def write_dataset() -> pd.DataFrame:
    iris = load_iris(as_frame=True)
    frame = iris.frame.rename(
        columns={
            "sepal length (cm)": "sepal_length",
            "sepal width (cm)": "sepal_width",
            "petal length (cm)": "petal_length",
            "petal width (cm)": "petal_width",
        }
    )
    frame["species"] = frame.pop("target").map(dict(enumerate(iris.target_names)))
    frame.insert(0, "id", range(len(frame)))
    (HERE / "data").mkdir(exist_ok=True)
    frame.to_csv(HERE / "data" / "iris.csv", index=False)
    return frame


def mlci() -> list[str]:
    """mlci in this Python: works whether or not its script directory is on PATH."""
    if importlib.util.find_spec("mlci") is None:
        sys.exit("mlci is not installed: pip install 'mlci[sklearn]'")
    return [sys.executable, "-m", "mlci"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", action="store_true", help="train the reference model")
    args = parser.parse_args()

    frame = write_dataset()
    train, test = train_test_split(frame, test_size=0.4, random_state=0, stratify=frame["species"])
    test.to_csv(HERE / "data" / "test.csv", index=False)
    if args.baseline:
        model = DecisionTreeClassifier(max_depth=2, random_state=0)
        out = HERE / "baseline"
    else:
        model = LogisticRegression(max_iter=1000)
        out = HERE
    out.mkdir(exist_ok=True)
    model.fit(train[FEATURES], train["species"])
    model_path = out / "model.joblib"
    joblib.dump(model, model_path)

    # Scoring is mlci's job: the same metrics and per-example predictions in every project.
    command = [
        *mlci(), "evaluate",
        "--model", str(model_path),
        "--data", str(HERE / "data" / "test.csv"),
        "--target", "species",
        "--id", "id",
        "-o", str(out / "metrics.json"),
        "--predictions", str(out / "predictions.csv"),
    ]  # fmt: skip
    subprocess.run(command, check=True)
    if args.baseline:
        model_path.unlink()  # only its metrics and predictions are the committed baseline


if __name__ == "__main__":
    main()
