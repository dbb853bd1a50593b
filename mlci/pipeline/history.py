"""Base-branch history: which store keeps the records (a data branch, or MLflow), a record built
from a commit's metrics, the trend of the last base-branch commits, and the nearest recorded
ancestor of a commit (the history baseline). docs/history.md describes the format."""

from __future__ import annotations

import contextlib
import functools
import json
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mlci import __version__
from mlci.config_file import ConfigFile
from mlci.errors import HistoryError, InputFileError
from mlci.sources.git import Git, base_branch
from mlci.sources.history import (
    SHA,
    DataBranch,
    HistoryRecord,
    RecordedMetric,
    RecordedParam,
    WriteResult,
    check_report_id,
    first_parent_commits,
    same_record,
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


def history_id(config: ConfigFile) -> str:
    """The name a check's records go under (`<id>/<commit>.json` on the data branch, a tag in
    MLflow): `report.id`; for a project of a repository of several (a directory below a root
    mlci.yaml that lists it under `projects:`, or lists none) that leaves `report.id` at its
    default, the project's path (`models/churn` -> `models-churn`), so that projects never share
    records, whether they are checked with `mlci check --all` or in their own directory."""
    report_id = config.config.report.id if config.explicit else "default"
    if report_id != "default" or config.path is None:
        return report_id
    project = project_path(config.path.parent)
    return project_history_id(project) if project else report_id


def project_path(directory: Path) -> str | None:
    """`directory` relative to the nearest mlci.yaml above it (up to the repository's top)
    when that one makes it a project: lists it under `projects:`, or lists no projects."""
    from mlci.config import load_config
    from mlci.config_file import find_config

    directory = directory.resolve()
    if (directory / ".git").exists() or directory.parent == directory:
        return None
    above = find_config(directory.parent)
    if above is None:
        return None
    relative = directory.relative_to(above.parent.resolve()).as_posix()
    listed = [Path(name).as_posix().rstrip("/") for name in load_config(above).config.projects]
    return relative if not listed or relative in listed else None


def project_history_id(path: str) -> str:
    """A project's path as a report id: letters, digits, '_', '.', '-' (others become '-')."""
    name = re.sub(r"[^A-Za-z0-9_.\-]", "-", path.strip("/")) or "default"
    return name if len(name) <= 64 else name[-64:]


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


@dataclass(frozen=True)
class ReportPart:
    """The metrics of one check in a JSON report: the report's own, or one project's."""

    values: CommitValues
    project: str | None = None
    """The project's path (a report of `mlci check --all`); None for a report of one check."""


@dataclass(frozen=True)
class ReportValues:
    path: Path
    """The report's file."""
    parts: list[ReportPart]
    skipped: list[str]
    """Why projects of the report have nothing to record (`ltv: not run (unchanged)`)."""
    head_sha: str | None = None
    """The commit the report was made at, when it says."""
    failed: list[str] = field(default_factory=list)
    """Projects whose check did not run because of an error, with it (`ltv: mlci.yaml:1: ...`):
    the others are recorded, then the command exits 2 naming the report."""

    def check_commit(self, commit: str, rev: str) -> None:
        """Refuse to record the report as `commit` when it says it was made at another one."""
        if self.head_sha is not None and self.head_sha != commit:
            raise HistoryError(
                f"{self.path} is the report of commit {self.head_sha[:12]}, not of "
                f"{commit[:12]} ({rev})",
                hint=f"record it as its own commit with --commit {self.head_sha[:12]}, or "
                "run `mlci check -o` again at this commit",
            )


def values_from_report(path: Path, *, lists_projects: bool = False) -> ReportValues:
    """The head's metrics and params of a JSON report of `mlci check` (-o report.json): one
    part, or one per project that ran with metrics (`mlci check --all`). `lists_projects`: the
    config lists `projects:` (a report without them was not made with --all)."""
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
    partial = data.get("partial")
    if partial is not None:
        parts = partial.get("parts") if isinstance(partial, dict) else None
        held = ", ".join(p for p in parts if isinstance(p, str)) if isinstance(parts, list) else ""
        raise InputFileError(
            f"the report holds only some parts of the check ({held[:200] or '?'}: "
            "`mlci check --only/--skip`), so it would record some projects or metrics of this "
            "commit and not the others",
            path=path,
            hint="merge the parts' reports with `mlci report merge` and record the merged one",
        )
    projects = data.get("projects")
    if not projects:
        values = _report_values(data)
        if values is None and lists_projects:
            raise InputFileError(
                "the report holds no metrics and no projects, and mlci.yaml lists projects",
                path=path,
                hint="record the report of `mlci check --all` (deploy-on-merge.yml: `args: --all`)",
            )
        if values is None:
            raise InputFileError(
                "the report holds no metrics (mlci check found no metrics files)",
                path=path,
                hint="list the metrics files under `metrics: files:` in mlci.yaml",
            )
        return ReportValues(path, [ReportPart(values)], skipped=[], head_sha=_head_sha(data))
    if not isinstance(projects, list):
        raise InputFileError("not a JSON report of `mlci check --format json`", path=path)
    parts, skipped, failed = [], [], []
    for project in projects:
        name = project.get("path") if isinstance(project, dict) else None
        if not isinstance(name, str) or not name:
            raise InputFileError("a project of the report has no path", path=path)
        report = project.get("report")
        values = _report_values(report) if isinstance(report, dict) else None
        if values is not None:
            parts.append(ReportPart(values, project=name))
            continue
        status, reason = project.get("status"), project.get("reason")
        if isinstance(report, dict):
            skipped.append(f"{name}: no metrics in its report")
        elif status == "unchanged":  # --changed: its last record still holds
            skipped.append(f"{name}: not run (unchanged)")
        else:
            why = " ".join(reason.split())[:200] if isinstance(reason, str) else "no report"
            failed.append(f"{name}: its check did not run ({why})")
    if not parts and not failed:
        raise InputFileError(
            "no project of the report has metrics to record (" + "; ".join(skipped)[:300] + ")",
            path=path,
            hint="record the report of `mlci check --all` (not --changed), with metrics files "
            "under `metrics: files:` in each project's mlci.yaml",
        )
    return ReportValues(path, parts, skipped, head_sha=_head_sha(data), failed=failed)


def not_run_error(found: ReportValues, *, recorded: bool) -> InputFileError:
    """The exit-2 error for the projects of a report whose check did not run."""
    what = "; ".join(found.failed)
    return InputFileError(
        f"not recorded: {what if len(what) <= 400 else what[:399] + '…'}",
        path=found.path,
        hint="fix what the check says and run `mlci check --all` again; "
        + ("the report's other projects were recorded" if recorded else "nothing was recorded"),
    )


def _head_sha(data: Mapping[str, Any]) -> str | None:
    sha = data.get("head_sha")
    return sha if isinstance(sha, str) and SHA.fullmatch(sha) else None


def _report_values(data: Mapping[str, Any]) -> CommitValues | None:
    """The head's metrics and params of one check's report; None when it has no metrics."""
    diff = data.get("diff")
    if not isinstance(diff, dict) or not isinstance(diff.get("metrics"), list):
        return None
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
    return CommitValues(metrics=metrics, params=params)


def commit_and_parents(git: Git, rev: str) -> tuple[str, list[str]]:
    sha = git.resolve(rev)
    line = git.run("rev-list", "--parents", "-n", "1", sha, "--").decode().split()
    return sha, line[1:]


@dataclass(frozen=True)
class ProjectRecord:
    """A record to write, with the config whose `history:` says where it goes."""

    config: ConfigFile
    record: HistoryRecord
    project: str | None = None


def project_records(
    root: ConfigFile,
    parts: Iterable[ReportPart],
    *,
    commit: str,
    parents: Iterable[str],
    now: float | None = None,
    report: Path | None = None,
) -> list[ProjectRecord]:
    """One record per part of a report: the report's under `root`'s history id, or each
    project's under its own (its mlci.yaml's gates mark the gated metrics). `report`: the
    report's file, which errors name."""
    from mlci.config import load_config

    parents = list(parents)
    parts = list(parts)
    configs: dict[str | None, Path | None] = {
        part.project: _project_config(root, part.project)
        for part in parts
        if part.project is not None
    }
    missing = [name for name, found in configs.items() if found is None]
    if missing:
        raise HistoryError(
            f"the report's project {missing[0]!r} has no mlci.yaml under "
            f"{root.root if root.path else 'this directory'}",
            hint="record a report of `mlci check --all` where it ran (with the root mlci.yaml)",
            path=report,
        )
    chosen: list[ProjectRecord] = []
    for part in parts:
        found = configs.get(part.project)
        config = root if found is None else load_config(found)
        gates = config.config.gates if config.explicit else []
        record = build_record(
            commit=commit,
            parents=parents,
            report_id=history_id(config),
            values=part.values,
            gated=functools.partial(is_gated, gates),
            now=now,
        )
        chosen.append(ProjectRecord(config, record, part.project))
    ids: dict[str, str] = {}
    for item in chosen:
        name = item.project or "."
        if item.record.report_id in ids:
            raise HistoryError(
                f"projects {ids[item.record.report_id]} and {name} both record under the "
                f"report id {item.record.report_id!r}",
                hint="give each project its own `report.id` in its mlci.yaml (it names the "
                "project's records)",
            )
        ids[item.record.report_id] = name
    return chosen


def _project_config(root: ConfigFile, project: str) -> Path | None:
    """The mlci.yaml of the project at `project` (relative to the root config's directory, as
    `mlci check --all` names it), or None."""
    from mlci.config_file import config_in

    relative = Path(project)
    if root.path is None or relative.is_absolute() or ".." in relative.parts:
        return None
    return config_in(root.root / relative)


def write_records(records: Sequence[ProjectRecord], env: Mapping[str, str], git: Git) -> list[str]:
    """Write the records where each one's config says: one commit and one push per data
    branch, one MLflow run per record; the sentences saying where they went. All or nothing:
    when a write fails, the MLflow runs already logged are deleted again (data branches are
    written last, each in one push)."""
    logged: list[tuple[MlflowHistory, str]] = []
    try:
        return _write_records(records, env, git, logged)
    except Exception:
        for store, run_id in logged:
            # A server that fails here too is the error raised below, which says what to do.
            with contextlib.suppress(Exception):
                store.delete(run_id)
        raise


def _write_records(
    records: Sequence[ProjectRecord],
    env: Mapping[str, str],
    git: Git,
    logged: list[tuple[MlflowHistory, str]],
) -> list[str]:
    branches: dict[tuple[str, str], tuple[DataBranch, list[HistoryRecord]]] = {}
    said = []
    for item in records:
        store = open_history(item.config, env, git)
        if isinstance(store, DataBranch):
            key = (store.remote, store.branch)
            branches.setdefault(key, (store, []))[1].append(item.record)
            continue
        record = item.record
        if (existing := store.read(record.report_id, [record.commit]).get(record.commit)) and (
            same_record(existing, record)
        ):  # a re-run: a second run with the same metrics would only clutter the experiment
            said.append(
                f"mlci history: {record.commit[:12]}{_of(item)} was already recorded in the "
                f"{store.label}"
            )
            continue
        run_id = store.write(record)
        logged.append((store, run_id))
        said.append(
            f"mlci history: recorded {item.record.commit[:12]}{_of(item)} as MLflow run "
            f"{run_id} in the {store.label}"
        )
    for branch, written in branches.values():
        said.append(_branch_sentence(branch, written, branch.write_all(written)))
    return said


def _of(item: ProjectRecord) -> str:
    return f" of {item.project} ({item.record.report_id})" if item.project else ""


def _branch_sentence(store: DataBranch, records: list[HistoryRecord], result: WriteResult) -> str:
    short = records[0].commit[:12]
    what = short
    if len(records) > 1 or records[0].report_id != "default":
        what = f"{short} ({', '.join(record.report_id for record in records)})"
    if not result.changed:
        return f"mlci history: {what} was already recorded on {store.label}"
    tries = f" (after {result.attempts} attempts: other pushes won)" if result.attempts > 1 else ""
    return f"mlci history: recorded {what} on {store.label} at {result.commit[:12]}{tries}"


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
    records = trend_records(store, git, tip, history_id(config), count, max(settings.search, count))
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
