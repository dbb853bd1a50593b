"""The inputs hash of `train:`: what the outputs depend on, as one stable digest.

Each input file counts by its git blob id: read from the index for a tracked file whose work-tree
copy git sees as unchanged, computed from the content otherwise (the same id git would give it),
so the hash is the same in every clone and checkout and never depends on mtimes. The command,
the declared outputs and the Python version are part of the digest.
"""

from __future__ import annotations

import hashlib
import shlex
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mlci.errors import ConfigError, GitError
from mlci.sources.git import Git

HASH_FORMAT = "mlci-train-inputs 1"
"""Bumped whenever what goes into the digest changes, so old cache entries stop matching."""
_CHUNK = 1 << 20


@dataclass(frozen=True)
class InputFile:
    path: str
    """Relative to the project directory, with `/` separators."""
    blob: str
    """The git blob id of the content."""


@dataclass(frozen=True)
class TrainInputs:
    files: tuple[InputFile, ...]
    command: str
    outputs: tuple[str, ...]
    python: str

    @property
    def digest(self) -> str:
        """The inputs hash: sha256 over a canonical listing of everything above."""
        lines = [
            HASH_FORMAT,
            f"command {self.command}",
            f"python {self.python}",
            *(f"output {output}" for output in sorted(self.outputs)),
            *(f"file {item.blob} {item.path}" for item in self.files),
        ]
        return hashlib.sha256("\n".join(lines).encode("utf-8", "surrogateescape")).hexdigest()


def python_version() -> str:
    """The interpreter's implementation and minor version (`cpython-3.12`): a patch release
    does not retrain, a new minor version does."""
    return f"{sys.implementation.name}-{sys.version_info[0]}.{sys.version_info[1]}"


def normalize_command(command: str) -> str:
    """The command as the shell will read it: spacing and quoting styles do not count."""
    try:
        return shlex.join(shlex.split(command))
    except ValueError:  # unbalanced quotes: the shell will complain when it runs
        return command.strip()


def blob_id(path: Path) -> str:
    """The id git gives this file's content (`git hash-object`), read in chunks."""
    size = path.stat().st_size
    digest = hashlib.sha1(f"blob {size}\0".encode(), usedforsecurity=False)
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def expand_inputs(
    root: Path, patterns: Sequence[str], *, exclude: Iterable[str] = (), config: Path | None = None
) -> list[str]:
    """Every file the patterns name (a file, a directory's files, or a glob), relative to root,
    sorted. A pattern that matches no file is a mistake in the declaration."""
    skipped = tuple(item.rstrip("/") + "/" for item in (".git", *exclude))
    found: set[str] = set()
    for index, pattern in enumerate(patterns):
        matches: list[Path] = []
        target = root / pattern
        if target.is_file():
            matches = [target]
        elif target.is_dir():
            matches = [path for path in target.rglob("*") if path.is_file()]
        else:
            matches = [path for path in root.glob(pattern) if path.is_file()]
        names = [
            name
            for name in (path.relative_to(root).as_posix() for path in matches)
            if not (name + "/").startswith(skipped) and not name.startswith(skipped)
        ]
        if not names:
            raise ConfigError(
                f"train.inputs[{index}] {pattern!r} matches no file",
                path=config,
                hint="declare files, directories or globs that exist before training runs",
            )
        found.update(names)
    return sorted(found)


def tracked_blobs(root: Path, git: Git | None) -> dict[str, str]:
    """Blob ids from the index of the files under root whose work-tree copy is unchanged as git
    sees it; empty outside a repository."""
    if git is None:
        return {}
    try:
        listed = git.run("ls-files", "--stage", "-z", "--", ".")
        changed = git.run("diff-files", "--name-only", "-z", "--relative", "--", ".")
    except GitError:
        return {}
    modified = {name.decode("utf-8", "surrogateescape") for name in changed.split(b"\0") if name}
    blobs: dict[str, str] = {}
    for entry in listed.split(b"\0"):
        if not entry:
            continue
        info, _, name = entry.partition(b"\t")
        mode, blob, stage = info.decode().split(" ")
        path = name.decode("utf-8", "surrogateescape")
        if stage == "0" and mode.startswith("100") and path not in modified:
            blobs[path] = blob
    return blobs


def collect_inputs(
    root: Path,
    patterns: Sequence[str],
    *,
    command: str,
    outputs: Sequence[str],
    git: Git | None,
    exclude: Iterable[str] = (),
    python: str | None = None,
    config: Path | None = None,
) -> TrainInputs:
    names = expand_inputs(root, patterns, exclude=exclude, config=config)
    known = tracked_blobs(root, git)
    files = tuple(InputFile(name, known.get(name) or blob_id(root / name)) for name in names)
    return TrainInputs(
        files=files,
        command=normalize_command(command),
        outputs=tuple(outputs),
        python=python or python_version(),
    )
