"""`load_metrics(source, rev) -> MetricSet`: metrics (or params) from files in the work tree,
files at a git revision, or files declared in the repository's dvc.yaml files.

What `dvc metrics show` / `dvc params show` read, without DVC: every dvc.yaml of the repository
(interpolated), the whole default params.yaml, and files inside DVC-cached outputs read from the
local DVC cache by the hash dvc.lock records at that revision.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mlci.errors import GitError, InputFileError
from mlci.sources.dvc_cache import (
    DvcCache,
    Unavailable,
    containing,
    outputs_in,
)
from mlci.sources.dvc_yaml import DEFAULT_PARAMS, DvcDeclarations, is_dvc_yaml, parse_dvc_yaml
from mlci.sources.dvcignore import DvcIgnore, dvcignore_in
from mlci.sources.git import Git
from mlci.sources.metric_files import (
    Scalar,
    flatten,
    format_params,
    parse_metrics_text,
    parse_params_text,
)

Kind = Literal["metrics", "params"]
WORKSPACE = "workspace"


@dataclass
class MetricSet:
    """Metrics of one side of a comparison: path -> extracted data (as DVC keeps it)."""

    label: str
    data: dict[str, Any] = field(default_factory=dict)
    """Path -> nested mapping or scalar; a path absent here was absent on this side."""
    unavailable: list[Unavailable] = field(default_factory=list)
    """Files inside DVC outputs whose content is not on this machine (`dvc pull`)."""

    def flat(self) -> dict[str, dict[str, Scalar]]:
        return {path: flatten(value) for path, value in self.data.items()}

    def lookup(self, name: str, path: str | None = None) -> list[tuple[str, Scalar]]:
        """Every (path, value) holding metric `name`, restricted to `path` when given."""
        return [
            (file, values[name])
            for file, values in sorted(self.flat().items())
            if (path is None or file == path) and name in values
        ]

    def names(self) -> set[str]:
        return {name for values in self.flat().values() for name in values}


@dataclass(frozen=True)
class FileSource:
    """Metric or param files, relative to `root`, plus those the dvc.yaml files under `root`
    declare (`root` is then the DVC repository's root)."""

    root: Path
    files: tuple[str, ...] = ()
    params: tuple[str, ...] = ()
    dvc: bool | None = None
    """Read dvc.yaml declarations: True, False, or None for "when the repository uses DVC"."""


def load_metrics(
    source: FileSource, rev: str | None, *, git: Git | None = None, kind: Kind = "metrics"
) -> MetricSet:
    """Metrics (or params) at `rev` (None: the work tree). Missing files are simply absent;
    files inside DVC outputs that cannot be read are listed in `unavailable`."""
    if rev is not None and git is None:
        raise InputFileError(f"reading files at {rev} needs a git repository")
    tree = _Tree(source.root, rev, git)
    where = rev or ""
    declared = _declared(source, tree, where)
    explicit = source.files if kind == "metrics" else source.params
    wanted: dict[str, list[str] | None] = dict.fromkeys(explicit)
    tracked: dict[str, dict[str, Any]] = {}
    if declared is not None:
        if kind == "metrics":
            wanted.update((path, None) for path in declared.metrics if path not in wanted)
        else:
            for path, keys in declared.params.items():
                if path not in wanted or wanted[path] is not None:
                    wanted[path] = keys
            wanted[DEFAULT_PARAMS] = None  # `dvc params diff` shows all of it
            tracked = dict(declared.tracked)
    contents = tree.read_many(list(wanted))
    result = MetricSet(label=rev or WORKSPACE)
    missing = [path for path, content in contents.items() if content is None]
    if missing and (declared is not None or tree.uses_dvc()):
        _read_from_dvc(tree, declared or DvcDeclarations(), missing, contents, result, kind)
    for path, content in contents.items():
        if content is None:
            continue
        if kind == "metrics":
            result.data[path] = parse_metrics_text(content, path, where)
        else:
            value = parse_params_text(content, path, where)
            result.data[path] = _select_keys(value, wanted[path])
    for path, values in tracked.items():
        if path not in result.data and path not in wanted:
            result.data[path] = format_params(values)
    return result


def _read_from_dvc(
    tree: _Tree,
    declared: DvcDeclarations,
    missing: list[str],
    contents: dict[str, bytes | None],
    result: MetricSet,
    kind: Kind,
) -> None:
    """Files absent from git (or the work tree) that are inside a DVC output: from the cache."""
    locks = tree.read_many(tree.lock_files())
    outputs = outputs_in(
        {path: text for path, text in locks.items() if text is not None}, declared.stage_dirs
    )
    if not outputs:
        return
    with DvcCache(tree.root) as cache:
        for path in missing:
            if kind == "params" and path == DEFAULT_PARAMS and path not in declared.params:
                continue
            output = containing(outputs, path)
            if output is None:
                continue
            content = cache.read(output, path)
            if content is None:
                content = cache.read_remote(output, path)
            if content is None:
                result.unavailable.append(Unavailable(path, output.path))
            contents[path] = content


class _Tree:
    """The files of the repository under `root` at `rev` (None: the work tree)."""

    def __init__(self, root: Path, rev: str | None, git: Git | None) -> None:
        self.root = root
        self.rev = rev
        self._git = git
        self._listing: list[str] | None = None
        self._ignore: DvcIgnore | None = None

    @property
    def git(self) -> Git | None:
        if self._git is None and self.rev is None:
            self._git = Git(self.root)
        return self._git

    def read(self, path: str) -> bytes | None:
        return self.read_many([path])[path]

    def read_many(self, paths: list[str]) -> dict[str, bytes | None]:
        if self.rev is None:
            return {path: _read_worktree(self.root, path) for path in paths}
        assert self._git is not None
        located = {path: self._git.relative(self.root / path) for path in paths}
        raw = self._git.read_files(self.rev, located.values())
        return {path: raw[located[path]] for path in paths}

    def listing(self) -> list[str]:
        """Every file under `root`, relative to it (git-tracked at `rev`; in the work tree also
        untracked ones that git does not ignore). Without git: only the top dvc.yaml."""
        if self._listing is None:
            self._listing = self._list()
        return self._listing

    def _list(self) -> list[str]:
        git = self.git
        try:
            if git is None:
                raise GitError("no git")
            prefix = git.relative(self.root)
            prefix = "" if prefix == "." else prefix + "/"
            if self.rev is None:
                out = git.run(
                    "-C", str(git.toplevel), "ls-files", "-z", "--cached", "--others",
                    "--exclude-standard", "--", prefix or ".",
                )  # fmt: skip
            else:
                args = ["ls-tree", "-r", "-z", "--name-only", "--full-tree", self.rev]
                out = git.run(*args, *(["--", prefix] if prefix else []))
        except GitError:
            return ["dvc.yaml"] if (self.root / "dvc.yaml").is_file() else []
        listed = dict.fromkeys(path for path in out.decode().split("\0") if path)
        return [path[len(prefix) :] for path in listed if path.startswith(prefix)]

    def dvc_yamls(self) -> list[str]:
        """In the order DVC's walk finds them: top-down, a directory's files before what is
        below it. In the work tree git-ignored ones are left out, as DVC leaves them out."""
        found = self.seen_by_dvc([path for path in self.listing() if is_dvc_yaml(path)])
        return sorted(found, key=lambda path: path.split("/")[:-1])

    def lock_files(self) -> list[str]:
        return self.seen_by_dvc(
            [
                path
                for path in self.listing()
                if posixpath.basename(path) == "dvc.lock"
                or (path.endswith(".dvc") and posixpath.basename(path) != ".dvc")
            ]
        )

    def seen_by_dvc(self, paths: list[str]) -> list[str]:
        """`paths` without those `.dvcignore` (or a sub-repository) hides from DVC."""
        if self._ignore is None:
            listing = self.listing()
            if not dvcignore_in(listing) and not any("/.dvc/" in path for path in listing):
                return paths
            self._ignore = DvcIgnore(frozenset(listing), self.read_many)
        return self._ignore.filter(paths)

    def uses_dvc(self) -> bool:
        # A DVC work tree reads every revision as DVC, even one from before `dvc init` (its
        # params.yaml shows in `dvc params diff`).
        if (self.root / ".dvc").is_dir():
            return True
        return any(is_dvc_yaml(path) or path.startswith(".dvc/config") for path in self.listing())


def dvc_declarations(root: Path) -> DvcDeclarations | None:
    """What every dvc.yaml under `root` declares in the work tree; None when `root` is not a
    DVC project."""
    return _declared(FileSource(root), _Tree(root, None, None), "")


def _declared(source: FileSource, tree: _Tree, where: str) -> DvcDeclarations | None:
    if source.dvc is False or not tree.uses_dvc():
        return None
    declared = DvcDeclarations()
    outs: set[str] = set()
    for path in tree.dvc_yamls():
        # In the work tree DVC does not walk into a directory that a stage found before
        # outputs (a dvclive dvc.yaml inside `outs: [results]`); at a git revision it does
        # (dvc/repo/index.py's collect_files compares local paths only).
        if tree.rev is None and any(parent in outs for parent in _parents(path)):
            continue
        text = tree.read(path)
        if text is not None:
            found = parse_dvc_yaml(text, path, where, tree.read)
            outs.update(found.outs)
            declared.merge(found)
    return declared


def _parents(path: str) -> Iterator[str]:
    while "/" in path:
        path = path.rsplit("/", 1)[0]
        yield path


MAX_METRICS_BYTES = 256 * 2**20
"""A metrics or params file larger than this is not one."""


def _read_worktree(root: Path, path: str) -> bytes | None:
    target = root / path
    try:
        if target.exists() and not target.is_dir() and not target.is_file():
            raise InputFileError("metrics path is not a regular file", path=path)
        with target.open("rb") as handle:
            data = handle.read(MAX_METRICS_BYTES + 1)
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise InputFileError("metrics path is a directory, not a file", path=path) from None
    except PermissionError:
        raise InputFileError(
            "metrics file is not readable (permission denied)", path=path
        ) from None
    except NotADirectoryError:  # a file where a directory should be (baseline.dir: m.json)
        blocking = next((p for p in target.parents if p.is_file()), target.parent)
        raise InputFileError(
            f"is a file, not a directory (reading {path} in it)", path=blocking
        ) from None
    except OSError as exc:  # a symlink loop, an I/O error
        raise InputFileError(f"cannot read metrics file: {exc.strerror}", path=path) from None
    if len(data) > MAX_METRICS_BYTES:
        raise InputFileError(
            f"metrics file is larger than {MAX_METRICS_BYTES // 2**20} MiB", path=path
        )
    return data


def _select_keys(value: Any, keys: list[str] | None) -> Any:
    """Only the param keys stages use, as `dvc params diff` shows them."""
    if keys is None or not isinstance(value, dict):
        return value
    flat = flatten(value)
    selected: dict[str, Any] = {}
    for key in keys:
        if key in value:
            selected[key] = value[key]
        else:
            prefix = key + "."
            for name, item in flat.items():
                if name == key or name.startswith(prefix):
                    selected[name] = item
    return selected
