"""Base-branch history: which store keeps the records (a data branch, or MLflow), a record built
from a commit's metrics, the trend of the last base-branch commits, and the nearest recorded
ancestor of a commit (the history baseline). docs/history.md describes the format."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mlci import __version__
from mlci.config_file import ConfigFile
from mlci.errors import HistoryError
from mlci.sources.git import Git, base_branch
from mlci.sources.history import (
    DataBranch,
    HistoryRecord,
    RecordedMetric,
    RecordedParam,
    check_report_id,
    first_parent_commits,
)
from mlci.sources.metric_files import Scalar

if TYPE_CHECKING:
    from mlci.config import Gate, History
    from mlci.integrations.mlflow_history import MlflowHistory
    from mlci.report.model import HistoryTrend

Direction = str | None


class HistoryStore(Protocol):
    """Where the records live: the data branch (sources/history.py) or MLflow
    (integrations/mlflow_history.py)."""

    @property
    def label(self) -> str: ...

    def recorded(self, report_id: str) -> set[str]:
        """The commits that have a record."""
        ...

    def read(self, report_id: str, commits: Iterable[str]) -> dict[str, HistoryRecord]:
        """The records of those of `commits` that have one."""
        ...


def history_settings(config: ConfigFile) -> History:
    from mlci.config import History

    settings = config.config.history if config.explicit else None
    return settings or History()


def store_kind(config: ConfigFile, env: Mapping[str, str]) -> str:
    """`branch` or `mlflow`: `history.store`, where `auto` means MLflow when a tracking URI is
    configured."""
    kind = history_settings(config).store
    if kind == "auto":
        configured = config.explicit and config.config.mlflow.tracking_uri
        kind = "mlflow" if configured or env.get("MLFLOW_TRACKING_URI") else "branch"
    return kind


def open_history(
    config: ConfigFile, env: Mapping[str, str], git: Git
) -> DataBranch | MlflowHistory:
    """The store `history:` of mlci.yaml names."""
    settings = history_settings(config)
    if store_kind(config, env) == "mlflow":
        from mlci.integrations.mlflow import experiment_for, tracking_uri_for
        from mlci.integrations.mlflow_history import MlflowHistory

        return MlflowHistory(
            uri=tracking_uri_for(config, env, git),
            experiment=settings.experiment or experiment_for(config, env, git),
        )
    return DataBranch(
        git,
        branch=settings.branch,
        remote=settings.remote,
        token=env.get("GITHUB_TOKEN") or None,
        refresh=env.get("GITHUB_ACTIONS") == "true",
    )


# --- building a record -------------------------------------------------------------------------


@dataclass(frozen=True)
class CommitValues:
    """What a record is made of: a commit's metrics and params, flat, with directions."""

    metrics: list[tuple[str, str, Any, Direction]]
    """(file, name, value, direction); values that are not numbers are left out."""
    params: list[tuple[str, str, Scalar | None]]


def is_gated(gates: Iterable[Gate], path: str, name: str) -> bool:
    return any(gate.metric == name and gate.path in (None, path) for gate in gates)


def build_record(
    *,
    commit: str,
    parents: Iterable[str],
    report_id: str,
    values: CommitValues,
    gated: Callable[[str, str], bool],
    now: float | None = None,
) -> HistoryRecord:
    """A record of `commit`: its numeric metrics (the gated ones marked) and params."""
    metrics = []
    for path, name, value, direction in values.metrics:
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue  # text metrics are not charted or compared
        number = float(value) if math.isfinite(value) else None
        metrics.append(
            RecordedMetric(
                path=path,
                name=name,
                value=number,
                direction=direction if direction in ("higher", "lower") else None,  # type: ignore[arg-type]
                gated=gated(path, name),
            )
        )
    params = [
        RecordedParam(path=path, name=name, value=value)
        for path, name, value in values.params
        if not (isinstance(value, float) and not math.isfinite(value))
    ]
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if now is None else now))
    return HistoryRecord(
        commit=commit,
        parents=tuple(parents),
        recorded_at=stamp,
        report_id=check_report_id(report_id),
        metrics=tuple(metrics),
        params=tuple(params),
        mlci_version=__version__,
    )


def values_from_report(path: Path) -> tuple[CommitValues, str]:
    """The head's metrics and params of a JSON report of `mlci check` (-o report.json), and
    its report id."""
    from mlci.errors import InputFileError

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputFileError(
            "report not found", path=path, hint="write it with `mlci check -o report.json`"
        ) from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise InputFileError(
            f"not a JSON report of mlci check ({str(error).splitlines()[0][:80]})", path=path
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("schema_version"), int):
        raise InputFileError("not a JSON report of `mlci check --format json`", path=path)
    diff = data.get("diff")
    if data.get("projects"):
        raise InputFileError(
            "the report holds several projects (mlci check --all): the history records one "
            "project per report",
            path=path,
            hint="run `mlci history record` in each project's directory",
        )
    if not isinstance(diff, dict) or not isinstance(diff.get("metrics"), list):
        raise InputFileError(
            "the report holds no metrics (mlci check found no metrics files)",
            path=path,
            hint="list the metrics files under `metrics: files:` in mlci.yaml",
        )
    report_id = data.get("report_id")
    metrics = []
    for row in diff["metrics"]:
        if not isinstance(row, dict) or row.get("verdict") == "removed":
            continue
        file, name, new = row.get("path"), row.get("name"), row.get("new")
        if not isinstance(file, str) or not isinstance(name, str):
            continue
        if new in ("NaN", "Infinity", "-Infinity"):
            new = math.nan
        metrics.append((file, name, new, row.get("direction")))
    params = []
    for row in diff.get("params") or []:
        if isinstance(row, dict) and row.get("verdict") != "removed":
            file, name, new = row.get("path"), row.get("name"), row.get("new")
            scalar = new is None or isinstance(new, str | int | float | bool)
            if isinstance(file, str) and isinstance(name, str) and scalar:
                params.append((file, name, new))
    return CommitValues(metrics=metrics, params=params), (
        report_id if isinstance(report_id, str) else "default"
    )


def commit_and_parents(git: Git, rev: str) -> tuple[str, list[str]]:
    sha = git.resolve(rev)
    line = git.run("rev-list", "--parents", "-n", "1", sha, "--").decode().split()
    return sha, line[1:]


def write_record(store: DataBranch | MlflowHistory, record: HistoryRecord) -> str:
    """Write the record; the sentence saying where it went."""
    short = record.commit[:12]
    if isinstance(store, DataBranch):
        result = store.write(record)
        if not result.changed:
            return f"mlci history: {short} was already recorded on {store.label}"
        tries = (
            f" (after {result.attempts} attempts: other pushes won)" if result.attempts > 1 else ""
        )
        return f"mlci history: recorded {short} on {store.label} at {result.commit[:12]}{tries}"
    run_id = store.write(record)
    return f"mlci history: recorded {short} as MLflow run {run_id} in the {store.label}"


# --- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedAncestor:
    record: HistoryRecord
    distance: int
    """First-parent commits between the asked commit and the recorded one (0: itself)."""


def nearest_record(
    store: HistoryStore, git: Git, start: str, report_id: str, search: int
) -> RecordedAncestor | None:
    """The record of `start`, else of its nearest first-parent ancestor that has one."""
    recorded = store.recorded(report_id)
    if not recorded:
        return None
    for distance, sha in enumerate(first_parent_commits(git, start, search)):
        if sha in recorded:
            found = store.read(report_id, [sha])
            if sha in found:
                return RecordedAncestor(found[sha], distance)
    return None


def trend_records(
    store: HistoryStore, git: Git, tip: str, report_id: str, count: int, search: int
) -> list[HistoryRecord]:
    """The records of the last `count` recorded first-parent commits up to `tip`, oldest first."""
    recorded = store.recorded(report_id)
    if not recorded:
        return []
    chosen = [sha for sha in first_parent_commits(git, tip, search) if sha in recorded][:count]
    found = store.read(report_id, chosen)
    return [found[sha] for sha in reversed(chosen) if sha in found]


def base_branch_tip(config: ConfigFile, env: Mapping[str, str], git: Git) -> str:
    """The base branch's name as a revision (`origin/main`), or HistoryError."""
    settings = config.config.baseline if config.explicit else None
    from mlci.config_file import DEFAULT_REMOTE

    found = base_branch(
        git,
        branch=settings.branch if settings else None,
        remote=settings.remote if settings else DEFAULT_REMOTE,
        env=env,
    )
    if found is None:
        raise HistoryError(
            "no base branch found to read the history of",
            hint="fetch it, set `baseline.branch` in mlci.yaml, or pass --rev REV",
        )
    return found


def history_listing(
    config: ConfigFile,
    env: Mapping[str, str],
    git: Git,
    *,
    count: int,
    rev: str | None,
    fetch: bool = False,
) -> HistoryTrend:
    """`mlci history`: the gated metrics of the last `count` recorded commits of the base
    branch (or of `rev`), oldest first; `fetch` refreshes the data branch first."""
    from mlci.report.model import HistoryTrend, TrendMetric, TrendPoint

    settings = history_settings(config)
    store = open_history(config, env, git)
    if fetch and isinstance(store, DataBranch):
        store.fetch()
    tip = rev or base_branch_tip(config, env, git)
    records = trend_records(
        store, git, tip, config.config.report.id, count, max(settings.search, count)
    )
    metrics: list[TrendMetric] = []
    for record in reversed(records):  # the newest record's gates first
        for metric in record.gated():
            if not any(m.path == metric.path and m.name == metric.name for m in metrics):
                metrics.append(TrendMetric(metric.path, metric.name, metric.direction))
    trend = HistoryTrend(source=store.label, metrics=metrics)
    for record in records:
        values = [record.value(m.path, m.name) for m in metrics]
        trend.points.append(TrendPoint(record.commit, record.recorded_at, values))
    if not records:
        trend.note = f"no commit of {tip} is recorded in {store.label}"
    return trend
