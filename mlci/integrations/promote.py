"""Promotion in the MLflow registry with aliases and tags (no stages): move an alias such as
`champion` to a run's model version when the gates pass, remember who held it, roll it back."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from mlci.integrations.mlflow import (
    MODEL_DIR,
    MlflowError,
    ModelVersion,
    Run,
    Tracking,
)
from mlci.report.model import GateResult

if TYPE_CHECKING:
    pass

GateCheck = Callable[[Run, Run | None], list[GateResult]]
"""Evaluates the gates: (the candidate's run, the current holder's run or None)."""

Action = Literal["promoted", "unchanged", "refused", "rolled back"]
HISTORY_LIMIT = 50


def previous_tag(alias: str) -> str:
    """Registered-model tag naming the version that held `alias` before the current holder."""
    return f"mlci.alias.{alias}.previous"


def history_tag(alias: str) -> str:
    """Registered-model tag with every earlier holder of `alias` (a JSON list, oldest first)."""
    return f"mlci.alias.{alias}.history"


@dataclass
class Promotion:
    """What `mlci promote` did (the JSON of `mlci promote --format json`)."""

    model: str
    alias: str
    action: Action
    version: str | None
    """The version holding the alias afterwards (for `refused`: the candidate, if registered)."""
    previous: str | None
    """The version that held the alias before."""
    run_id: str | None = None
    registered: bool = False
    """A new model version was created from the run."""
    forced: bool = False
    """Promoted although a gate failed (`--force`)."""
    tracking_uri: str | None = None
    gates: list[GateResult] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.action == "refused" else 0


def promote(
    tracking: Tracking,
    *,
    model: str,
    alias: str,
    run_id: str | None = None,
    version: str | None = None,
    gate_check: GateCheck | None = None,
    force: bool = False,
    artifact_path: str = MODEL_DIR,
) -> Promotion:
    """Point `alias` of registered model `model` at `version`, or at the version registered from
    `run_id` (registering it when the run has none yet). Refuses (action `refused`) when an
    error-severity gate fails, unless `force`."""
    if (run_id is None) == (version is None):
        raise MlflowError("promote needs exactly one of a run id or a model version")
    exists = tracking.registered_model_exists(model)
    candidate: ModelVersion | None = None
    if version is not None:
        candidate = tracking.model_version(model, version)
        if candidate.run_id is None:
            raise MlflowError(
                f"version {version} of {model!r} has no run, so its metrics are unknown",
                hint="register versions from runs (`mlci promote --run RUN_ID`)",
            )
        run = tracking.get_run(candidate.run_id)
    else:
        assert run_id is not None
        run = tracking.get_run(run_id)
        if exists:
            registered = tracking.versions_of_run(model, run.run_id)
            candidate = registered[-1] if registered else None
    holder = tracking.version_by_alias(model, alias) if exists else None
    result = Promotion(
        model=model,
        alias=alias,
        action="promoted",
        version=candidate.version if candidate else None,
        previous=holder.version if holder else None,
        run_id=run.run_id,
        forced=False,
        tracking_uri=tracking.shown_uri,
    )
    if holder is not None and candidate is not None and holder.version == candidate.version:
        result.action = "unchanged"
        return result
    if gate_check is not None:
        held = None
        if holder is not None and holder.run_id is not None:
            held = tracking.get_run(holder.run_id)
        result.gates = gate_check(run, held)
        failed = [
            gate for gate in result.gates if gate.status == "failed" and gate.severity == "error"
        ]
        if failed and not force:
            result.action = "refused"
            return result
        result.forced = bool(failed)
    if candidate is None:
        if not exists:
            tracking.create_registered_model(model)
        candidate = _register(tracking, model, run, artifact_path)
        result.registered = True
        result.version = candidate.version
    tracking.set_alias(model, alias, candidate.version)
    _record_holder(tracking, model, alias, previous=result.previous)
    if result.previous is not None:
        tracking.set_version_tag(
            model, candidate.version, f"mlci.{alias}.previous", result.previous
        )
    if result.forced:
        tracking.set_version_tag(model, candidate.version, "mlci.forced", "true")
    return result


def rollback(tracking: Tracking, *, model: str, alias: str) -> Promotion:
    """Move `alias` back to the version that held it before the current one (as recorded by
    `promote`), and forget that step of the history."""
    tags = tracking.model_tags(model)  # raises "registered model not found"
    holder = tracking.version_by_alias(model, alias)
    if holder is None:
        raise MlflowError(
            f"registered model {model!r} has no alias {alias!r} at {tracking.shown_uri}"
        )
    history = _history(tags, alias)
    if not history:
        raise MlflowError(
            f"no earlier holder of {model}@{alias} is recorded at {tracking.shown_uri}",
            hint="mlci records one when `mlci promote` moves the alias; "
            "to pick a version yourself, run `mlci promote --version N`",
        )
    target = history.pop()
    restored = tracking.model_version(model, target)  # fails clearly if it was deleted
    tracking.set_alias(model, alias, target)
    _write_history(tracking, model, alias, history)
    tracking.set_version_tag(model, holder.version, f"mlci.{alias}.rolled_back", "true")
    return Promotion(
        model=model,
        alias=alias,
        action="rolled back",
        version=target,
        previous=holder.version,
        run_id=restored.run_id,
        tracking_uri=tracking.shown_uri,
    )


def _register(tracking: Tracking, model: str, run: Run, artifact_path: str) -> ModelVersion:
    """A new version from the run: its MLflow 3 logged model if it has one, else its
    `artifact_path` directory (the `model/` mlci logs), else all of its artifacts."""
    logged = tracking.logged_model_of_run(run.experiment_id, run.run_id)
    if logged is not None:
        source, model_id = logged
        return tracking.create_model_version(model, source, run.run_id, model_id=model_id)
    listed = tracking.list_artifacts(run.run_id)
    source = run.artifact_uri
    if artifact_path.strip("/") in listed:
        source = f"{run.artifact_uri.rstrip('/')}/{artifact_path.strip('/')}"
    return tracking.create_model_version(model, source, run.run_id)


def _history(tags: dict[str, str], alias: str) -> list[str]:
    raw = tags.get(history_tag(alias))
    if raw is None:
        previous = tags.get(previous_tag(alias))
        return [previous] if previous else []
    try:
        value = json.loads(raw)
    except ValueError:
        return []
    return [str(item) for item in value] if isinstance(value, list) else []


def _record_holder(tracking: Tracking, model: str, alias: str, *, previous: str | None) -> None:
    if previous is None:
        return
    history = _history(tracking.model_tags(model), alias)
    history.append(previous)
    _write_history(tracking, model, alias, history[-HISTORY_LIMIT:])


def _write_history(tracking: Tracking, model: str, alias: str, history: Sequence[str]) -> None:
    if history:
        tracking.set_model_tag(model, history_tag(alias), json.dumps(list(history)))
        tracking.set_model_tag(model, previous_tag(alias), history[-1])
    else:
        tracking.delete_model_tag(model, history_tag(alias))
        tracking.delete_model_tag(model, previous_tag(alias))
