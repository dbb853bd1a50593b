"""Base-branch history records kept in MLflow: one finished run per commit, tagged with the commit
(`mlflow.source.git.commit`) and the report id, its metrics logged as run metrics (so the MLflow
UI charts them) and the record itself as the artifact `mlci-history/record.json`, read back with
the same strict parser as the data branch's files."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from mlci import __version__
from mlci.integrations.mlflow import (
    COMMIT_TAG,
    VERSION_TAG,
    Run,
    Tracking,
    mlflow_key,
    open_tracking,
)
from mlci.sources.history import (
    HISTORY_SCHEMA_VERSION,
    SHA,
    HistoryRecord,
    parse_record,
    record_to_json,
)

REPORT_TAG = "mlci.history.report_id"
PARENTS_TAG = "mlci.history.parents"
SCHEMA_TAG = "mlci.history.schema_version"
RECORD_DIR = "mlci-history"
RECORD_FILE = "record.json"
SEARCHED = 1_000
"""Runs of one report id searched, newest first: the records a trend or a baseline can reach."""


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


@dataclass
class MlflowHistory:
    """The records of one experiment on one tracking server."""

    uri: str
    experiment: str

    @property
    def label(self) -> str:
        from mlci.integrations.mlflow import display_uri

        return f"MLflow experiment {self.experiment!r} at {display_uri(self.uri)}"

    def write(self, record: HistoryRecord) -> str:
        """Log the record as a finished run; returns the run id."""
        metrics: dict[str, float] = {}
        owners = [m.name for m in record.metrics]
        for metric in record.metrics:
            if metric.value is None:
                continue
            name = metric.name if owners.count(metric.name) == 1 else f"{metric.path}/{metric.name}"
            metrics[mlflow_key(name)] = metric.value
        tags = {
            COMMIT_TAG: record.commit,
            REPORT_TAG: record.report_id,
            PARENTS_TAG: ",".join(record.parents),
            SCHEMA_TAG: str(HISTORY_SCHEMA_VERSION),
            VERSION_TAG: __version__,
        }
        with tempfile.TemporaryDirectory(prefix="mlci-history-") as directory:
            file = Path(directory) / RECORD_FILE
            file.write_bytes(record_to_json(record))
            with open_tracking(self.uri) as tracking:
                logged = tracking.log_run(
                    experiment=self.experiment,
                    run_name=f"history {record.commit[:12]}",
                    metrics=metrics,
                    params={},
                    tags=tags,
                    artifacts=[(file, RECORD_DIR)],
                )
        return logged.run_id

    def delete(self, run_id: str) -> None:
        """Mark a run this store logged deleted (MLflow keeps it, out of every search)."""
        with open_tracking(self.uri) as tracking:
            tracking.delete_run(run_id)

    def recorded(self, report_id: str) -> set[str]:
        with open_tracking(self.uri) as tracking:
            return {run.commit for run in self._runs(tracking, report_id) if run.commit}

    def read(self, report_id: str, commits: Iterable[str]) -> dict[str, HistoryRecord]:
        wanted = {sha for sha in commits if SHA.fullmatch(sha)}
        found: dict[str, HistoryRecord] = {}
        with open_tracking(self.uri) as tracking:
            newest: dict[str, str] = {}
            for run in self._runs(tracking, report_id):  # newest first: a re-run wins
                if run.commit in wanted and run.commit not in newest:
                    newest[run.commit] = run.run_id
            with tempfile.TemporaryDirectory(prefix="mlci-history-") as directory:
                for commit, run_id in newest.items():
                    local = tracking.download_artifact(
                        run_id, f"{RECORD_DIR}/{RECORD_FILE}", Path(directory) / run_id
                    )
                    where = f"{RECORD_DIR}/{RECORD_FILE} of MLflow run {run_id[:12]}"
                    record = parse_record(local.read_bytes()[:2_000_001], where)
                    if record.commit == commit:
                        found[commit] = record
        return found

    def _runs(self, tracking: Tracking, report_id: str) -> list[Run]:
        experiment_id = tracking.experiment_id(self.experiment, create=False)
        if experiment_id is None:
            return []
        return tracking.search_runs(
            [experiment_id], f"tags.`{REPORT_TAG}` = '{_quote(report_id)}'", max_results=SEARCHED
        )
