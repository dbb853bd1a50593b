"""Train a land-cover classifier (4 classes) whose data comes from four regions, then score it
with `mlci evaluate`, as a CI job would.

    python train.py --baseline  # the reference model: writes baseline/ (here: generated)
    python train.py             # the candidate: model.joblib, metrics.json, predictions.csv

The data are generated (scikit-learn's make_classification, 4,000 examples, seed 0) and written
to data/; nothing generated is committed. In the `east` region (about 8% of the examples) the
same bands mean another class. Both models are gradient-boosted trees told the region. The
candidate is larger, and its training set went through a new "cleaning" filter that drops the
east's tiles: it is better overall and much worse in `east` — what the slice gate in mlci.yaml
catches and the overall accuracy hides.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import train_test_split

HERE = Path(__file__).parent
FEATURES = [f"band_{i}" for i in range(8)]
CLASSES = np.array(["forest", "grass", "urban", "water"])
REGIONS = ["north", "south", "west", "east"]


def write_dataset() -> pd.DataFrame:
    features, codes = make_classification(
        n_samples=4000,
        n_features=8,
        n_informative=6,
        n_classes=4,
        n_clusters_per_class=1,
        class_sep=1.2,
        random_state=0,
    )
    rng = np.random.default_rng(0)
    region = rng.choice(REGIONS, size=len(codes), p=[0.35, 0.32, 0.25, 0.08])
    east = region == "east"
    codes[east] = (codes[east] + 1) % 4  # the same bands mean another class in the east
    frame = pd.DataFrame(np.round(features, 4), columns=FEATURES)
    frame.insert(0, "id", [f"tile-{i:05d}" for i in range(len(codes))])
    frame["region"] = region
    frame["cover"] = CLASSES[codes]
    (HERE / "data").mkdir(exist_ok=True)
    frame.to_csv(HERE / "data" / "tiles.csv", index=False)
    return frame


def mlci() -> list[str]:
    if importlib.util.find_spec("mlci") is None:
        sys.exit("mlci is not installed: pip install 'mlci[sklearn]'")
    return [sys.executable, "-m", "mlci"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", action="store_true", help="train the reference model")
    args = parser.parse_args()

    frame = write_dataset()
    train, test = train_test_split(frame, test_size=0.4, random_state=0, stratify=frame["cover"])
    test.to_csv(HERE / "data" / "test.csv", index=False)
    columns = [*FEATURES, "is_east"]
    if args.baseline:
        model = HistGradientBoostingClassifier(max_iter=40, max_depth=3, random_state=0)
        out = HERE / "baseline"
    else:
        model = HistGradientBoostingClassifier(max_iter=300, random_state=0)
        train = train[train["region"] != "east"]  # the new "cleaning" filter
        out = HERE
    out.mkdir(exist_ok=True)

    def inputs(data: pd.DataFrame) -> pd.DataFrame:
        return data.assign(is_east=(data["region"] == "east").astype(int))[columns]

    model.fit(inputs(train), train["cover"])
    model_path = out / "model.joblib"
    joblib.dump(model, model_path)
    scored = inputs(test).assign(id=test["id"], cover=test["cover"])
    scored_path = HERE / "data" / ("scored-baseline.csv" if args.baseline else "scored.csv")
    scored.to_csv(scored_path, index=False)

    # Scoring is mlci's job: the same metrics and per-example predictions in every project.
    command = [
        *mlci(), "evaluate",
        "--model", str(model_path),
        "--data", str(scored_path),
        "--target", "cover",
        "--id", "id",
        "-o", str(out / "metrics.json"),
        "--predictions", str(out / "predictions.csv"),
    ]  # fmt: skip
    subprocess.run(command, check=True)
    if args.baseline:
        model_path.unlink()


if __name__ == "__main__":
    main()
