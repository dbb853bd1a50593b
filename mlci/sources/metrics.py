"""`load_metrics(source, rev) -> MetricSet`: metrics (or params) from files in the work tree,
files at a git revision, or files declared in dvc.yaml."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mlci.errors import InputFileError
from mlci.sources.dvc_yaml import DvcDeclarations, parse_dvc_yaml
from mlci.sources.git import Git
from mlci.sources.metric_files import Scalar, flatten, parse_metrics_text

Kind = Literal["metrics", "params"]
WORKSPACE = "workspace"


@dataclass
class MetricSet:
    """Metrics of one side of a comparison: path -> extracted data (as DVC keeps it)."""

    label: str
    data: dict[str, Any] = field(default_factory=dict)
    """Path -> nested mapping or scalar; a path absent here was absent on this side."""

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
    """Metric or param files, relative to `root`, plus those declared in `root`/dvc.yaml."""

    root: Path
    files: tuple[str, ...] = ()
    params: tuple[str, ...] = ()
    dvc: bool | None = None
    """Read dvc.yaml declarations: True, False, or None for "when dvc.yaml exists"."""
    params_keys: dict[str, list[str] | None] = field(default_factory=dict, compare=False)


def load_metrics(
    source: FileSource, rev: str | None, *, git: Git | None = None, kind: Kind = "metrics"
) -> MetricSet:
    """Metrics (or params) at `rev` (None: the work tree). Missing files are simply absent."""
    where = rev or ""
    if rev is None:
        declared = _declared(source, _read_worktree(source.root, "dvc.yaml"), where)
        paths = _paths(source, declared, kind)
        contents = {path: _read_worktree(source.root, path) for path in paths}
        label = WORKSPACE
    else:
        if git is None:
            raise InputFileError(f"reading files at {rev} needs a git repository")
        dvc_file = git.relative(source.root / "dvc.yaml")
        declared = _declared(source, git.read_files(rev, [dvc_file])[dvc_file], where)
        paths = _paths(source, declared, kind)
        located = {path: git.relative(source.root / path) for path in paths}
        raw = git.read_files(rev, located.values())
        contents = {path: raw[located[path]] for path in paths}
        label = rev
    data: dict[str, Any] = {}
    for path, content in contents.items():
        if content is None:
            continue
        value = parse_metrics_text(content, path, where)
        if kind == "params":
            value = _select_keys(value, declared.params.get(path) if declared else None)
        data[path] = value
    return MetricSet(label=label, data=data)


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


def _declared(source: FileSource, dvc_yaml: bytes | None, where: str) -> DvcDeclarations | None:
    if source.dvc is False or dvc_yaml is None:
        return None
    return parse_dvc_yaml(dvc_yaml, "dvc.yaml", where)


def _paths(source: FileSource, declared: DvcDeclarations | None, kind: Kind) -> list[str]:
    explicit = source.files if kind == "metrics" else source.params
    from_dvc: list[str] = []
    if declared is not None:
        from_dvc = declared.metrics if kind == "metrics" else list(declared.params)
    return list(dict.fromkeys([*explicit, *from_dvc]))


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
