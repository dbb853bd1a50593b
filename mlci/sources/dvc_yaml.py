"""Find the metrics and params files a dvc.yaml declares, by reading it (DVC is not imported)."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Any

import yaml

from mlci.errors import InputFileError
from mlci.sources.metric_files import Yaml12Loader


@dataclass
class DvcDeclarations:
    """Repository-relative paths declared in one or more dvc.yaml files."""

    metrics: list[str] = field(default_factory=list)
    params: dict[str, list[str] | None] = field(default_factory=dict)
    """params file -> the keys stages use (None: the whole file, as top-level `params:`)."""


def parse_dvc_yaml(text: bytes, path: str, where: str = "") -> DvcDeclarations:
    """Declarations in the dvc.yaml at repository-relative `path`."""
    try:
        data = yaml.load(text.decode("utf-8"), Loader=Yaml12Loader) or {}
    except (ValueError, yaml.YAMLError) as exc:
        at = f" at {where}" if where else ""
        raise InputFileError(f"dvc.yaml does not parse{at}: {exc}", path=path) from None
    if not isinstance(data, dict):
        raise InputFileError("dvc.yaml must be a mapping", path=path)
    directory = posixpath.dirname(path)
    found = DvcDeclarations()
    for entry in _as_list(data.get("metrics")):
        found.metrics.append(_join(directory, _entry_path(entry)))
    for entry in _as_list(data.get("params")):
        found.params[_join(directory, _entry_path(entry))] = None
    stages = data.get("stages") or {}
    for stage in stages.values() if isinstance(stages, dict) else []:
        if not isinstance(stage, dict):
            continue
        wdir = _join(directory, str(stage.get("wdir") or "."))
        for entry in _as_list(stage.get("metrics")):
            found.metrics.append(_join(wdir, _entry_path(entry)))
        for entry in _as_list(stage.get("params")):
            _add_stage_params(found, wdir, entry)
    found.metrics = list(dict.fromkeys(found.metrics))
    return found


def _add_stage_params(found: DvcDeclarations, wdir: str, entry: Any) -> None:
    if isinstance(entry, dict):
        for file, keys in entry.items():
            target = _join(wdir, str(file))
            _merge_keys(found, target, [str(key) for key in _as_list(keys)] or None)
    else:
        _merge_keys(found, _join(wdir, "params.yaml"), [str(entry)])


def _merge_keys(found: DvcDeclarations, target: str, keys: list[str] | None) -> None:
    if target in found.params and found.params[target] is None:
        return
    if keys is None:
        found.params[target] = None
        return
    existing = found.params.setdefault(target, [])
    assert existing is not None
    existing.extend(key for key in keys if key not in existing)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _entry_path(entry: Any) -> str:
    if isinstance(entry, dict):
        return str(next(iter(entry)))
    return str(entry)


def _join(directory: str, relative: str) -> str:
    return (
        posixpath.normpath(posixpath.join(directory, relative))
        if directory
        else posixpath.normpath(relative)
    )
