"""DVC-tracked data: which outputs and stage dependencies changed between two revisions (from the
hashes that `.dvc` files and `dvc.lock` record, read with git plumbing, no DVC needed), and
reading a tracked file at any revision through DVC's API (extra `mlci[dvc]`), from the local
cache or the remote, without checking anything out."""

from __future__ import annotations

import posixpath
import shutil
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

import yaml

from mlci.errors import GitError, InputFileError
from mlci.extras import require
from mlci.report.model import DataChange
from mlci.sources.git import Git
from mlci.sources.metric_files import Yaml12Loader

DVC_LOCK = "dvc.lock"
DVC_YAML = "dvc.yaml"
# Keys that hold a content hash in .dvc files and dvc.lock (`hash:` names the algorithm).
_HASH_KEYS = ("md5", "etag", "checksum", "version_id")

Role = Literal["out", "dep"]
_SECTIONS: tuple[tuple[Role, str], ...] = (("out", "outs"), ("dep", "deps"))


@dataclass(frozen=True)
class TrackedRecord:
    """One `outs`/`deps` entry of a `.dvc` file or a dvc.lock stage."""

    path: str
    source: str
    role: Role
    stage: str | None
    hash: str | None
    size: int | None
    files: int | None

    @property
    def key(self) -> tuple[str, str | None, Role, str]:
        return (self.source, self.stage, self.role, self.path)


# --- reading the records ---------------------------------------------------------------------


def is_dvc_file(path: str) -> bool:
    name = posixpath.basename(path)
    return name in (DVC_LOCK, DVC_YAML) or (name.endswith(".dvc") and name != ".dvc")


def parse_dvc_file(text: bytes, source: str) -> list[TrackedRecord]:
    """The outs (and, for `dvc import`, deps) of the `.dvc` file at repository path `source`."""
    data = _load_yaml(text, source)
    directory = _join(posixpath.dirname(source), str(data.get("wdir") or "."))
    records = []
    for role, key in _SECTIONS:
        for entry in _entries(data.get(key)):
            records.append(_record(entry, directory, source, role, None))
    return records


def parse_dvc_lock(text: bytes, source: str, dvc_yaml: bytes | None = None) -> list[TrackedRecord]:
    """The deps and outs of every stage in the dvc.lock at repository path `source`; the
    neighbouring dvc.yaml gives each stage's `wdir`."""
    data = _load_yaml(text, source)
    stages = data.get("stages") if "schema" in data or "stages" in data else data
    directory = posixpath.dirname(source)
    wdirs = _stage_wdirs(dvc_yaml, directory)
    records = []
    for name, stage in (stages or {}).items() if isinstance(stages, dict) else []:
        if not isinstance(stage, dict):
            continue
        stage_dir = wdirs.get(str(name).split("@", 1)[0], directory)
        for role, key in _SECTIONS:
            for entry in _entries(stage.get(key)):
                records.append(_record(entry, stage_dir, source, role, str(name)))
    return records


def tracked_records(
    files: Mapping[str, bytes],
) -> dict[tuple[str, str | None, Role, str], TrackedRecord]:
    """Every record in a set of `.dvc` files and dvc.lock files (repository path -> content)."""
    found: dict[tuple[str, str | None, Role, str], TrackedRecord] = {}
    for path in sorted(files):
        name = posixpath.basename(path)
        if name == DVC_YAML:
            continue
        if name == DVC_LOCK:
            neighbour = posixpath.join(posixpath.dirname(path), DVC_YAML)
            records = parse_dvc_lock(files[path], path, files.get(neighbour))
        else:
            records = parse_dvc_file(files[path], path)
        for record in records:
            found[record.key] = record
    return found


def compare_records(
    base: Mapping[tuple[str, str | None, Role, str], TrackedRecord],
    head: Mapping[tuple[str, str | None, Role, str], TrackedRecord],
) -> list[DataChange]:
    """The records whose hash, size or file count differ, were added or were removed."""
    changes = []
    for key in sorted(set(base) | set(head), key=_order):
        old, new = base.get(key), head.get(key)
        if old is not None and new is not None:
            if (old.hash, old.size, old.files) == (new.hash, new.size, new.files):
                continue
            change: Literal["modified", "added", "removed"] = "modified"
        else:
            change = "added" if old is None else "removed"
        record = new or old
        assert record is not None
        changes.append(
            DataChange(
                path=record.path,
                change=change,
                source=record.source,
                role=record.role,
                stage=record.stage,
                old_hash=old.hash if old else None,
                new_hash=new.hash if new else None,
                old_size=old.size if old else None,
                new_size=new.size if new else None,
                old_files=old.files if old else None,
                new_files=new.files if new else None,
            )
        )
    return changes


def _order(key: tuple[str, str | None, Role, str]) -> tuple[str, str, int, str]:
    source, stage, role, path = key
    return (source, stage or "", 0 if role == "out" else 1, path)


def _load_yaml(text: bytes, source: str) -> dict[str, Any]:
    try:
        data = yaml.load(text.decode("utf-8"), Loader=Yaml12Loader)
    except (ValueError, yaml.YAMLError) as exc:
        raise InputFileError(f"DVC file does not parse: {_first_line(exc)}", path=source) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputFileError("DVC file must be a mapping", path=source)
    return data


def _stage_wdirs(dvc_yaml: bytes | None, directory: str) -> dict[str, str]:
    if dvc_yaml is None:
        return {}
    try:
        data = yaml.load(dvc_yaml.decode("utf-8"), Loader=Yaml12Loader)
    except (ValueError, yaml.YAMLError):
        return {}  # the metrics step reports a broken dvc.yaml; here it only gives wdirs
    stages = data.get("stages") if isinstance(data, dict) else None
    wdirs = {}
    for name, stage in stages.items() if isinstance(stages, dict) else []:
        wdir = stage.get("wdir") if isinstance(stage, dict) else None
        if isinstance(wdir, str) and "${" not in wdir:
            wdirs[str(name)] = _join(directory, wdir)
    return wdirs


def _entries(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        return []
    return [entry for entry in value if isinstance(entry, dict) and "path" in entry]


def _record(
    entry: dict[str, Any], directory: str, source: str, role: Role, stage: str | None
) -> TrackedRecord:
    digest = next((str(entry[key]) for key in _HASH_KEYS if entry.get(key)), None)
    repo = entry.get("repo")
    if digest is None and isinstance(repo, dict) and repo.get("rev_lock"):
        digest = f"git:{repo['rev_lock']}"  # `dvc import`: the commit of the source repository
    size = entry.get("size")
    files = entry.get("nfiles")
    return TrackedRecord(
        path=_join(directory, str(entry["path"])),
        source=source,
        role=role,
        stage=stage,
        hash=digest,
        size=size if isinstance(size, int) else None,
        files=files if isinstance(files, int) else None,
    )


def _join(directory: str, relative: str) -> str:
    return (
        posixpath.normpath(posixpath.join(directory, relative))
        if directory
        else posixpath.normpath(relative)
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# --- finding the files at a revision or in the work tree -------------------------------------


def dvc_files_at(git: Git, rev: str, under: str = "") -> dict[str, bytes]:
    """The `.dvc`, dvc.lock and dvc.yaml files at commit `rev` (under `under`), read with git."""
    args = ["ls-tree", "-r", "-z", "--name-only", "--full-tree", rev]
    if under not in ("", "."):
        args += ["--", under]
    listed = git.run(*args).decode().split("\0")
    wanted = [path for path in listed if path and is_dvc_file(path)]
    contents = git.read_files(rev, wanted)
    return {path: content for path, content in contents.items() if content is not None}


def dvc_files_in_worktree(git: Git, under: str = "") -> dict[str, bytes]:
    """The same files in the work tree (tracked or not, unless git-ignored)."""
    args = ["ls-files", "-z", "--full-name", "--cached", "--others", "--exclude-standard"]
    args += ["--", f":(top){under}" if under not in ("", ".") else ":(top)"]
    listed = git.run(*args).decode().split("\0")
    found = {}
    for path in dict.fromkeys(path for path in listed if path and is_dvc_file(path)):
        try:
            found[path] = (git.toplevel / path).read_bytes()
        except FileNotFoundError:
            continue  # deleted in the work tree, still in the index
    return found


def data_changes(git: Git, base: str, head: str | None, under: str = "") -> list[DataChange]:
    """DVC-tracked data and stage dependencies that differ between commit `base` and `head`
    (None: the work tree)."""
    base_files = dvc_files_at(git, base, under)
    head_files = (
        dvc_files_in_worktree(git, under) if head is None else dvc_files_at(git, head, under)
    )
    return compare_records(tracked_records(base_files), tracked_records(head_files))


def find_dvc_root(start: Path) -> Path | None:
    """The DVC repository holding `start`: the nearest directory with a `.dvc/` directory, not
    looking past the git top level."""
    directory = start.resolve()
    while True:
        if (directory / ".dvc").is_dir():
            return directory
        if (directory / ".git").exists() or directory.parent == directory:
            return None
        directory = directory.parent


# --- reading tracked data at a revision through DVC ------------------------------------------


@contextmanager
def open_at_revision(root: Path, path: str, rev: str | None) -> Iterator[IO[bytes]]:
    """Open DVC-tracked (or git-tracked) `path`, relative to the DVC repository `root`, as it
    was at `rev` (None: the work tree), streamed from the local cache or the remote."""
    api = require("dvc.api", "dvc", feature="reading DVC-tracked data needs dvc")
    with ExitStack() as stack:
        with _dvc_errors(root, path, rev):
            handle = stack.enter_context(api.open(path, repo=str(root), rev=rev, mode="rb"))
        yield handle


def read_at_revision(root: Path, path: str, rev: str | None) -> bytes:
    with open_at_revision(root, path, rev) as handle:
        return handle.read()


def fetch_at_revision(root: Path, path: str, rev: str | None, destination: Path) -> Path:
    """Write `path` (a file or a tracked directory) as it was at `rev` to `destination`, and
    return `destination`. Dataset validation at a revision reads the copy."""
    api = require("dvc.api", "dvc", feature="reading DVC-tracked data needs dvc")
    destination.parent.mkdir(parents=True, exist_ok=True)
    with _dvc_errors(root, path, rev):
        fs = api.DVCFileSystem(str(root), rev=rev)
        try:
            if fs.isdir(path):
                fs.get(path, str(destination), recursive=True)
            else:
                with fs.open(path, mode="rb") as source, destination.open("wb") as target:
                    shutil.copyfileobj(source, target)
        finally:
            close = getattr(fs, "close", None)
            if callable(close):
                close()
    return destination


def is_dvc_tracked(root: Path, path: str) -> bool:
    """Whether `path` (relative to `root`) is a DVC output in the work tree: a `PATH.dvc` file
    next to it, or an out of a stage in `root`/dvc.lock."""
    if (root / f"{path}.dvc").is_file():
        return True
    lock = root / DVC_LOCK
    if not lock.is_file():
        return False
    wanted = posixpath.normpath(path)
    return any(
        record.role == "out" and record.path == wanted
        for record in parse_dvc_lock(lock.read_bytes(), DVC_LOCK, _read_optional(root / DVC_YAML))
    )


def _read_optional(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


@contextmanager
def _dvc_errors(root: Path, path: str, rev: str | None) -> Iterator[None]:
    """DVC's exceptions, as one-line messages naming the path and revision."""
    at = f" at {rev}" if rev else " in the work tree"
    try:
        yield
    except Exception as exc:
        names = {cls.__name__ for error in _chain(exc) for cls in type(error).__mro__}
        if "RevError" in names:
            raise GitError(
                f"git revision {rev!r} does not exist", hint="check it with `git log --oneline`"
            ) from None
        if "NotDvcRepoError" in names:
            raise InputFileError(
                f"{root} is not a DVC repository", hint="run `dvc init` there, or pass its root"
            ) from None
        missing = "FileMissingError" in names or "PathMissingError" in names
        if missing or isinstance(exc, FileNotFoundError):
            # DVC says the same for an unknown path and for data missing from every storage.
            if not known_at_revision(root, path, rev):
                raise InputFileError(
                    f"{path} is tracked neither by DVC nor by git{at}", path=path
                ) from None
            raise InputFileError(
                f"{path}{at} is neither in the DVC cache nor on the DVC remote",
                hint="run `dvc push` where it was produced, or `dvc remote add -d` the remote",
                path=path,
            ) from None
        if "DvcException" in names:
            raise InputFileError(
                f"DVC cannot read {path}{at}: {_first_line(exc)}", path=path
            ) from None
        raise


def known_at_revision(root: Path, path: str, rev: str | None) -> bool:
    """Whether DVC or git knows `path` at `rev` (metadata only, no data is read)."""
    api = require("dvc.api", "dvc", feature="reading DVC-tracked data needs dvc")
    try:
        fs = api.DVCFileSystem(str(root), rev=rev)
        try:
            return bool(fs.exists(path))
        finally:
            close = getattr(fs, "close", None)
            if callable(close):
                close()
    except Exception:
        return False


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__
