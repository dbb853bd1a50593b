"""Train the iris classifier; write what CI checks: model, metrics, per-example predictions.

    python train.py             # candidate: model.joblib, metrics.json, predictions.csv
    python train.py --baseline  # the reference model: writes baseline/ (committed)

The data comes from scikit-learn's bundled iris set, written to data/iris.csv with an `id` column
so predictions of two models can be paired example by example.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import joblib
import pandas as pd
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, log_loss
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", action="store_true", help="train the reference model")
    args = parser.parse_args()

    frame = write_dataset()
    train, test = train_test_split(frame, test_size=0.4, random_state=0, stratify=frame["species"])
    if args.baseline:
        model = DecisionTreeClassifier(max_depth=2, random_state=0)
        out = HERE / "baseline"
    else:
        model = LogisticRegression(max_iter=1000)
        out = HERE
    out.mkdir(exist_ok=True)
    model.fit(train[FEATURES], train["species"])

    predicted = model.predict(test[FEATURES])
    proba = model.predict_proba(test[FEATURES])
    metrics = {
        "accuracy": round(float(accuracy_score(test["species"], predicted)), 6),
        "f1_macro": round(float(f1_score(test["species"], predicted, average="macro")), 6),
        "log_loss": round(float(log_loss(test["species"], proba, labels=model.classes_)), 6),
        "test_rows": len(test),
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    predictions = pd.DataFrame(
        {"id": test["id"].to_numpy(), "target": test["species"].to_numpy(), "prediction": predicted}
    )
    predictions.to_csv(out / "predictions.csv", index=False)
    if not args.baseline:
        joblib.dump(model, HERE / "model.joblib")
    print(f"wrote {out / 'metrics.json'}: {metrics}")


if __name__ == "__main__":
    main()
