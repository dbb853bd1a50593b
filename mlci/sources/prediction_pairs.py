"""Head and base predictions of the same examples, aligned by id into numpy arrays for the
model diff: class labels as integer codes, probabilities as matrices, slice columns as codes.

Every way the two files can disagree is an InputFileError (exit 2) that says how many examples
are affected and shows a few: duplicated ids, ids on one side only, different targets, predicted
labels outside the known classes, probabilities that do not sum to 1, missing values, a slice
column that exists nowhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from mlci.errors import InputFileError

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from mlci.config import PredictionsOptions
    from mlci.sources.predictions import Predictions

Task = Literal["binary", "multiclass", "regression"]
PROBA_PREFIX = "proba_"
PROBABILITY_TOLERANCE = 1e-3
"""How far a row's probabilities may sum from 1 (files written with 4 decimals still pass)."""
SHOWN = 3
"""Examples named in a message about many."""
MISSING_SLICE = "(missing)"


@dataclass
class PairedPredictions:
    """Both sides on the same examples, in the head file's order."""

    task: Task
    ids: NDArray[Any]
    target: NDArray[Any]
    """Classification: codes into `labels`; regression: float64."""
    head: NDArray[Any]
    base: NDArray[Any]
    labels: list[Any] = field(default_factory=list)
    """The classes, sorted (empty for regression)."""
    head_proba: NDArray[np.float64] | None = None
    """n x len(labels) class probabilities, when both sides have `proba_<class>` columns."""
    base_proba: NDArray[np.float64] | None = None
    head_score: NDArray[np.float64] | None = None
    """Binary: the positive class's score (a probability column or the score column)."""
    base_score: NDArray[np.float64] | None = None
    positive: int | None = None
    """Binary: the code of the positive class."""
    slices: dict[str, NDArray[Any]] = field(default_factory=dict)
    """Slice column -> its value on each example (text; missing values as `(missing)`)."""
    features: Any = None
    """A pandas DataFrame of the joined data's columns, one row per example (or None)."""
    head_label: str = "head"
    base_label: str = "base"

    @property
    def size(self) -> int:
        return len(self.target)


def pair_for_diff(
    head: Predictions,
    base: Predictions,
    options: PredictionsOptions,
    *,
    joined: Any = None,
    join_label: str | None = None,
) -> PairedPredictions:
    """Align `base` on `head` by id, check both, and encode them for the model diff.

    `joined` is the frame of `options.join` (read by the caller), joined on the id.
    """
    columns = (options.id, options.target, options.prediction)
    frames = [_checked(side, columns, options.id) for side in (head, base)]
    head_frame, base_frame = frames
    ids = head_frame[options.id]
    _same_ids(head, base, ids, base_frame[options.id])
    order = _index_of(base_frame[options.id], ids)
    base_frame = base_frame.iloc[order].reset_index(drop=True)
    head_frame = head_frame.reset_index(drop=True)
    for frame, side in ((head_frame, head), (base_frame, base)):
        _no_missing(frame, options.target, side)
        _no_missing(frame, options.prediction, side)
    _same_targets(head, base, ids, head_frame[options.target], base_frame[options.target])

    classes = _proba_classes(head_frame), _proba_classes(base_frame)
    task = options.task or _infer_task(head_frame, base_frame, options, classes[0] or classes[1])
    paired = PairedPredictions(
        task=task,
        ids=ids.to_numpy(),
        target=np.empty(0),
        head=np.empty(0),
        base=np.empty(0),
        head_label=head.label,
        base_label=base.label,
    )
    if task == "regression":
        for frame, side in ((head_frame, head), (base_frame, base)):
            for column in (options.target, options.prediction):
                if not _numeric(frame[column]):
                    raise InputFileError(
                        f"column {column!r} is not numeric, which a regression needs",
                        path=side.path,
                        hint="set `predictions.task: multiclass` (or binary) for class labels",
                    )
        paired.target = head_frame[options.target].to_numpy(dtype=np.float64)
        paired.head = head_frame[options.prediction].to_numpy(dtype=np.float64)
        paired.base = base_frame[options.prediction].to_numpy(dtype=np.float64)
    else:
        _encode_classes(paired, head_frame, base_frame, options, (head, base), classes)
    if options.slices or joined is not None:
        features = _join(joined, ids, options, join_label) if joined is not None else None
        paired.features = features
        for column in options.slices:
            paired.slices[column] = _slice_values(
                column, head_frame, features, head, options, join_label
            )
    return paired


# --- checks on one side ------------------------------------------------------------------------


def _checked(side: Predictions, columns: tuple[str, ...], id_column: str) -> Any:
    frame = side.frame
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        raise InputFileError(
            f"predictions have no column {missing[0]!r} "
            f"(columns: {', '.join(map(str, frame.columns))})",
            path=side.path,
            hint="name the columns with `predictions: {id:, target:, prediction:}`",
        )
    if len(frame) == 0:
        raise InputFileError("predictions file has no rows", path=side.path)
    ids = frame[id_column]
    if ids.isna().any():
        count = int(ids.isna().sum())
        raise InputFileError(
            f"column {id_column!r} has {_count(count, 'missing id')}", path=side.path
        )
    duplicated = ids.duplicated(keep=False)
    if duplicated.any():
        repeated = ids[duplicated].drop_duplicates()
        raise InputFileError(
            f"{_count(len(repeated), 'id')} appear more than once in column {id_column!r} "
            f"({int(duplicated.sum())} rows; e.g. {_few(repeated)}); ids must be unique",
            path=side.path,
        )
    return frame


def _no_missing(frame: Any, column: str, side: Predictions) -> None:
    empty = frame[column].isna()
    if empty.any():
        count = int(empty.sum())
        raise InputFileError(
            f"column {column!r} has {_count(count, 'missing value')} "
            f"(e.g. row{'s' if count > 1 else ''} {_few(empty[empty].index + 1)})",
            path=side.path,
            hint="every example needs a target and a prediction",
        )


def _same_ids(head: Predictions, base: Predictions, head_ids: Any, base_ids: Any) -> None:
    head_ids, base_ids = _comparable(head_ids, base_ids)
    only_head = head_ids[~head_ids.isin(base_ids)]
    only_base = base_ids[~base_ids.isin(head_ids)]
    if len(only_head) or len(only_base):
        parts = []
        if len(only_head):
            parts.append(
                f"{_count(len(only_head), 'id')} only in the head (e.g. {_few(only_head)})"
            )
        if len(only_base):
            parts.append(
                f"{_count(len(only_base), 'id')} only in the base (e.g. {_few(only_base)})"
            )
        raise InputFileError(
            f"head predictions ({head.label}) and base predictions ({base.label}) are not on the "
            f"same examples: {'; '.join(parts)}",
            hint="score both models on the same evaluation set with the same id column",
        )


def _index_of(values: Any, wanted: Any) -> NDArray[np.intp]:
    """Positions in `values` of each of `wanted` (all present, both unique)."""
    import pandas as pd

    values, wanted = _comparable(values, wanted)
    return np.asarray(pd.Index(values).get_indexer(wanted), dtype=np.intp)


def _comparable(left: Any, right: Any) -> tuple[Any, Any]:
    """Two columns of ids or labels; compared as text unless both are numbers."""
    if _numeric(left) and _numeric(right):
        return left, right
    return left.astype(str), right.astype(str)


def _same_targets(
    head: Predictions, base: Predictions, ids: Any, head_target: Any, base_target: Any
) -> None:
    left, right = _comparable(head_target, base_target)
    differ = (left.to_numpy() != right.to_numpy()) & ~(
        _numeric(left) and np.isclose(left.to_numpy(), right.to_numpy(), rtol=1e-12, atol=0)
    )
    if differ.any():
        first = int(np.flatnonzero(differ)[0])
        raise InputFileError(
            f"head predictions ({head.label}) and base predictions ({base.label}) disagree on "
            f"the target of {int(differ.sum())} of {len(ids)} examples (e.g. id "
            f"{_show(ids.iloc[first])}: {_show(head_target.iloc[first])} vs "
            f"{_show(base_target.iloc[first])})",
            hint="score both models on the same evaluation set",
        )


# --- classes -----------------------------------------------------------------------------------


def _proba_classes(frame: Any) -> list[str]:
    return [str(c)[len(PROBA_PREFIX) :] for c in frame.columns if str(c).startswith(PROBA_PREFIX)]


def _infer_task(head: Any, base: Any, options: PredictionsOptions, classes: list[str]) -> Task:
    target = head[options.target]
    predictions = (head[options.prediction], base[options.prediction])
    if classes or not all(_numeric(column) for column in (target, *predictions)):
        labels = set(_label_texts(target))
        return "binary" if len(labels | set(classes)) <= 2 else "multiclass"
    values = np.concatenate(
        [column.to_numpy(dtype=np.float64) for column in (target, *predictions)]
    )
    if np.all(np.isfinite(values)) and np.all(values == np.round(values)):
        return "binary" if len(np.unique(values)) <= 2 else "multiclass"
    return "regression"


def _label_texts(column: Any) -> list[str]:
    """Labels as the `proba_<class>` columns spell them: integral numbers without `.0`."""
    if _numeric(column):
        values = column.to_numpy(dtype=np.float64)
        if np.all(values == np.round(values)):
            return [str(int(value)) for value in np.unique(values)]
        return [repr(float(value)) for value in np.unique(values)]
    return sorted({_text(value) for value in column.unique()})


def _encode_classes(
    paired: PairedPredictions,
    head_frame: Any,
    base_frame: Any,
    options: PredictionsOptions,
    sides: tuple[Predictions, Predictions],
    classes: tuple[list[str], list[str]],
) -> None:
    import pandas as pd

    columns = (
        head_frame[options.target],
        head_frame[options.prediction],
        base_frame[options.prediction],
    )
    # Labels are worked on per distinct value (pd.factorize), never per row in Python: a million
    # examples with ten classes cost ten conversions.
    numeric = all(_numeric(c) for c in columns) and all(_integral(c) for c in columns)
    factorized = [pd.factorize(column) for column in columns]
    found: list[list[Any]] = [
        [int(value) if numeric else _text(value) for value in uniques] for _, uniques in factorized
    ]
    named = {*classes[0], *classes[1]}
    known = {_text(label) for label in found[0]} | named
    for index, side in ((1, sides[0]), (2, sides[1])):
        unknown = [i for i, label in enumerate(found[index]) if _text(label) not in known]
        if unknown:
            rows = int(np.isin(factorized[index][0], unknown).sum())
            shown = ", ".join(sorted(known)[:10]) + (", ..." if len(known) > 10 else "")
            labels_shown = [found[index][i] for i in unknown]
            raise InputFileError(
                f"{_count(len(unknown), 'predicted label')} "
                f"{'is' if len(unknown) == 1 else 'are'} not among the classes "
                f"({_few(labels_shown)}, on {_count(rows, 'row')}); the classes "
                f"are the target's labels and the proba_<class> columns: {shown}",
                path=side.path,
                hint="write predictions with the same labels as the target column",
            )
    every: set[Any] = {label for labels_found in found for label in labels_found}
    if numeric:
        every |= {int(name) for name in named if _is_int_text(name)}
    else:
        every |= named
    labels = sorted(every)
    paired.labels = labels
    position = {label: code for code, label in enumerate(labels)}
    for name, (codes, _), labels_found in zip(
        ("target", "head", "base"), factorized, found, strict=True
    ):
        lookup = np.array([position[label] for label in labels_found], dtype=np.intp)
        setattr(paired, name, lookup[codes])
    if len(labels) <= 2 and options.task != "multiclass":
        paired.task = "binary"
    if paired.task == "binary" or options.positive is not None:
        paired.positive = _positive(labels, options, sides[0])
    if classes[0] and classes[1]:
        paired.head_proba = _probabilities(head_frame, sides[0], labels, classes[0])
        paired.base_proba = _probabilities(base_frame, sides[1], labels, classes[1])
        if paired.task == "binary" and paired.positive is not None:
            paired.head_score = paired.head_proba[:, paired.positive]
            paired.base_score = paired.base_proba[:, paired.positive]
    elif paired.task == "binary" and options.score in head_frame and options.score in base_frame:
        scores = []
        for frame, side in ((head_frame, sides[0]), (base_frame, sides[1])):
            column = frame[options.score]
            if not _numeric(column) or column.isna().any():
                raise InputFileError(
                    f"score column {options.score!r} must hold a number on every row",
                    path=side.path,
                )
            scores.append(column.to_numpy(dtype=np.float64))
        paired.head_score, paired.base_score = scores


def _integral(column: Any) -> bool:
    values = column.to_numpy(dtype=np.float64)
    return bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))


def _text(value: Any) -> str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _is_int_text(text: str) -> bool:
    return text.lstrip("-").isdigit()


def _positive(labels: list[Any], options: PredictionsOptions, side: Predictions) -> int:
    if options.positive is None:
        return len(labels) - 1
    texts = [_text(label) for label in labels]
    if _text(options.positive) not in texts:
        raise InputFileError(
            f"positive class {options.positive!r} is not among the classes ({', '.join(texts)})",
            path=side.path,
            hint="set `predictions.positive` to one of the target's labels",
        )
    return texts.index(_text(options.positive))


def _probabilities(
    frame: Any, side: Predictions, labels: list[Any], names: list[str]
) -> NDArray[np.float64]:
    by_name = {name: f"{PROBA_PREFIX}{name}" for name in names}
    missing = [_text(label) for label in labels if _text(label) not in by_name]
    if missing:
        raise InputFileError(
            f"no probability column for {_count(len(missing), 'class', 'classes')} "
            f"({', '.join(repr(m) for m in missing[:SHOWN])}): every class needs a proba_<class> "
            "column",
            path=side.path,
        )
    columns = [by_name[_text(label)] for label in labels]
    extra = sorted(set(by_name) - {_text(label) for label in labels})
    if extra:
        raise InputFileError(
            f"probability column {PROBA_PREFIX}{extra[0]} names no class of the targets or "
            "predictions",
            path=side.path,
        )
    block = frame[columns]
    if not all(_numeric(block[c]) for c in columns):
        raise InputFileError("proba_<class> columns must hold numbers", path=side.path)
    matrix = block.to_numpy(dtype=np.float64)
    bad = ~np.isfinite(matrix).all(axis=1) | (matrix < 0).any(axis=1) | (matrix > 1).any(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad) + 1
        raise InputFileError(
            f"{_count(int(bad.sum()), 'row')} have probabilities that are missing or outside "
            f"[0, 1] (e.g. row{'s' if len(rows) > 1 else ''} "
            f"{', '.join(str(r) for r in rows[:SHOWN])})",
            path=side.path,
        )
    sums = matrix.sum(axis=1)
    off = np.abs(sums - 1) > PROBABILITY_TOLERANCE
    if off.any():
        first = int(np.flatnonzero(off)[0])
        raise InputFileError(
            f"the probabilities of {_count(int(off.sum()), 'row')} do not sum to 1 within "
            f"{PROBABILITY_TOLERANCE:g} (e.g. row {first + 1}: {sums[first]:.6g})",
            path=side.path,
            hint="write one proba_<class> column per class, from predict_proba",
        )
    return np.asarray(matrix, dtype=np.float64)


# --- slices and joined data --------------------------------------------------------------------


def _join(joined: Any, ids: Any, options: PredictionsOptions, label: str | None) -> Any:
    where = label or options.join
    if options.id not in joined.columns:
        raise InputFileError(
            f"joined data has no id column {options.id!r} "
            f"(columns: {', '.join(map(str, joined.columns))})",
            path=where,
            hint="the `predictions.join` file needs the same id column as the predictions",
        )
    key = joined[options.id]
    duplicated = key.duplicated(keep=False)
    if duplicated.any():
        repeated = key[duplicated].drop_duplicates()
        raise InputFileError(
            f"{_count(len(repeated), 'id')} appear more than once in the joined data "
            f"(e.g. {_few(repeated)})",
            path=where,
        )
    order = _index_of(key, ids)
    if (order < 0).any():
        absent = ids[order < 0]
        raise InputFileError(
            f"{_count(len(absent), 'id')} of the predictions are not in the joined data "
            f"(e.g. {_few(absent)})",
            path=where,
            hint="`predictions.join` must hold every example of the predictions",
        )
    return joined.drop(columns=[options.id]).iloc[order].reset_index(drop=True)


def _slice_values(
    column: str,
    frame: Any,
    features: Any,
    side: Predictions,
    options: PredictionsOptions,
    join_label: str | None,
) -> NDArray[Any]:
    if column in frame.columns:
        values = frame[column]
    elif features is not None and column in features.columns:
        values = features[column]
    else:
        where = "the predictions" + (f" or the joined data ({join_label})" if join_label else "")
        available = [str(c) for c in frame.columns]
        if features is not None:
            available += [str(c) for c in features.columns]
        raise InputFileError(
            f"slice column {column!r} is in neither {where} (columns: {', '.join(available)})"
            if features is not None
            else f"slice column {column!r} is not in {where} (columns: {', '.join(available)})",
            path=side.path,
            hint="fix `predictions.slices`, or add the column with `predictions.join`",
        )
    import pandas as pd

    codes, uniques = pd.factorize(values)  # missing values get -1
    texts = np.array([*(_text(value) for value in uniques), MISSING_SLICE], dtype=object)
    return np.asarray(texts[codes])


# --- small helpers -----------------------------------------------------------------------------


def _numeric(column: Any) -> bool:
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    return bool(is_numeric_dtype(column) and not is_bool_dtype(column))


def _count(count: int, noun: str, plural: str | None = None) -> str:
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def _few(values: Any) -> str:
    shown = [_show(value) for value in list(values)[:SHOWN]]
    return ", ".join(shown) + (", ..." if len(values) > SHOWN else "")


def _show(value: Any) -> str:
    return repr(value.item() if hasattr(value, "item") else value)


def read_joined(path: Path) -> Any:
    """The `predictions.join` data file as a pandas DataFrame."""
    from mlci.sources.data_files import open_data_file, read_frame

    if not path.is_file():
        raise InputFileError("joined data file not found", path=path, hint="fix `predictions.join`")
    return read_frame(open_data_file(path))
