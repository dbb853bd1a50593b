"""Parse metric and param files exactly as DVC does (`dvc metrics show`), without importing DVC.

JSON, TOML and YAML (YAML 1.2, as ruamel reads it; any other extension is parsed as YAML).
Mappings are kept nested; ints, floats, bools and strings are kept; lists, dates and other types
are dropped; a file holding one scalar is that scalar. Flattening joins keys with dots.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import yaml

from mlci.errors import InputFileError

try:
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

Scalar = bool | int | float | str


class Yaml12Loader(_BaseLoader):
    """PyYAML with YAML 1.2 core-schema scalars, as ruamel's `typ="safe"` (and so DVC) reads them.

    Unlike YAML 1.1: `yes`/`no`/`on`/`off` are strings, `1e-3` is a float, `010` is decimal.
    """

    yaml_implicit_resolvers: dict[str, list[tuple[str, re.Pattern[str]]]] = {}  # noqa: RUF012


def _add_resolvers() -> None:
    add = Yaml12Loader.add_implicit_resolver
    base = _BaseLoader.yaml_implicit_resolvers
    # Keep null, timestamp, merge and value resolvers from PyYAML; replace bool, int and float.
    for first, resolvers in base.items():
        for tag, regexp in resolvers:
            if tag.endswith((":null", ":timestamp", ":merge", ":value")):
                Yaml12Loader.yaml_implicit_resolvers.setdefault(first, []).append((tag, regexp))
    add(
        "tag:yaml.org,2002:bool",
        re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
        list("tTfF"),
    )
    add(
        "tag:yaml.org,2002:int",
        re.compile(r"^(?:[-+]?[0-9_]+|0o[0-7_]+|0x[0-9a-fA-F_]+)$"),
        list("-+0123456789"),
    )
    add(
        "tag:yaml.org,2002:float",
        re.compile(
            r"^(?:[-+]?(?:\.[0-9_]+|[0-9_]+(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?"
            r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
        ),
        list("-+0123456789."),
    )


_add_resolvers()


def _construct_int(loader: Yaml12Loader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node)).replace("_", "")
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 10)


def _construct_float(loader: Yaml12Loader, node: yaml.ScalarNode) -> float:
    text = str(loader.construct_scalar(node)).replace("_", "").lower()
    if text.endswith(".inf"):
        return float("-inf") if text.startswith("-") else float("inf")
    if text == ".nan":
        return float("nan")
    return float(text)


def _construct_bool(loader: Yaml12Loader, node: yaml.ScalarNode) -> bool:
    return str(loader.construct_scalar(node)).lower() == "true"


Yaml12Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
Yaml12Loader.add_constructor("tag:yaml.org,2002:float", _construct_float)
Yaml12Loader.add_constructor("tag:yaml.org,2002:bool", _construct_bool)


def parse_metrics_text(text: bytes, path: str, where: str = "") -> Any:
    """Parse one metrics file the way DVC does; returns the extracted value ({} when empty).

    `where` names the revision for error messages ("" for the work tree).
    """
    value = load_text(text, path, where, kind="metrics")
    try:
        extracted = extract_metrics(value) or {}
    except RecursionError:
        at = f" at {where}" if where else ""
        raise InputFileError(f"metrics file is nested too deeply to read{at}", path=path) from None
    _refuse_huge_integers(extracted, path, where)
    return extracted


def parse_params_text(text: bytes, path: str, where: str = "", *, raw: bool = False) -> Any:
    """Parse one params file the way `dvc params diff` shows it: every value kept, lists as
    Python prints them (DVC's `format_dict`). `raw`: the values as loaded (for `vars:`)."""
    value = load_text(text, path, where, kind="params")
    if raw:
        return value
    try:
        return format_params(value)
    except RecursionError:
        at = f" at {where}" if where else ""
        raise InputFileError(f"params file is nested too deeply to read{at}", path=path) from None


def format_params(value: Any) -> Any:
    """DVC's `format_dict`: lists become their Python `str()`, mappings are kept nested."""
    if isinstance(value, dict):
        return {key: format_params(item) for key, item in value.items()}
    if isinstance(value, list):
        return str(value)
    return value


def load_text(text: bytes, path: str, where: str = "", *, kind: str = "metrics") -> Any:
    """A JSON, TOML or YAML (any other extension) file's content as loaded, {} when empty."""
    suffix = path.rsplit("/", 1)[-1]
    suffix = suffix[suffix.rfind(".") :].lower() if "." in suffix else ""
    try:
        decoded = text.decode("utf-8")
        if suffix == ".json":
            return json.loads(decoded) or {}
        if suffix == ".toml":
            return _toml().loads(decoded)
        return yaml.load(decoded, Loader=Yaml12Loader) or {}
    except RecursionError:
        at = f" at {where}" if where else ""
        raise InputFileError(f"{kind} file is nested too deeply to read{at}", path=path) from None
    except (ValueError, yaml.YAMLError) as exc:
        at = f" at {where}" if where else ""
        syntax = {".json": "JSON", ".toml": "TOML"}.get(suffix, "YAML")
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputFileError(
            f"{kind} file does not parse as {syntax}{at}: {detail}", path=path
        ) from None


def _refuse_huge_integers(value: Any, path: str, where: str) -> None:
    """An integer past what a float holds (1e308) cannot be compared or diffed."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        name, item = stack.pop()
        if isinstance(item, dict):
            stack.extend(
                (f"{name}.{key}" if name else str(key), child) for key, child in item.items()
            )
        elif isinstance(item, int) and not isinstance(item, bool) and abs(item) > 2**1023:
            at = f" at {where}" if where else ""
            raise InputFileError(
                f"metric {name or 'value'!r}{at} is an integer too large to compare (past 1e308)",
                path=path,
            )


def _toml() -> Any:
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib
    import tomli  # pragma: no cover

    return tomli  # pragma: no cover


def extract_metrics(value: Any) -> Any:
    """DVC's `_extract_metrics`: keep scalars and mappings of scalars; drop everything else."""
    if isinstance(value, int | float | str):
        return value
    if not isinstance(value, dict):
        return None
    kept = {}
    for key, item in value.items():
        extracted = extract_metrics(item)
        if extracted is not None and extracted != {}:
            kept[key] = extracted
    return kept


def flatten(data: Any) -> dict[str, Scalar]:
    """Dotted keys for nested mappings; a scalar file gets the key ""."""
    if isinstance(data, dict):
        flat: dict[str, Scalar] = {}
        _flatten_into(data, "", flat)
        return flat
    if data is None or data == {}:
        return {}
    return {"": data}


def _flatten_into(data: dict[Any, Any], prefix: str, out: dict[str, Scalar]) -> None:
    for key, value in data.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            _flatten_into(value, name, out)
        else:
            out[name] = value
