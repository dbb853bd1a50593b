"""Tracked Python files that the training script imports but `train.inputs` does not cover: a
change to one of them would not retrain, so `mlci train` and `mlci check` warn about them."""

from __future__ import annotations

import ast
import shlex
from collections.abc import Iterable
from pathlib import Path

from mlci.errors import GitError
from mlci.sources.git import Git


def entry_points(command: str, root: Path) -> list[Path]:
    """The Python files the command starts: `python train.py`, `python -m pkg.train`."""
    try:
        words = shlex.split(command)
    except ValueError:
        return []
    found: list[Path] = []
    for index, word in enumerate(words):
        if word.endswith(".py") and (root / word).is_file():
            found.append(root / word)
        elif word == "-m" and index + 1 < len(words):
            module = _module_file(words[index + 1], (root,))
            if module is not None:
                found.append(module)
    return found


def reachable_modules(entries: Iterable[Path], root: Path) -> set[Path]:
    """Every file under root reachable by imports from the entry points."""
    seen: set[Path] = set()
    pending = [path.resolve() for path in entries]
    top = root.resolve()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        try:
            tree = ast.parse(path.read_bytes(), filename=str(path))
        except (OSError, SyntaxError, ValueError):
            continue
        search = (path.parent, top)
        for name in _imported_names(tree, path):
            module = _module_file(name, search)
            if module is not None and module.resolve().is_relative_to(top):
                pending.append(module.resolve())
    return seen


def undeclared_imports(
    command: str, root: Path, declared: Iterable[str], git: Git | None = None
) -> list[str]:
    """Tracked files reachable from the training script and missing from the inputs, relative
    to root."""
    covered = {(root / name).resolve() for name in declared}
    tracked = _tracked(root, git if git is not None else Git(root))
    missing = []
    for path in reachable_modules(entry_points(command, root), root):
        relative = path.relative_to(root.resolve()).as_posix()
        if path not in covered and relative in tracked:
            missing.append(relative)
    return sorted(missing)


def _imported_names(tree: ast.AST, path: Path) -> list[str]:
    names: list[str] = []
    package = path.parent
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's own package directory
                base = package
                for _ in range(node.level - 1):
                    base = base.parent
                prefix = [str(base / (node.module or "").replace(".", "/"))]
                names.extend(
                    f"{prefix[0]}/{alias.name}" if alias.name != "*" else prefix[0]
                    for alias in node.names
                )
                names.append(prefix[0])
            elif node.module:
                names.append(node.module)
                names.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _module_file(name: str, search: Iterable[Path]) -> Path | None:
    if name.startswith("/"):  # an absolute path from a relative import
        candidates = [Path(name)]
    else:
        candidates = [directory / name.replace(".", "/") for directory in search]
    for base in candidates:
        for candidate in (base.with_name(base.name + ".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


def _tracked(root: Path, git: Git) -> set[str]:
    try:
        listed = git.run("ls-files", "-z", "--", ".")
    except GitError:
        return set()
    return {name.decode("utf-8", "surrogateescape") for name in listed.split(b"\0") if name}
