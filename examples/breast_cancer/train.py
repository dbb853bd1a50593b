"""Train a binary classifier on scikit-learn's breast cancer data, then score it with
`mlci evaluate`, as a CI job would.

    python train.py             # candidate: model.joblib, metrics.json, predictions.csv
    python train.py --baseline  # the reference model: writes baseline/ (committed)

The data is written to data/cancer.csv with an `id` column so that the predictions of two
models pair example by example; the held-out rows go to data/test.csv. The predictions carry
each class's probability (`proba_benign`, `proba_malignant`), which the model diff and the
ROC, precision-recall and calibration charts read.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
from pathlib import Path

import joblib
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

HERE = Path(__file__).parent


def write_dataset() -> tuple[pd.DataFrame, list[str]]:
    cancer = load_breast_cancer(as_frame=True)
    frame = cancer.frame
    features = [name.replace(" ", "_") for name in cancer.feature_names]
    frame.columns = [*features, "target"]
    frame["diagnosis"] = frame.pop("target").map(dict(enumerate(cancer.target_names)))
    frame.insert(0, "id", range(len(frame)))
    (HERE / "data").mkdir(exist_ok=True)
    frame.to_csv(HERE / "data" / "cancer.csv", index=False)
    return frame, features


def mlci() -> list[str]:
    """mlci in this Python: works whether or not its script directory is on PATH."""
    if importlib.util.find_spec("mlci") is None:
        sys.exit("mlci is not installed: pip install 'mlci[sklearn]'")
    return [sys.executable, "-m", "mlci"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", action="store_true", help="train the reference model")
    args = parser.parse_args()

    frame, features = write_dataset()
    train, test = train_test_split(
        frame, test_size=0.5, random_state=0, stratify=frame["diagnosis"]
    )
    test.to_csv(HERE / "data" / "test.csv", index=False)
    if args.baseline:
        model = GaussianNB()
        out = HERE / "baseline"
    else:
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        out = HERE
    out.mkdir(exist_ok=True)
    model.fit(train[features], train["diagnosis"])
    model_path = out / "model.joblib"
    joblib.dump(model, model_path)

    command = [
        *mlci(), "evaluate",
        "--model", str(model_path),
        "--data", str(HERE / "data" / "test.csv"),
        "--target", "diagnosis",
        "--id", "id",
        "-o", str(out / "metrics.json"),
        "--predictions", str(out / "predictions.csv"),
    ]  # fmt: skip
    subprocess.run(command, check=True)
    if args.baseline:
        model_path.unlink()  # only its metrics and predictions are the committed baseline


if __name__ == "__main__":
    main()
