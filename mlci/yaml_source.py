"""Read YAML files keeping where every value came from, so errors can name file:line:column."""

from __future__ import annotations

import re
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
    """Read a UTF-8 text file, turning every OS-level problem into a one-line user error;
    a device or FIFO (a symlink to /dev/zero) is refused, not read forever."""
    try:
        if path.exists() and not path.is_dir() and not path.is_file():
            raise error(f"{what} is not a regular file", path=path)
        raw = path.read_bytes()
    except FileNotFoundError:
        raise error(f"{what} not found", path=path, hint="check the path") from None
    except IsADirectoryError:
        raise error(f"{what} is a directory, not a file", path=path) from None
    except PermissionError:
        raise error(f"{what} is not readable (permission denied)", path=path) from None
    except OSError as exc:
        raise error(f"cannot read {what}: {exc.strerror}", path=path) from None
    except RuntimeError:  # Python < 3.13 says a symlink loop this way
        raise error(f"cannot read {what}: symbolic link loop", path=path) from None
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
            _check_size(node)
            _record(node, doc)
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
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (NUL, ...)
        before = text[: exc.position]
        code = ord(exc.character) if isinstance(exc.character, str) else int(exc.character)
        raise error(
            f"{what} is not valid YAML: character U+{code:04X} is not allowed (control "
            "characters are not)",
            path=path,
            line=before.count("\n") + 1,
            column=exc.position - (before.rfind("\n") + 1) + 1,
        ) from None
    except yaml.YAMLError as exc:
        raise error(f"{what} is not valid YAML: {exc}", path=path) from None
    except RecursionError:
        raise error(f"{what} is nested too deeply to read", path=path) from None
    except ValueError as exc:  # an integer of more digits than Python converts (4,300)
        digits = re.search(r"\d{4300,}", text)
        raise error(
            f"{what} is not valid YAML: {str(exc).split('; use sys.')[0]}",
            path=path,
            line=text.count("\n", 0, digits.start()) + 1 if digits else None,
        ) from None
    finally:
        loader.dispose()
    return doc


def load_yaml(path: Path, what: str, error: type[MlciError] = InputFileError) -> YamlDocument:
    return parse_yaml(read_text(path, what, error), path, what, error)


MAX_NODES = 200_000
"""Nodes a document may hold once its aliases are expanded: far above any real config or
schema, far below what a billion-laughs document expands to."""
MAX_DEPTH = 500
"""Nesting levels a document may have (a deeper one is not a config or a schema)."""


def _check_size(root: yaml.Node) -> None:
    """Refuse a document whose aliases expand past `MAX_NODES` or that nests past `MAX_DEPTH`,
    measured without expanding it: each node's expanded size is counted once (an alias is the
    same node object as its anchor)."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, children_done = stack.pop()
        if id(node) in sizes:
            continue
        if depth > MAX_DEPTH:
            raise yaml.MarkedYAMLError(
                problem=f"nested more than {MAX_DEPTH} levels deep", problem_mark=node.start_mark
            )
        children = _children(node)
        if children_done or not children:
            size = 1 + sum(sizes[id(child)] for child in children)
            if size > MAX_NODES:
                raise yaml.MarkedYAMLError(
                    problem=f"expands to more than {MAX_NODES:,} values (through its aliases)",
                    problem_mark=node.start_mark,
                )
            sizes[id(node)] = size
            continue
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in children if id(child) not in sizes)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _record(root: yaml.Node, doc: YamlDocument) -> None:
    """The position of every key and value, walked without recursion; an alias's contents are
    recorded once, at the anchor (positions below a later alias fall back to the alias)."""
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, PathKey]] = [(root, ())]
    while stack:
        node, key = stack.pop()
        doc.values[key] = Position(node.start_mark.line + 1, node.start_mark.column + 1)
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            names: set[str] = set()
            for key_node, value_node in node.value:
                name = str(key_node.value)
                if name in names and name != "<<":
                    raise yaml.MarkedYAMLError(
                        problem=f"duplicate key {name!r}", problem_mark=key_node.start_mark
                    )
                names.add(name)
                child = (*key, name)
                doc.keys[child] = Position(
                    key_node.start_mark.line + 1, key_node.start_mark.column + 1
                )
                stack.append((value_node, child))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, (*key, index)) for index, item in enumerate(node.value))
