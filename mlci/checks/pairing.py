"""Pairing head and base predictions by example id, and each side's per-example values (what
the significance tests compare)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlci.checks.stats import CLASSIFICATION, per_example_values
from mlci.errors import InputFileError
from mlci.sources.predictions import Predictions

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from mlci.config import Statistic


@dataclass
class PairedValues:
    """Per-example values of head and base, aligned on the same example ids."""

    head: NDArray[np.float64]
    base: NDArray[np.float64]


def pair_predictions(
    head: Predictions,
    base: Predictions,
    *,
    statistic: Statistic,
    id_column: str,
    target: str,
    prediction: str,
) -> PairedValues:
    """Join head and base by `id_column` and compute each side's per-example values.

    Both sides must hold the same ids, each once, with the same targets: they are predictions of
    two models on one evaluation set.
    """
    classification = statistic in CLASSIFICATION
    frames = []
    for side in (head, base):
        frame = side.frame
        missing = [name for name in (id_column, target, prediction) if name not in frame.columns]
        if missing:
            raise InputFileError(
                f"predictions have no column {missing[0]!r} "
                f"(columns: {', '.join(map(str, frame.columns))})",
                path=side.path,
                hint="name the columns with `significance: {id:, target:, prediction:}`",
            )
        if len(frame) == 0:
            raise InputFileError("predictions file has no rows", path=side.path)
        duplicated = frame[id_column].duplicated()
        if duplicated.any():
            first = frame[id_column][duplicated].iloc[0]
            raise InputFileError(
                f"id {_show(first)} appears more than once in column {id_column!r}; "
                "ids must be unique",
                path=side.path,
            )
        for column in (target, prediction):
            empty = int(frame[column].isna().sum())
            if empty:
                raise InputFileError(
                    f"column {column!r} has {empty} missing value{'s' if empty > 1 else ''}",
                    path=side.path,
                )
            if not classification and not _numeric(frame[column]):
                raise InputFileError(
                    f"column {column!r} is not numeric, which {statistic} needs",
                    path=side.path,
                    hint="set `significance.statistic: accuracy` for class labels",
                )
            if not classification:
                _require_finite(frame, column, id_column, side.path)
        frames.append(frame.set_index(id_column))
    head_frame, base_frame = frames
    only_head = head_frame.index.difference(base_frame.index)
    only_base = base_frame.index.difference(head_frame.index)
    if len(only_head) or len(only_base):
        raise InputFileError(
            f"head predictions ({head.label}) and base predictions ({base.label}) are not on the "
            f"same examples: {_ids(len(only_head))} of the head {_are(len(only_head))} missing "
            f"from the base, {_ids(len(only_base))} of the base {_are(len(only_base))} missing "
            f"from the head",
            hint="score both models on the same evaluation set with the same id column",
        )
    base_frame = base_frame.loc[head_frame.index]
    same_target = _equal(head_frame[target], base_frame[target])
    if not same_target.all():
        differ = ~same_target
        first = head_frame.index[differ.to_numpy()][0]
        raise InputFileError(
            f"head predictions ({head.label}) and base predictions ({base.label}) disagree on "
            f"the target of {int(differ.sum())} of {len(head_frame)} examples (first: id "
            f"{_show(first)}: {_show(head_frame[target].loc[first])} vs "
            f"{_show(base_frame[target].loc[first])})",
            hint="score both models on the same evaluation set",
        )
    values = []
    for side, frame in ((head, head_frame), (base, base_frame)):
        if classification:
            correct = _equal(frame[target], frame[prediction]).to_numpy()
            truth = correct.astype("float64")
            values.append(truth if statistic == "accuracy" else 1.0 - truth)
        else:
            import numpy as np

            with np.errstate(over="ignore"):
                found = per_example_values(
                    statistic, frame[target].to_numpy(), frame[prediction].to_numpy()
                )
            if not np.isfinite(found).all() or not np.isfinite(found.sum()):
                raise InputFileError(
                    f"the {statistic} of these predictions overflows (errors too large to "
                    "add up): no interval can be computed",
                    path=side.path,
                    hint="check the predictions' scale",
                )
            values.append(found)
    return PairedValues(head=values[0], base=values[1])


def _require_finite(frame: Any, column: str, id_column: str, path: Any) -> None:
    """inf and nan compare as no number does: a gate on them would pass whatever they hide."""
    import numpy as np

    finite = np.isfinite(frame[column].to_numpy(dtype="float64"))
    if not finite.all():
        first = frame[id_column].to_numpy()[~finite][0]
        value = frame[column].to_numpy()[~finite][0]
        raise InputFileError(
            f"column {column!r} holds a value that is not a finite number ({value!r} at id "
            f"{_show(first)}; {int((~finite).sum())} in all)",
            path=path,
        )


def _numeric(column: Any) -> bool:
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    return bool(is_numeric_dtype(column) and not is_bool_dtype(column))


def _equal(left: Any, right: Any) -> Any:
    """Element-wise equality; labels of different types (1 vs "1") compare as text."""
    if _numeric(left) and _numeric(right):
        return left == right.to_numpy()
    return left.astype(str) == right.astype(str).to_numpy()


def _ids(count: int) -> str:
    return f"{count} id{'s' if count != 1 else ''}"


def _are(count: int) -> str:
    return "is" if count == 1 else "are"


def _show(value: Any) -> str:
    return repr(value.item() if hasattr(value, "item") else value)
