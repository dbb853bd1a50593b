"""The base-branch history: one record of metrics per base-branch commit, its JSON format, and
the data branch that keeps the records in git.

A record is one file, `<report id>/<commit>.json`, on a branch of its own (`mlci-history`, no
history shared with the code). One file per commit means two pushes recording at once never
touch the same file: the loser of the race fetches the new tip, adds its file to that tree and
pushes again (never a force push). Records are read as untrusted input: the parser is strict
and bounded, and names are text to escape wherever they are shown.
"""

from __future__ import annotations

import base64
import json
import math
import random
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from mlci.errors import GitError, HistoryError
from mlci.sources.git import Git

HISTORY_SCHEMA_VERSION = 1
"""Version of the record format: a reader refuses records of a newer one (and says so)."""
MAX_RECORD_BYTES = 1_000_000
MAX_ENTRIES = 5_000
MAX_TEXT = 500
SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_REPORT_ID = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
PUSH_ATTEMPTS = 8
README = """\
# mlci history

This branch is written by `mlci history record` (the deploy-on-merge workflow runs it on every
push to the base branch). Each file `<report id>/<commit>.json` holds the metrics of one
commit of the base branch: its sha, parents, when it was recorded, every numeric metric (the
gated ones with their direction) and the params. It shares no history with the code; do not
merge it. `mlci history` prints it; `baseline: {source: history}` compares pull requests with it.
"""

Direction = Literal["higher", "lower"]
ParamValue = str | int | float | bool | None


@dataclass(frozen=True)
class RecordedMetric:
    path: str
    """The metrics file, as the report names it (`metrics.json`)."""
    name: str
    value: float | None
    """None when the value was not a finite number (NaN, infinite)."""
    direction: Direction | None = None
    gated: bool = False
    """A gate of mlci.yaml names it: `mlci history` and the trend show these."""


@dataclass(frozen=True)
class RecordedParam:
    path: str
    name: str
    value: ParamValue


@dataclass(frozen=True)
class HistoryRecord:
    """The metrics of one base-branch commit."""

    commit: str
    parents: tuple[str, ...]
    recorded_at: str
    """When it was recorded, ISO 8601 in UTC (`2026-11-30T21:04:05Z`)."""
    report_id: str = "default"
    metrics: tuple[RecordedMetric, ...] = ()
    params: tuple[RecordedParam, ...] = ()
    mlci_version: str = ""
    schema_version: int = HISTORY_SCHEMA_VERSION

    def gated(self) -> list[RecordedMetric]:
        return [metric for metric in self.metrics if metric.gated]

    def value(self, path: str, name: str) -> float | None:
        for metric in self.metrics:
            if metric.path == path and metric.name == name:
                return metric.value
        return None


def same_record(one: HistoryRecord, other: HistoryRecord) -> bool:
    """The same record but for when it was written (a re-run of the same commit)."""
    same = ("commit", "parents", "report_id", "metrics", "params")
    return all(getattr(one, name) == getattr(other, name) for name in same)


def record_path(report_id: str, commit: str) -> str:
    """Where the record of `commit` lives on the data branch."""
    return f"{report_id}/{commit}.json"


def record_to_json(record: HistoryRecord) -> bytes:
    data = {
        "schema_version": record.schema_version,
        "commit": record.commit,
        "parents": list(record.parents),
        "recorded_at": record.recorded_at,
        "report_id": record.report_id,
        "mlci_version": record.mlci_version,
        "metrics": [
            {
                "path": m.path,
                "name": m.name,
                "value": m.value,
                "direction": m.direction,
                "gated": m.gated,
            }
            for m in record.metrics
        ],
        "params": [{"path": p.path, "name": p.name, "value": p.value} for p in record.params],
    }
    return (json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False) + "\n").encode()


# --- reading a record, strictly ---------------------------------------------------------------


def parse_record(data: bytes, where: str) -> HistoryRecord:
    """A record from its JSON, or HistoryError naming `where` and what is wrong with it."""

    def bad(what: str) -> HistoryError:
        return HistoryError(
            f"history record {where}: {what}",
            hint="it was not written by `mlci history record`: delete it from the data branch",
        )

    if len(data) > MAX_RECORD_BYTES:
        raise bad(f"larger than {MAX_RECORD_BYTES:,} bytes")
    try:
        raw = json.loads(data.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError) as error:
        raise bad(f"not valid JSON ({str(error).splitlines()[0][:80]})") from None
    if not isinstance(raw, dict):
        raise bad("not a JSON object")
    version = raw.get("schema_version")
    if type(version) is not int:
        raise bad("schema_version is missing")
    if version > HISTORY_SCHEMA_VERSION:
        raise HistoryError(
            f"history record {where} has schema version {version}, newer than this mlci's "
            f"{HISTORY_SCHEMA_VERSION}",
            hint="upgrade mlci (pip install -U mlci)",
        )
    commit = raw.get("commit")
    if not isinstance(commit, str) or not SHA.fullmatch(commit):
        raise bad("commit is not a full commit sha")
    parents = raw.get("parents")
    if not isinstance(parents, list) or len(parents) > 64:
        raise bad("parents is not a list of commit shas")
    for parent in parents:
        if not isinstance(parent, str) or not SHA.fullmatch(parent):
            raise bad("parents is not a list of commit shas")
    recorded_at = raw.get("recorded_at")
    if not isinstance(recorded_at, str) or not re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", recorded_at
    ):
        raise bad("recorded_at is not a UTC time like 2026-11-30T21:04:05Z")
    report_id = raw.get("report_id", "default")
    if not isinstance(report_id, str) or not _REPORT_ID.fullmatch(report_id):
        raise bad("report_id is not a report id")
    version_text = raw.get("mlci_version", "")
    if not isinstance(version_text, str) or len(version_text) > 64:
        raise bad("mlci_version is not a version")
    metrics = [_metric(item, bad) for item in _entries(raw.get("metrics", []), "metrics", bad)]
    params = [_param(item, bad) for item in _entries(raw.get("params", []), "params", bad)]
    return HistoryRecord(
        commit=commit,
        parents=tuple(parents),
        recorded_at=recorded_at,
        report_id=report_id,
        metrics=tuple(metrics),
        params=tuple(params),
        mlci_version=version_text,
        schema_version=version,
    )


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _entries(value: Any, key: str, bad: Callable[[str], HistoryError]) -> list[dict[str, Any]]:
    if not isinstance(value, list) or len(value) > MAX_ENTRIES:
        raise bad(f"{key} is not a list of at most {MAX_ENTRIES} entries")
    if not all(isinstance(item, dict) for item in value):
        raise bad(f"{key} holds something that is not an object")
    return value


def _text(item: dict[str, Any], key: str, bad: Callable[[str], HistoryError]) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT:
        raise bad(f"a {key} is not text of 1 to {MAX_TEXT} characters")
    return value


def _metric(item: dict[str, Any], bad: Callable[[str], HistoryError]) -> RecordedMetric:
    value = item.get("value")
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
    ):
        raise bad(f"metric {item.get('name')!r:.60} has a value that is not a number")
    direction = item.get("direction")
    if direction not in (None, "higher", "lower"):
        raise bad("a metric's direction is not higher, lower or null")
    gated = item.get("gated", False)
    if not isinstance(gated, bool):
        raise bad("a metric's gated is not true or false")
    return RecordedMetric(
        path=_text(item, "path", bad),
        name=_text(item, "name", bad),
        value=None if value is None else float(value),
        direction=direction,
        gated=gated,
    )


def _param(item: dict[str, Any], bad: Callable[[str], HistoryError]) -> RecordedParam:
    value = item.get("value")
    if isinstance(value, float) and not math.isfinite(value):
        raise bad("a param's value is not finite")
    if isinstance(value, str) and len(value) > MAX_TEXT:
        raise bad(f"a param's value is longer than {MAX_TEXT} characters")
    if value is not None and not isinstance(value, str | int | float | bool):
        raise bad("a param's value is not a string, number, boolean or null")
    return RecordedParam(path=_text(item, "path", bad), name=_text(item, "name", bad), value=value)


# --- the data branch -----------------------------------------------------------------------------


def token_auth(remote_url: str, token: str | None) -> dict[str, str]:
    """Git configuration, as environment variables, that sends `token` to an https remote the
    way actions/checkout does (an `http.extraheader`): never in a URL or an argument."""
    parts = urlsplit(remote_url)
    if not token or parts.scheme != "https" or not parts.hostname:
        return {}
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"http.https://{parts.hostname}/.extraheader",
        "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {basic}",
    }


@dataclass
class WriteResult:
    commit: str
    """The data branch's new tip (or its unchanged tip, when the record was already there)."""
    attempts: int
    """Pushes it took: more than one when another push won a race."""
    changed: bool = True


@dataclass
class DataBranch:
    """The records on a branch of `remote`, read with git plumbing (nothing is checked out)."""

    git: Git
    branch: str = "mlci-history"
    remote: str = "origin"
    token: str | None = None
    """Sent to an https remote for fetch and push (GITHUB_TOKEN in a workflow)."""
    sleep: Callable[[float], None] = time.sleep
    refresh: bool = False
    """Fetch the branch before the first read even when a copy is there (in a workflow, where
    the checkout's copy may predate the last record); a failed fetch then falls back to it."""
    _fetched: bool = field(default=False, repr=False)
    _top: Git | None = field(default=None, repr=False)

    @property
    def top(self) -> Git:
        """Git at the repository's top level: run in a subdirectory (a project's), ls-tree
        would list only that directory and update-index would prefix its paths with it."""
        if self._top is None:
            self._top = Git(self.git.toplevel, self.git.executable)
        return self._top

    @property
    def tracking_ref(self) -> str:
        return f"refs/remotes/{self.remote}/{self.branch}"

    @property
    def label(self) -> str:
        return f"{self.remote}/{self.branch}"

    def _auth(self) -> dict[str, str]:
        if not self.token:
            return {}
        url = self.git.call("remote", "get-url", self.remote).stdout.decode().strip()
        return token_auth(url, self.token)

    def fetch(self) -> bool:
        """Fetch the branch into `refs/remotes/REMOTE/BRANCH`; False when the remote has none."""
        done = self.git.call(
            "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", self.remote,
            f"+refs/heads/{self.branch}:{self.tracking_ref}",
            env=self._auth(),
        )  # fmt: skip
        self._fetched = True
        if done.returncode == 0:
            return True
        message = done.stderr.decode(errors="replace")
        if "couldn't find remote ref" in message:
            return False
        raise HistoryError(
            f"cannot fetch the history branch {self.branch!r} from {self.remote!r}: "
            f"{git_failure(message)}",
            hint=f"check that the remote {self.remote!r} exists and can be read "
            "(`history.remote` in mlci.yaml)",
        )

    def ref(self, *, fetch: bool = True) -> str | None:
        """The branch to read: the remote-tracking copy, else a local branch, else fetched when
        it is absent locally; None when there is no history yet."""
        if fetch and self.refresh and not self._fetched:
            try:
                if self.fetch():
                    return self.tracking_ref
            except HistoryError:
                pass  # the copy at hand, if any
        for name in (self.tracking_ref, f"refs/heads/{self.branch}"):
            if self.git.exists(f"{name}^{{commit}}"):
                return name
        if fetch and not self._fetched and self.fetch():
            return self.tracking_ref
        return None

    def recorded(self, report_id: str) -> set[str]:
        """The commits that have a record of `report_id`."""
        ref = self.ref()
        if ref is None:
            return set()
        out = self.top.run("ls-tree", "--name-only", f"{ref}:{report_id}", check=False)
        names = out.decode(errors="replace").split("\n")
        return {name[:-5] for name in names if name.endswith(".json") and SHA.fullmatch(name[:-5])}

    def read(self, report_id: str, commits: Iterable[str]) -> dict[str, HistoryRecord]:
        """The records of those `commits` that have one."""
        ref = self.ref()
        if ref is None:
            return {}
        wanted = [record_path(report_id, sha) for sha in commits if SHA.fullmatch(sha)]
        found = {}
        for path, content in self.git.read_files(ref, wanted).items():
            if content is not None:
                record = parse_record(content, f"{self.branch}:{path}")
                if record.commit != Path(path).stem:
                    raise HistoryError(
                        f"history record {self.branch}:{path} holds commit {record.commit[:12]}",
                        hint="it was not written by `mlci history record`: delete it",
                    )
                found[record.commit] = record
        return found

    def write(self, record: HistoryRecord, attempts: int = PUSH_ATTEMPTS) -> WriteResult:
        """Add (or replace) the record's file on the branch and push (see `write_all`)."""
        return self.write_all([record], attempts)

    def write_all(
        self, records: Sequence[HistoryRecord], attempts: int = PUSH_ATTEMPTS
    ) -> WriteResult:
        """Add (or replace) the records' files on the branch in one commit and push it: fetch
        the tip, build a commit on it, push without force; when another push got there first,
        again. A record the tip already holds (but for when it was written) is left as it is."""
        paths = [record_path(record.report_id, record.commit) for record in records]
        if len(set(paths)) != len(paths):
            raise HistoryError(
                "two records of one commit have the same report id: "
                + ", ".join(sorted({p for p in paths if paths.count(p) > 1})),
                hint="give each project its own `report.id` in its mlci.yaml",
            )
        blobs = {
            path: self.git.run("hash-object", "-w", "--stdin", input=record_to_json(record))
            .decode()
            .strip()
            for path, record in zip(paths, records, strict=True)
        }
        readme = self.git.run("hash-object", "-w", "--stdin", input=README.encode())
        names = ", ".join(dict.fromkeys(record.report_id for record in records))
        commits = ", ".join(dict.fromkeys(record.commit[:12] for record in records))
        for attempt in range(1, attempts + 1):
            tip = self.tracking_ref if self.fetch() else None
            tip_sha = self.git.resolve(tip) if tip else None
            files = {
                path: blobs[path]
                for path, record in zip(paths, records, strict=True)
                if not (tip_sha and self._holds(tip_sha, path, record))
            }
            if tip_sha and not files:
                return WriteResult(commit=tip_sha, attempts=attempt, changed=False)
            tree = self._tree(tip_sha, files, readme.decode().strip())
            if (
                tip_sha
                and tree == self.git.run("rev-parse", f"{tip_sha}^{{tree}}").decode().strip()
            ):
                return WriteResult(commit=tip_sha, attempts=attempt, changed=False)
            message = f"mlci history: record {commits} ({names})"
            parents = ["-p", tip_sha] if tip_sha else []
            commit = (
                self.git.run("commit-tree", tree, *parents, "-m", message, env=_IDENTITY)
                .decode()
                .strip()
            )
            pushed = self.git.call(
                "push", "--quiet", "--porcelain", self.remote,
                f"{commit}:refs/heads/{self.branch}",
                env=self._auth(),
            )  # fmt: skip
            if pushed.returncode == 0:
                self.git.run("update-ref", self.tracking_ref, commit)
                return WriteResult(commit=commit, attempts=attempt)
            output = (pushed.stdout + pushed.stderr).decode(errors="replace")
            if not _lost_race(output):
                raise _refused(self.remote, self.branch, output)
            # Another push won: wait a little (with jitter, so racers part ways) and rebuild.
            self.sleep(min(0.2 * 2**attempt, 5.0) * (0.5 + random.random()))
        raise HistoryError(
            f"could not push the history branch {self.branch!r} after {attempts} attempts: "
            "other pushes kept winning",
            hint="run `mlci history record` again",
        )

    def _holds(self, tip: str, path: str, record: HistoryRecord) -> bool:
        """The tip already has this record, but for when it was written (a re-run)."""
        content = self.git.read_files(tip, [path])[path]
        if content is None:
            return False
        try:
            existing = parse_record(content, f"{self.branch}:{path}")
        except HistoryError:
            return False  # replaced by this one
        return same_record(existing, record)

    def _tree(self, tip: str | None, files: Mapping[str, str], readme: str) -> str:
        """The tip's tree with `files` (path -> blob id) added, in a scratch index."""
        with tempfile.TemporaryDirectory(prefix="mlci-history-") as scratch:
            env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
            if tip:
                self.top.run("read-tree", tip, env=env)
            else:
                self.top.run("read-tree", "--empty", env=env)
                files = {"README.md": readme, **files}
            for path, blob in files.items():
                self.top.run(
                    "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env
                )
            return self.top.run("write-tree", env=env).decode().strip()


_IDENTITY = {
    "GIT_AUTHOR_NAME": "mlci history",
    "GIT_AUTHOR_EMAIL": "mlci-history@users.noreply.github.com",
    "GIT_COMMITTER_NAME": "mlci history",
    "GIT_COMMITTER_EMAIL": "mlci-history@users.noreply.github.com",
}


def git_failure(output: str) -> str:
    """The line of a failed fetch or push's output that says why: what the remote said (a
    hook's or the server's `remote:` lines, a `[remote rejected]` reason), else git's first
    `fatal:` line (the last one is often a generic "Could not read from remote repository"),
    else its first `error:` line, else its last line; one line, at most 300 characters."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    said = [line[7:].strip() for line in lines if line.startswith("remote:")]
    said = [line for line in said if line]
    rejected = [
        line.split("[remote rejected]", 1)[1].strip(" ()")
        for line in lines
        if "[remote rejected]" in line
    ]
    fatal = [line[6:].strip() for line in lines if line.startswith("fatal:")]
    error = [line[6:].strip() for line in lines if line.startswith("error:")]
    if said or rejected:
        why = " ".join(said)
        if rejected and rejected[0] and rejected[0] not in why:
            why = f"{why} ({rejected[0]})" if why else rejected[0]
    else:
        why = (fatal or error or lines[-1:] or ["unknown error"])[0]
    why = " ".join(why.split())  # one line, whatever the remote sent
    why = "".join(c if c.isprintable() else "?" for c in why)
    return why if len(why) <= 300 else why[:299] + "…"


def _refused(remote: str, branch: str, output: str) -> HistoryError:
    why = git_failure(output)
    if "403" in why or "denied" in why.lower() or "authentication" in why.lower():
        hint = (
            "the job that records history needs `permissions: contents: write` and its token "
            "(GITHUB_TOKEN); see docs/history.md"
        )
    elif "hook declined" in why or "protected" in why.lower() or "rule" in why.lower():
        hint = (
            f"the remote's rules refused it: let the workflow push {branch!r} (leave it "
            "unprotected, or allow the GitHub Actions app to push to it); see docs/history.md"
        )
    else:
        hint = (
            "the job that records history needs `permissions: contents: write`, its token "
            f"(GITHUB_TOKEN) and a remote that accepts pushes to {branch!r}; see docs/history.md"
        )
    return HistoryError(
        f"the remote {remote!r} refused the history branch {branch!r}: {why}", hint=hint
    )


def _lost_race(output: str) -> bool:
    """The push was refused because the branch moved (someone else pushed first)."""
    return any(
        sign in output
        for sign in ("fetch first", "non-fast-forward", "[rejected]", "cannot lock ref",
                     "failed to update ref", "stale info", "incorrect old value")
    )  # fmt: skip


def first_parent_commits(git: Git, rev: str, count: int) -> list[str]:
    """`rev` and its first-parent ancestors, newest first, at most `count`."""
    out = git.run("rev-list", "--first-parent", f"--max-count={count}", git.resolve(rev), "--")
    return out.decode().split()


def check_report_id(report_id: str) -> str:
    if not _REPORT_ID.fullmatch(report_id):
        raise HistoryError(f"report id {report_id!r} may hold only letters, digits, '_', '.', '-'")
    return report_id


def raise_git(error: GitError) -> HistoryError:
    return HistoryError(error.message, hint=error.hint)
