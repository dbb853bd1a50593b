"""Score a scikit-learn model on a data file with scikit-learn's own metrics, and keep its
per-example predictions for the significance gate (`mlci evaluate`, the `sklearn` extra).

Loading a pickle or joblib file runs code stored in it: load only model files you trust.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mlci.errors import InputFileError
from mlci.extras import require

Task = Literal["classification", "regression"]
TASKS: tuple[Task, ...] = ("classification", "regression")
PROBA_PREFIX = "proba_"
"""Score columns of the predictions file: `proba_<class>`, one per class."""


@dataclass
class Evaluation:
    task: Task
    model: str
    """The estimator's class, such as `sklearn.linear_model.LogisticRegression`."""
    examples: int
    metrics: dict[str, float]
    predictions: Any
    """A pandas DataFrame: id, target, prediction, and proba_<class> columns when available."""


def load_model(path: Path) -> Any:
    """Unpickle a scikit-learn estimator (pickle or joblib). This runs code from the file."""
    joblib = require("joblib", "sklearn", feature="mlci evaluate needs joblib")
    require("sklearn", "sklearn", feature="mlci evaluate needs scikit-learn")
    if path.is_dir():
        raise InputFileError("is a directory, not a model file", path=path)
    if not path.exists():
        raise InputFileError("model file not found", path=path, hint="check the path")
    try:
        model = joblib.load(path)
    except (Exception, SystemExit) as error:  # unpickling runs what the file says: sys.exit too
        detail = _detail(error, with_kind=True)
        raise InputFileError(
            f"cannot load the model ({detail})",
            path=path,
            hint="it must be a fitted estimator saved with joblib.dump or pickle.dump",
        ) from None
    if not callable(getattr(model, "predict", None)):
        kind = type(model)
        raise InputFileError(
            f"is not a scikit-learn estimator (it holds a {kind.__module__}.{kind.__qualname__})",
            path=path,
            hint="save the fitted estimator itself, e.g. joblib.dump(model, 'model.joblib')",
        )
    return model


def infer_task(model: Any) -> Task | None:
    from sklearn.base import is_classifier, is_regressor

    if is_classifier(model):
        return "classification"
    if is_regressor(model):
        return "regression"
    return None


def evaluate_model(
    model: Any,
    frame: Any,
    *,
    target: str,
    id_column: str | None = None,
    task: Task | None = None,
    data_path: Path | None = None,
) -> Evaluation:
    """Predict on `frame` (a pandas DataFrame) and score against its `target` column."""
    columns = [str(column) for column in frame.columns]
    for role, column in (("target", target), ("id", id_column)):
        if column is not None and column not in frame.columns:
            raise InputFileError(
                f"data has no {role} column {column!r} (columns: {', '.join(columns)})",
                path=data_path,
            )
    if len(frame) == 0:
        raise InputFileError("data has no rows", path=data_path)
    empty = int(frame[target].isna().sum())
    if empty:
        raise InputFileError(
            f"target column {target!r} has {empty} missing value{'s' if empty > 1 else ''}",
            path=data_path,
        )
    chosen = task or infer_task(model)
    if chosen is None:
        raise InputFileError(
            f"cannot tell whether {type(model).__name__} is a classifier or a regressor",
            hint="pass --task classification or --task regression",
        )
    features = _features(model, frame, target, id_column, data_path)
    try:
        predicted = model.predict(features)
    except (Exception, SystemExit) as error:  # the model's own complaint about the data
        raise InputFileError(
            f"the model cannot predict on this data ({_detail(error)})",
            path=data_path,
        ) from None
    pd = require("pandas", "data")
    truth = frame[target].to_numpy()
    predicted = _one_per_row(predicted, len(frame), "predict()", data_path)
    if chosen == "classification":
        _refuse_unseen_classes(model, truth, target, data_path)
    elif _non_finite(predicted):
        raise InputFileError(
            f"the model's predict() returned {_non_finite(predicted)} value(s) that are NaN or "
            "infinite",
            path=data_path,
            hint="check the model and the data's missing values",
        )
    try:
        predictions = pd.DataFrame(
            {
                "id": frame[id_column].to_numpy() if id_column else range(len(frame)),
                "target": truth,
                "prediction": predicted,
            }
        )
        if chosen == "classification":
            proba = _probabilities(model, features, data_path)
            classes = getattr(model, "classes_", None)
            metrics = classification_metrics(truth, predicted, proba, classes)
            if proba is not None:
                for index, label in enumerate(model.classes_):
                    predictions[f"{PROBA_PREFIX}{label}"] = proba[:, index]
        else:
            metrics = regression_metrics(truth, predicted)
    except (ValueError, TypeError, IndexError) as error:  # labels of another kind, a class the
        lines = str(error).strip().splitlines()  # model never saw, a regressor scored as
        detail = lines[0] if lines else type(error).__name__  # a classifier, a non-array
        raise InputFileError(
            f"cannot score the model's predictions against column {target!r} as {chosen} "
            f"({detail})",
            path=data_path,
            hint="check --target and --task, and that the model was trained on such labels",
        ) from None
    return Evaluation(
        task=chosen,
        model=_public_name(type(model)),
        examples=len(frame),
        metrics=metrics,
        predictions=predictions,
    )


def _detail(error: BaseException, *, with_kind: bool = False) -> str:
    """The first line of an error from the model's own code, for a one-line message."""
    if isinstance(error, SystemExit):
        return f"it called sys.exit({error.code!r})"
    lines = str(error).strip().splitlines()
    kind = type(error).__name__
    if not lines:
        return kind
    return f"{kind}: {lines[0]}" if with_kind else lines[0]


def _describe(value: Any) -> str:
    shape = getattr(value, "shape", None)
    if isinstance(shape, tuple):
        return f"an array of shape {shape}"
    if value is None:
        return "None"
    if isinstance(value, list | tuple):
        return f"a {type(value).__name__} of {len(value)}"
    kind = type(value)
    name = (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def _one_per_row(values: Any, rows: int, what: str, data_path: Path | None) -> Any:
    """`values` as a 1-D array of one prediction per row; anything else (None, a string, a
    generator, a table, the wrong length) is the model's fault, said as such."""
    import numpy as np

    problem = None
    array = None
    if isinstance(values, str | bytes | dict) or not hasattr(values, "__len__"):
        problem = _describe(values)
    else:
        try:
            array = np.asarray(values)
        except (ValueError, TypeError):  # ragged nested sequences
            problem = _describe(values)
        else:
            if array.ndim == 2 and array.shape[1] == 1:
                array = array.ravel()
            if array.ndim != 1 or len(array) != rows:
                problem = f"an array of shape {array.shape}"
            elif array.dtype == object and any(
                isinstance(item, list | tuple | dict | set) or hasattr(item, "shape")
                for item in array
            ):
                problem = "an array of sequences"
    if problem is not None:
        raise InputFileError(
            f"the model's {what} returned {problem}, not one value per row ({rows} rows)",
            path=data_path,
            hint="it must return an array such as scikit-learn estimators do",
        )
    return array


def _non_finite(values: Any) -> int:
    import numpy as np

    if not np.issubdtype(values.dtype, np.number):
        return 0
    return int((~np.isfinite(values.astype(float))).sum())


def _refuse_unseen_classes(model: Any, truth: Any, target: str, data_path: Path | None) -> None:
    """Labels in the data that the model cannot predict make its metrics meaningless (and
    scikit-learn's log loss refuses them): say which, against the classes it knows."""
    import numpy as np

    classes = getattr(model, "classes_", None)
    if classes is None:
        return
    try:
        unseen = sorted(
            set(np.asarray(truth).tolist()) - set(np.asarray(classes).tolist()), key=str
        )
    except TypeError:  # unhashable labels: the metrics will say what is wrong
        return
    if not unseen:
        return
    shown = ", ".join(repr(label) for label in unseen[:5]) + (" ..." if len(unseen) > 5 else "")
    known = ", ".join(repr(label) for label in list(np.asarray(classes).tolist())[:10])
    raise InputFileError(
        f"column {target!r} has {len(unseen)} class(es) the model never saw: {shown} "
        f"(it knows {known})",
        path=data_path,
        hint="evaluate on data with the classes the model was trained on, or retrain it",
    )


def _public_name(kind: type) -> str:
    """`sklearn.linear_model.LogisticRegression`, without private modules (`._logistic`)."""
    public = [part for part in kind.__module__.split(".") if not part.startswith("_")]
    return ".".join([*public, kind.__qualname__])


def _features(
    model: Any, frame: Any, target: str, id_column: str | None, data_path: Path | None
) -> Any:
    trained_on = getattr(model, "feature_names_in_", None)
    if trained_on is None:  # fitted on an array: give it one, in the file's column order
        return frame.drop(columns=[c for c in (target, id_column) if c is not None]).to_numpy()
    missing = [str(name) for name in trained_on if name not in frame.columns]
    if missing:
        raise InputFileError(
            f"data lacks {len(missing)} column{'s' if len(missing) > 1 else ''} the model was "
            f"trained on: {', '.join(missing)}",
            path=data_path,
        )
    return frame[list(trained_on)]


def _probabilities(model: Any, features: Any, data_path: Path | None) -> Any:
    if not hasattr(model, "predict_proba") or getattr(model, "classes_", None) is None:
        return None
    try:
        proba = model.predict_proba(features)
    except (AttributeError, NotImplementedError):  # e.g. SVC without probability=True
        return None
    except (Exception, SystemExit) as error:
        raise InputFileError(
            f"the model's predict_proba() failed on this data ({_detail(error)})", path=data_path
        ) from None
    import numpy as np

    classes = len(model.classes_)
    try:
        array = np.asarray(proba, dtype=float)
    except (ValueError, TypeError):
        array = None
    if array is None or array.shape != (len(features), classes):
        got = _describe(proba) if array is None else f"an array of shape {array.shape}"
        raise InputFileError(
            f"the model's predict_proba() returned {got}, not one row of {classes} "
            f"probabilities per example ({len(features)} rows)",
            path=data_path,
        )
    if not np.isfinite(array).all():
        raise InputFileError(
            "the model's predict_proba() returned probabilities that are NaN or infinite",
            path=data_path,
        )
    return array


def classification_metrics(
    truth: Any, predicted: Any, proba: Any, classes: Any
) -> dict[str, float]:
    """scikit-learn's accuracy, balanced accuracy, precision/recall/F1 (macro and weighted),
    and with probabilities ROC AUC (one-vs-rest macro for several classes) and log loss."""
    from sklearn import metrics

    found = {
        "accuracy": metrics.accuracy_score(truth, predicted),
        "balanced_accuracy": metrics.balanced_accuracy_score(truth, predicted),
    }
    for average in ("macro", "weighted"):
        found[f"precision_{average}"] = metrics.precision_score(
            truth, predicted, average=average, zero_division=0
        )
        found[f"recall_{average}"] = metrics.recall_score(
            truth, predicted, average=average, zero_division=0
        )
        found[f"f1_{average}"] = metrics.f1_score(
            truth, predicted, average=average, zero_division=0
        )
    if proba is not None and classes is not None:
        try:
            if len(classes) == 2:
                found["roc_auc"] = metrics.roc_auc_score(truth, proba[:, 1])
            else:
                found["roc_auc"] = metrics.roc_auc_score(
                    truth, proba, multi_class="ovr", average="macro", labels=classes
                )
        except ValueError:  # one class only in the data: ROC AUC is undefined
            pass
        found["log_loss"] = metrics.log_loss(truth, proba, labels=classes)
    return {name: float(value) for name, value in found.items()}


def regression_metrics(truth: Any, predicted: Any) -> dict[str, float]:
    """scikit-learn's RMSE, MAE, R² and MAPE."""
    from sklearn import metrics

    return {
        "rmse": math.sqrt(float(metrics.mean_squared_error(truth, predicted))),
        "mae": float(metrics.mean_absolute_error(truth, predicted)),
        "r2": float(metrics.r2_score(truth, predicted)),
        "mape": float(metrics.mean_absolute_percentage_error(truth, predicted)),
    }


def write_predictions(predictions: Any, path: Path) -> None:
    """Write the predictions as Parquet (`.parquet`, `.pq`) or CSV/TSV (`.csv`, `.tsv`)."""
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".pq", ".csv", ".tsv"):
        raise InputFileError(
            "unknown predictions format", path=path, hint="name it .parquet or .csv"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if suffix in (".parquet", ".pq"):
            frame = predictions.copy()
            frame.columns = [str(column) for column in frame.columns]
            frame.to_parquet(path, index=False)
        else:
            predictions.to_csv(path, index=False, sep="\t" if suffix == ".tsv" else ",")
    except OSError as error:
        raise InputFileError(f"cannot write predictions: {error.strerror}", path=path) from None
