"""Read YAML files keeping where every value came from, so errors can name file:line:column."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlci.errors import InputFileError, MlciError

try:  # the C loader is several times faster; fall back to pure Python where libyaml is absent
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

PathKey = tuple[str | int, ...]


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based


@dataclass
class YamlDocument:
    """A parsed YAML document and the position of every key and value in it."""

    path: Path
    data: Any
    values: dict[PathKey, Position] = field(default_factory=dict)
    keys: dict[PathKey, Position] = field(default_factory=dict)

    def position(self, key: PathKey, *, prefer_key: bool = False) -> Position | None:
        """Where `key` is, or the nearest enclosing value that has a position."""
        table = (self.keys, self.values) if prefer_key else (self.values, self.keys)
        probe = key
        while True:
            for positions in table:
                if probe in positions:
                    return positions[probe]
            if not probe:
                return None
            probe = probe[:-1]


def read_text(path: Path, what: str, error: type[MlciError] = InputFileError) -> str:
    """Read a UTF-8 text file, turning every OS-level problem into a one-line user error."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise error(f"{what} not found", path=path, hint="check the path") from None
    except IsADirectoryError:
        raise error(f"{what} is a directory, not a file", path=path) from None
    except PermissionError:
        raise error(f"{what} is not readable (permission denied)", path=path) from None
    except OSError as exc:
        raise error(f"cannot read {what}: {exc.strerror}", path=path) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        raise error(
            f"{what} is not valid UTF-8",
            path=path,
            line=before.count(b"\n") + 1,
            column=exc.start - (before.rfind(b"\n") + 1) + 1,
            hint="save the file as UTF-8",
        ) from None


def parse_yaml(
    text: str, path: Path, what: str, error: type[MlciError] = InputFileError
) -> YamlDocument:
    """Parse one YAML document from `text`, recording positions; YAML errors name the line."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        doc = YamlDocument(path=path, data=None)
        if node is not None:
            _record(node, (), doc)
            doc.data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise error(
            f"{what} is not valid YAML: {problem}",
            path=path,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from None
    except yaml.YAMLError as exc:
        raise error(f"{what} is not valid YAML: {exc}", path=path) from None
    finally:
        loader.dispose()
    return doc


def load_yaml(path: Path, what: str, error: type[MlciError] = InputFileError) -> YamlDocument:
    return parse_yaml(read_text(path, what, error), path, what, error)


def _record(node: yaml.Node, key: PathKey, doc: YamlDocument) -> None:
    doc.values[key] = Position(node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            name = str(key_node.value)
            if name in seen and name != "<<":
                raise yaml.MarkedYAMLError(
                    problem=f"duplicate key {name!r}", problem_mark=key_node.start_mark
                )
            seen.add(name)
            child = (*key, name)
            doc.keys[child] = Position(key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            _record(value_node, child, doc)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record(item, (*key, index), doc)
