"""Find the metrics and params files a dvc.yaml declares, by reading it (DVC is not imported).

As DVC reads it: `${...}` is interpolated from the params.yaml next to the dvc.yaml and from its
`vars:` (files and inline mappings, also per stage), `foreach`/`matrix` stages are expanded,
stage paths are relative to their `wdir`, and the values a stage interpolates from files other
than params files are kept (`tracked`), since `dvc params diff` shows them.
"""

from __future__ import annotations

import itertools
import posixpath
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from mlci.errors import InputFileError
from mlci.sources.metric_files import Yaml12Loader, parse_params_text

DVC_YAML = "dvc.yaml"
DEFAULT_PARAMS = "params.yaml"
# DVC's own pattern (dvc/parsing/interpolate.py): `\${` escapes.
_INTERPOLATION = re.compile(r"(?<!\\)\$\{(?P<inner>.*?)\}")

ReadFile = Callable[[str], bytes | None]
"""Repository-relative path -> its content at the same revision (None when absent)."""


@dataclass
class DvcDeclarations:
    """Repository-relative paths declared in one or more dvc.yaml files."""

    metrics: list[str] = field(default_factory=list)
    params: dict[str, list[str] | None] = field(default_factory=dict)
    """params file -> the keys stages use (None: the whole file, as top-level `params:`)."""
    tracked: dict[str, dict[str, Any]] = field(default_factory=dict)
    """vars file -> {dotted key: value} that stages interpolate from it."""
    outs: list[str] = field(default_factory=list)
    """What stages produce (outs, metrics and plots they write)."""
    deps: list[str] = field(default_factory=list)
    """What stages read."""
    stage_dirs: dict[str, str] = field(default_factory=dict)
    """`<dvc.yaml directory>/<stage>` -> the stage's working directory (its resolved `wdir`)."""

    def merge(self, other: DvcDeclarations) -> None:
        self.metrics.extend(path for path in other.metrics if path not in self.metrics)
        for path, keys in other.params.items():
            _merge_keys(self, path, keys)
        for path, values in other.tracked.items():
            self.tracked.setdefault(path, {}).update(values)
        self.outs.extend(path for path in other.outs if path not in self.outs)
        self.deps.extend(path for path in other.deps if path not in self.deps)
        self.stage_dirs.update(other.stage_dirs)


def is_dvc_yaml(path: str) -> bool:
    return posixpath.basename(path) == DVC_YAML


def parse_dvc_yaml(
    text: bytes, path: str, where: str = "", read: ReadFile | None = None
) -> DvcDeclarations:
    """Declarations in the dvc.yaml at repository-relative `path`; `read` gives the files it
    interpolates from (params.yaml, `vars:`), at the same revision."""
    data = _load(text, path, where)
    directory = posixpath.dirname(path)
    resolver = _Resolver(path, directory, where, read or (lambda _path: None))
    context = resolver.context(data.get("vars"), directory, base=None)
    found = DvcDeclarations()
    for entry in _as_list(data.get("metrics")):
        found.metrics.append(_join(directory, _entry_path(resolver.resolve(entry, context))))
    for entry in _as_list(data.get("params")):
        found.params[_join(directory, _entry_path(resolver.resolve(entry, context)))] = None
    stages = data.get("stages") or {}
    for name, stage in stages.items() if isinstance(stages, dict) else []:
        if not isinstance(stage, dict):
            continue
        key = f"{directory}/{name}" if directory else str(name)
        for stage_context, definition in resolver.expand(str(name), stage, context):
            found.stage_dirs[key] = _add_stage(
                found, resolver, directory, stage_context, definition
            )
    found.metrics = list(dict.fromkeys(found.metrics))
    for source, values in resolver.tracked.items():
        found.tracked.setdefault(source, {}).update(values)
    return found


def _add_stage(
    found: DvcDeclarations,
    resolver: _Resolver,
    directory: str,
    context: _Context,
    definition: dict[str, Any],
) -> str:
    """Add one stage's metrics and params; returns its working directory."""
    wdir_value = definition.get("wdir")
    wdir = directory
    if wdir_value:
        wdir = _join(directory, str(resolver.resolve(wdir_value, context, track=True)))
    if "vars" in definition:
        context = resolver.context(definition["vars"], wdir, base=context)
    resolved = resolver.resolve(
        {key: value for key, value in definition.items() if key not in ("vars", "wdir")},
        context,
        track=True,
    )
    for entry in _as_list(resolved.get("metrics")):
        found.metrics.append(_join(wdir, _entry_path(entry)))
    for key in ("outs", "metrics", "plots"):
        found.outs.extend(_join(wdir, _entry_path(entry)) for entry in _as_list(resolved.get(key)))
    found.deps.extend(_join(wdir, _entry_path(entry)) for entry in _as_list(resolved.get("deps")))
    for entry in _as_list(resolved.get("params")):
        if isinstance(entry, dict):
            for file, keys in entry.items():
                target = _join(wdir, str(file))
                _merge_keys(found, target, [str(key) for key in _as_list(keys)] or None)
        else:
            _merge_keys(found, _join(wdir, DEFAULT_PARAMS), [str(entry)])
    return wdir


def _merge_keys(found: DvcDeclarations, target: str, keys: list[str] | None) -> None:
    if target in found.params and found.params[target] is None:
        return
    if keys is None:
        found.params[target] = None
        return
    existing = found.params.setdefault(target, [])
    assert existing is not None
    existing.extend(key for key in keys if key not in existing)


# --- interpolation ----------------------------------------------------------------------------


@dataclass
class _Context:
    """The values `${...}` may name, and which file each top-level key came from."""

    data: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str | None] = field(default_factory=dict)

    def copy(self) -> _Context:
        return _Context(dict(self.data), dict(self.sources))

    def merge(self, values: dict[str, Any], source: str | None, where: str) -> None:
        for key, value in values.items():
            key = str(key)
            if key in self.data and not (
                isinstance(value, dict) and isinstance(self.data[key], dict)
            ):
                raise InputFileError(
                    f"dvc.yaml: `{key}` is defined twice in vars ({where})", path=source
                )
            if key in self.data:
                merged = _Context(dict(self.data[key]), {})
                merged.merge(value, source, where)
                self.data[key] = merged.data
            else:
                self.data[key] = value
                self.sources[key] = source


class _Resolver:
    def __init__(self, path: str, directory: str, where: str, read: ReadFile) -> None:
        self.path = path
        self.directory = directory
        self.where = f" at {where}" if where else ""
        self.read = read
        self.tracked: dict[str, dict[str, Any]] = {}
        self._loaded: dict[str, Any] = {}

    def context(self, vars_: Any, wdir: str, base: _Context | None) -> _Context:
        """The context of a dvc.yaml (base None: the default params.yaml first) or of a stage."""
        if base is None:
            context = _Context()
            default = _join(wdir, DEFAULT_PARAMS)
            values = self._file(default, required=False)
            if isinstance(values, dict):
                context.merge(values, default, self.path)
        else:
            context = base.copy()
        for item in _as_list(vars_):
            if isinstance(item, dict):
                context.merge(self.resolve(item, context), None, self.path)
                continue
            spec = str(item)
            file, _, keys = spec.partition(":")
            target = _join(wdir, file)
            values = self._file(target, required=True)
            if not isinstance(values, dict):
                raise InputFileError(
                    f"vars file must hold a mapping{self.where} (dvc.yaml: {self.path})",
                    path=target,
                )
            if keys:
                selected = {}
                for key in (key.strip() for key in keys.split(",")):
                    if key not in values:
                        raise InputFileError(
                            f"vars: no `{key}` in {target}{self.where}", path=self.path
                        )
                    selected[key] = values[key]
                values = selected
            context.merge(values, target, self.path)
        return context

    def _file(self, path: str, *, required: bool) -> Any:
        if path not in self._loaded:
            content = self.read(path)
            if content is None:
                if required:
                    raise InputFileError(
                        f"vars file {path} does not exist{self.where}", path=self.path
                    )
                self._loaded[path] = None
            else:
                self._loaded[path] = parse_params_text(content, path, self.where[4:], raw=True)
        return self._loaded[path]

    def expand(
        self, name: str, stage: dict[str, Any], context: _Context
    ) -> Iterator[tuple[_Context, dict[str, Any]]]:
        """A stage's definitions: one, or one per `foreach` item / `matrix` combination."""
        if "foreach" in stage:
            items = self.resolve(stage["foreach"], context, track=True)
            body = stage.get("do") or {}
            pairs: Iterator[tuple[Any, Any]] = (
                iter(items.items())
                if isinstance(items, dict)
                else ((index, item) for index, item in enumerate(_as_list(items)))
            )
            for key, item in pairs:
                local = context.copy()
                local.data.update({"item": item, "key": key})
                local.sources.update({"item": None, "key": None})
                yield local, body if isinstance(body, dict) else {}
        elif "matrix" in stage:
            matrix = self.resolve(stage["matrix"], context, track=True)
            if not isinstance(matrix, dict):
                return
            names = list(matrix)
            body = {key: value for key, value in stage.items() if key != "matrix"}
            for combination in itertools.product(*(_as_list(matrix[key]) for key in names)):
                local = context.copy()
                local.data["item"] = dict(zip(names, combination, strict=True))
                local.sources["item"] = None
                yield local, body
        else:
            yield context, stage

    def resolve(self, value: Any, context: _Context, *, track: bool = False) -> Any:
        if isinstance(value, str):
            return self._resolve_text(value, context, track)
        if isinstance(value, list):
            return [self.resolve(item, context, track=track) for item in value]
        if isinstance(value, dict):
            return {
                self._resolve_text(str(key), context, track) if "${" in str(key) else key: (
                    self.resolve(item, context, track=track)
                )
                for key, item in value.items()
            }
        return value

    def _resolve_text(self, text: str, context: _Context, track: bool) -> Any:
        matches = list(_INTERPOLATION.finditer(text))
        if not matches:
            return text.replace("\\${", "${")
        if len(matches) == 1 and matches[0].span() == (0, len(text)):
            return self._select(matches[0]["inner"], context, track)
        parts = []
        end = 0
        for match in matches:
            parts.append(text[end : match.start()])
            parts.append(_to_str(self._select(match["inner"], context, track), text, self.path))
            end = match.end()
        parts.append(text[end:])
        return "".join(parts).replace("\\${", "${")

    def _select(self, inner: str, context: _Context, track: bool) -> Any:
        key = inner.strip().replace("[", ".").replace("]", "")
        parts = key.split(".")
        value: Any = context.data
        for part in parts:
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif isinstance(value, list) and part.lstrip("-").isdigit():
                try:
                    value = value[int(part)]
                except IndexError:
                    value = _MISSING
            else:
                value = _MISSING
            if value is _MISSING:
                raise InputFileError(
                    f"`${{{inner}}}` is not defined{self.where}",
                    path=self.path,
                    hint="define it in params.yaml or `vars:` (`dvc repro` fails the same way)",
                )
        source = context.sources.get(parts[0])
        if track and source is not None:
            for name, leaf in _leaves(key, value):
                self.tracked.setdefault(source, {})[name] = leaf
        return value


_MISSING = object()


def _leaves(key: str, value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for name, item in value.items():
            yield from _leaves(f"{key}.{name}", item)
    elif isinstance(value, list):  # DVC tracks each item: `splits.0`, `splits.1`
        for index, item in enumerate(value):
            yield from _leaves(f"{key}.{index}", item)
    else:
        yield key, value


def _to_str(value: Any, text: str, path: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise InputFileError(
        f"dvc.yaml: cannot put a {type(value).__name__} inside the string {text!r}", path=path
    )


# --- plain YAML helpers ----------------------------------------------------------------------


def _load(text: bytes, path: str, where: str) -> dict[str, Any]:
    try:
        data = yaml.load(text.decode("utf-8"), Loader=Yaml12Loader) or {}
    except (ValueError, yaml.YAMLError) as exc:
        at = f" at {where}" if where else ""
        raise InputFileError(f"dvc.yaml does not parse{at}: {exc}", path=path) from None
    if not isinstance(data, dict):
        raise InputFileError("dvc.yaml must be a mapping", path=path)
    return data


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
