"""The training lines of a report, in words shared by the text and markdown views."""

from __future__ import annotations

from mlci.report.model import TrainResult


def train_lines(train: TrainResult | None) -> list[str]:
    if train is None:
        return []
    short = train.inputs_hash[:12]
    if train.stale:
        lines = [
            f"training: the inputs changed since the last `mlci train` (inputs now {short}): "
            "the outputs may not be this head's"
        ]
    elif train.skipped:
        since = train.commit[:12] if train.commit else "an earlier run"
        how = "dvc repro ran no stage" if train.engine == "dvc" else "outputs restored from cache"
        lines = [f"training skipped: inputs unchanged since {since} ({how}, inputs {short})"]
    else:
        took = f" in {train.seconds:.1f} s" if train.seconds is not None else ""
        lines = [f"training ran{took} (inputs {short})"]
    if train.undeclared_imports:
        lines.append(
            "warning: the training script imports tracked files that train.inputs does not "
            f"cover, so changing them does not retrain: {', '.join(train.undeclared_imports)}"
        )
    return lines
