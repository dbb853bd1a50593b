"""The model diff of a Report (`report.model`): what changed in the model's behaviour between
base and head on the same examples — metrics, per class, confusion matrices, changed examples,
slices. Plain data; `model_diff_to_dict` is its stable JSON shape (docs/report.md)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

ModelTask = Literal["binary", "multiclass", "regression"]


@dataclass
class ValueChange:
    """One number, base vs head: `{"old", "new", "diff"}` in JSON, plus the paired confidence
    interval of `diff` when significance was computed."""

    old: float | None
    new: float | None
    diff: float | None = None
    ci_low: float | None = None
    """Lower end of the paired confidence interval of `diff` (None when not computed)."""
    ci_high: float | None = None
    significant: bool | None = None
    """Whether the interval excludes 0: the change is beyond noise (None when not computed)."""
    direction: Literal["higher", "lower"] | None = None
    """Which way is better, for arrows; None when the number has no direction (support)."""

    def __post_init__(self) -> None:
        if self.diff is None and self.old is not None and self.new is not None:
            self.diff = self.new - self.old


@dataclass
class Examples:
    head: int
    base: int
    paired: int


@dataclass
class ClassChange:
    """One class: precision, recall and F1 of base and head; support (targets of the class)."""

    label: Any
    """The class (`class` in JSON)."""
    support: int
    precision: ValueChange
    recall: ValueChange
    f1: ValueChange
    predicted: ValueChange | None = None
    """How many examples each model assigned to the class."""


@dataclass
class ConfusionMatrices:
    """Rows are true classes, columns predicted classes, in the order of `labels`."""

    labels: list[Any]
    base: list[list[int]]
    head: list[list[int]]


@dataclass
class ChangedExample:
    id: Any
    target: Any
    base: Any
    head: Any
    base_error: float | None = None
    """Regression: |base - target|."""
    head_error: float | None = None
    features: dict[str, Any] = field(default_factory=dict)
    """The example's columns from `predictions.join`."""


@dataclass
class ChangedPredictions:
    """Classification: `fixed` = base wrong, head right; `broken` = base right, head wrong.
    Regression: examples whose absolute error shrank (`fixed`) or grew (`broken`)."""

    fixed: int
    broken: int
    examples: list[ChangedExample] = field(default_factory=list)
    """The first broken examples (regression: those whose absolute error grew most)."""
    both_wrong: int | None = None
    """Classification: examples both models get wrong (of which `changed_wrong` differ)."""
    changed_wrong: int | None = None


@dataclass
class SliceChange:
    column: str
    value: Any
    support: int
    metrics: dict[str, ValueChange]
    grouped: list[Any] | None = None
    """For the `(other)` slice of a column: the values under `min_support` grouped into it."""


@dataclass
class ModelDiff:
    task: ModelTask
    base: str
    """Where the base predictions came from (a file, `file at REV`, an MLflow run)."""
    head: str
    examples: Examples
    metrics: dict[str, ValueChange] = field(default_factory=dict)
    per_class: list[ClassChange] = field(default_factory=list)
    confusion_matrix: ConfusionMatrices | None = None
    changed: ChangedPredictions | None = None
    slices: list[SliceChange] = field(default_factory=list)
    positive: Any = None
    """Binary: the positive class of precision, recall, F1 and ROC AUC."""
    confidence: float | None = None
    """Confidence level of the intervals in `metrics` (None when not computed)."""
    resamples: int | None = None
    seed: int | None = None
    min_support: int | None = None
    notes: list[str] = field(default_factory=list)
    """What a reader should know: slices grouped, metrics left out and why."""
    aliases: dict[str, str] = field(default_factory=dict)
    """Metrics of the metric files that are the model diff's under another name
    (`test_accuracy` -> `accuracy`): the metrics table shows their paired interval."""


def model_diff_to_dict(model: ModelDiff) -> dict[str, Any]:
    """The JSON shape: `per_class[].class` for the label, the rest as the dataclasses read."""
    data = asdict(model)
    data["per_class"] = [{"class": row.pop("label"), **row} for row in data["per_class"]]
    return data
