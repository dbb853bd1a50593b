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
        wdir = _join(directory, str(resolver.resolve(wdir_value, context, key="wdir")))
    if "vars" in definition:
        context = resolver.context(definition["vars"], wdir, base=context)
    # As DVC (EntryDefinition.resolve_stage): each field resolved with its name, wdir again
    # (so that its values are tracked), `vars` left out.
    resolved = {
        key: resolver.resolve(value, context, track=True, key=str(key))
        for key, value in definition.items()
        if key != "vars"
    }
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
#
# DVC's model (dvc/parsing/context.py): every value read from a file remembers where it came
# from (the file and its dotted path there); a stage records the values it interpolates that
# came from files (`tracked_vars`, which `dvc params diff` shows for files other than params
# files). Values from inline `vars:` and literal `foreach`/`matrix` items are not tracked; items
# of a `foreach`/`matrix` over `${...}` keep the origin of what they were taken from.

Origin = tuple[str, str]
"""(file, dotted path in it) of a value read from a file."""


@dataclass
class _Context:
    """The values `${...}` may name, and where the ones read from files came from."""

    data: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, Origin | None] = field(default_factory=dict)
    """Dotted name in the context -> its origin (None: not from a file); the longest prefix
    of a name that is here gives the origin of the name."""
    imports: dict[str, list[str] | None] = field(default_factory=dict)
    """vars files loaded: path -> the keys taken (None: the whole file)."""

    def copy(self) -> _Context:
        return _Context(
            dict(self.data),  # shallow: merging copies what it changes (_merge_into)
            dict(self.origins),
            {key: None if keys is None else list(keys) for key, keys in self.imports.items()},
        )

    def merge(self, values: dict[str, Any], source: str | None, path: str) -> None:
        """Add `values` (from file `source`, None: inline); a name defined twice is refused,
        mappings are merged key by key (DVC's `_merge`)."""
        _merge_into(self.data, self.origins, values, source, "", path)

    def put(self, name: str, value: Any, origin: Origin | None) -> None:
        """A name of a foreach/matrix iteration (`item`, `key`), replacing what was there."""
        self.data[name] = value
        for known in [known for known in self.origins if known.split(".")[0] == name]:
            del self.origins[known]
        self.origins[name] = origin

    def origin(self, key: str) -> Origin | None:
        parts = key.split(".")
        for end in range(len(parts), 0, -1):
            prefix = ".".join(parts[:end])
            if prefix in self.origins:
                found = self.origins[prefix]
                if found is None:
                    return None
                return found[0], ".".join([found[1], *parts[end:]])
        return None


def _merge_into(
    into: dict[str, Any],
    origins: dict[str, Origin | None],
    values: dict[str, Any],
    source: str | None,
    prefix: str,
    path: str,
) -> None:
    for key, value in values.items():
        key = str(key)
        name = f"{prefix}{key}"
        if isinstance(into.get(key), dict) and isinstance(value, dict):
            into[key] = dict(into[key])  # contexts share mappings: copy before changing one
            _merge_into(into[key], origins, value, source, f"{name}.", path)
            continue
        if key in into:
            raise InputFileError(f"`{name}` is defined twice in vars", path=path)
        into[key] = value
        origins[name] = (source, name) if source is not None else None


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
        _no_interpolation(vars_, self.path, self.where)
        if base is None:
            context = _Context()
            default = _join(wdir, DEFAULT_PARAMS)
            values = self._file(default, required=False)
            if isinstance(values, dict):
                context.merge(values, default, self.path)
                context.imports[default] = None
        else:
            context = base.copy()
        for item in _as_list(vars_):
            if isinstance(item, dict):
                context.merge(item, None, self.path)
                continue
            spec = str(item)
            file, _, keys_text = spec.partition(":")
            target = _join(wdir, file)
            keys = [key for key in keys_text.split(",") if key] or None
            if target in context.imports:
                loaded = context.imports[target]
                if keys is None and loaded is None:
                    continue  # the same whole file again: DVC allows it
                if keys is None or loaded is None:
                    raise InputFileError(
                        f"vars: cannot load {spec!r}, {target} is "
                        + ("partially" if keys is None else "wholly")
                        + f" loaded already{self.where}",
                        path=self.path,
                    )
            values = self._file(target, required=True)
            if not isinstance(values, dict):
                raise InputFileError(
                    f"vars file must hold a mapping{self.where} (dvc.yaml: {self.path})",
                    path=target,
                )
            if keys:
                selected = {}
                for key in keys:
                    if key not in values:
                        raise InputFileError(
                            f"vars: no `{key}` in {target}{self.where}", path=self.path
                        )
                    selected[key] = values[key]
                values = selected
            context.merge(values, target, self.path)
            if target not in context.imports or keys is None:
                context.imports[target] = keys
            else:
                (context.imports[target] or []).extend(keys)
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
            items, origin = self._collection(stage["foreach"], context)
            body = stage.get("do") or {}
            # (the iteration's key, where its item sits in the collection, the item)
            if isinstance(items, dict):
                keys = [_to_str(key, "", self.path) for key in items]
                entries = [(key, key, item) for key, item in zip(keys, items.values(), strict=True)]
                with_key = True
            elif isinstance(items, list):
                entries = [(str(index), str(index), item) for index, item in enumerate(items)]
                if not any(isinstance(item, dict | list) for item in items):
                    # simple values are their own keys (a repeat replaces the first, as in DVC)
                    by_value = {_to_str(item, "", self.path): (i, item) for i, _, item in entries}
                    entries = [(key, index, item) for key, (index, item) in by_value.items()]
                with_key = False
            else:
                raise InputFileError(
                    f"`foreach` of stage {name!r} must be a list or a mapping, "
                    f"not {type(items).__name__}{self.where}",
                    path=self.path,
                )
            for key, position, item in entries:
                local = context.copy()
                local.put("item", item, _child(origin, position))
                if with_key:
                    local.put("key", key, None)
                yield local, body if isinstance(body, dict) else {}
        elif "matrix" in stage:
            matrix = stage["matrix"]
            if not isinstance(matrix, dict):
                return
            names = list(matrix)
            columns = [self._collection(matrix[key], context) for key in names]
            body = {key: value for key, value in stage.items() if key != "matrix"}
            indexed = [list(enumerate(_as_list(values))) for values, _ in columns]
            for combination in itertools.product(*indexed):
                local = context.copy()
                fragments = [
                    f"{column}{index}"
                    if isinstance(value, dict | list)
                    else _to_str(value, "", self.path)
                    for column, (index, value) in zip(names, combination, strict=True)
                ]
                local.put(
                    "item",
                    {column: value for column, (_, value) in zip(names, combination, strict=True)},
                    None,
                )
                for column, (index, _), (_, origin) in zip(
                    names, combination, columns, strict=True
                ):
                    local.origins[f"item.{column}"] = _child(origin, str(index))
                local.put("key", "-".join(fragments), None)
                yield local, body
        else:
            yield context, stage

    def _collection(self, value: Any, context: _Context) -> tuple[Any, Origin | None]:
        """A foreach/matrix collection (not tracked), and its origin when it is `${...}`."""
        if isinstance(value, str):
            matches = list(_INTERPOLATION.finditer(value))
            if len(matches) == 1 and matches[0].span() == (0, len(value)):
                inner = matches[0]["inner"]
                return self._select(inner, context, False, None), context.origin(_key(inner))
        return self.resolve(value, context), None

    def resolve(
        self, value: Any, context: _Context, *, track: bool = False, key: str | None = None
    ) -> Any:
        if isinstance(value, str):
            return self._resolve_text(value, context, track, key)
        if isinstance(value, list):
            return [self.resolve(item, context, track=track, key=key) for item in value]
        if isinstance(value, dict):
            return {
                self._resolve_text(str(name), context, track, key) if "${" in str(name) else name: (
                    self.resolve(item, context, track=track, key=key)
                )
                for name, item in value.items()
            }
        return value

    def _resolve_text(self, text: str, context: _Context, track: bool, key: str | None) -> Any:
        matches = list(_INTERPOLATION.finditer(text))
        if not matches:
            return text.replace("\\${", "${")
        if len(matches) == 1 and matches[0].span() == (0, len(text)):
            return self._select(matches[0]["inner"], context, track, key)
        parts = []
        end = 0
        for match in matches:
            parts.append(text[end : match.start()])
            value = self._select(match["inner"], context, track, key)
            parts.append(_to_str(value, text, self.path))
            end = match.end()
        parts.append(text[end:])
        return "".join(parts).replace("\\${", "${")

    def _select(self, inner: str, context: _Context, track: bool, key: str | None) -> Any:
        name = _key(inner)
        value: Any = context.data
        for part in name.split("."):
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
        # DVC's validate_value: only plain values go into a stage's fields, but a mapping in
        # `cmd` (it becomes `--name value` arguments).
        plain = not isinstance(value, dict | list) or (isinstance(value, dict) and key == "cmd")
        if key is not None and not plain and "foreach" not in key:
            raise InputFileError(
                f"cannot interpolate a {type(value).__name__} "
                f"(`${{{inner}}}` in `{key}`){self.where}",
                path=self.path,
            )
        if track and not isinstance(value, dict | list):
            origin = context.origin(name)
            if origin is not None:
                self.tracked.setdefault(origin[0], {})[origin[1]] = value
        return value


_MISSING = object()


def _key(inner: str) -> str:
    return inner.strip().replace("[", ".").replace("]", "")


def _child(origin: Origin | None, key: str) -> Origin | None:
    return None if origin is None else (origin[0], f"{origin[1]}.{key}")


def _no_interpolation(vars_: Any, path: str, where: str) -> None:
    """DVC refuses `${...}` inside `vars:` ("interpolating is not allowed")."""
    if isinstance(vars_, str) and _INTERPOLATION.search(vars_):
        raise InputFileError(f"`vars:` cannot interpolate ({vars_!r}){where}", path=path)
    if isinstance(vars_, list):
        for item in vars_:
            _no_interpolation(item, path, where)
    elif isinstance(vars_, dict):
        for name, item in vars_.items():
            _no_interpolation(name, path, where)
            _no_interpolation(item, path, where)


def _to_str(value: Any, text: str, path: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return _dict_arguments(value, path)
    if isinstance(value, int | float | str) or value is None:
        return str(value)
    raise InputFileError(
        f"cannot put a {type(value).__name__} inside the string {text!r}", path=path
    )


def _flat(value: dict[str, Any], prefix: str) -> Iterator[tuple[str, Any]]:
    for name, item in value.items():
        if isinstance(item, dict):
            yield from _flat(item, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", item


def _dict_arguments(value: dict[str, Any], path: str) -> str:
    """A mapping in `cmd` as DVC writes it (interpolate.py's to_str for dict, with its default
    `parsing` settings: booleans `store_true`, lists `nargs`)."""
    import shlex

    result = ""
    for name, item in _flat(value, ""):
        if isinstance(item, bool):
            result += f"--{name} " if item else ""
        elif isinstance(item, str):
            result += f"--{name} {shlex.quote(item)} "
        elif isinstance(item, list):
            for index, element in enumerate(item):
                if isinstance(element, dict | list):
                    raise InputFileError(
                        f"cannot interpolate the nested list in `{name}`", path=path
                    )
                shown = shlex.quote(element) if isinstance(element, str) else element
                result += f"{shown} " if index > 0 else f"--{name} {shown} "
        else:
            result += f"--{name} {item} "
    return result.rstrip()


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
