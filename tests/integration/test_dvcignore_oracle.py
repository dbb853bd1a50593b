"""`.dvcignore` as DVC reads it: mlci's matcher (mlci/sources/dvcignore.py) against DVC's own
walk (`DvcIgnoreFilter.walk`) over generated trees, patterns and nested `.dvcignore` files
(about two cases in three hide some files; 400 hidden files over the 150 cases)."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from mlci.sources.dvcignore import DvcIgnore

dvc_ignore = pytest.importorskip("dvc.ignore", reason="dvc is not installed")

DIRS = ("", "a/", "b/", "data/", "sub/", "sub/data/", "a/b/", "a/b/c/", "old/", "sub/old/keep/")
FILES = ("dvc.yaml", "x.csv", "keep.txt", "y.tmp", "#x", "ab.csv", "dvc.lock")
PATTERNS = (
    "*.csv", "data/", "data", "/a", "a/", "!keep.txt", "**/b", "a/**/x.csv", "sub/", "!sub/",
    "!data/keep.txt", "b/*", "\\#x", "*.tmp", "!/sub/", "x*", "?.csv", "[ab]/", "!*.csv",
    "old", "!/old/keep/", "c/", "/dvc.yaml", "**/dvc.yaml", "!a/b/c/", "a/b", "*/x.csv",
    "!**/keep.txt", "data/**", "sub/**/keep/", "  spaced.csv  ", "# comment", "",
)  # fmt: skip


def _tree(rng: random.Random, root: Path) -> list[str]:
    paths = set()
    for _ in range(rng.randint(4, 20)):
        paths.add(rng.choice(DIRS) + rng.choice(FILES))
    for directory in rng.sample(DIRS, rng.randint(1, 4)):
        patterns = rng.sample(PATTERNS, rng.randint(2, 6))
        (root / directory).mkdir(parents=True, exist_ok=True)
        (root / directory / ".dvcignore").write_text("\n".join(patterns) + "\n")
        paths.add(directory + ".dvcignore")
    if rng.random() < 0.2:  # a sub-repository
        paths.add("sub/.dvc/config")
    for path in paths:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        if not (root / path).exists():
            (root / path).write_text("x\n")
    return sorted(paths)


def _dvc_sees(root: Path) -> set[str]:
    from dvc.fs import localfs

    ignore = dvc_ignore.DvcIgnoreFilter(localfs, os.fspath(root))
    seen = set()
    for top, _dirs, files in ignore.walk(localfs, os.fspath(root)):
        for name in files:
            seen.add(Path(top, name).relative_to(root).as_posix())
    return seen


@pytest.mark.parametrize("seed", range(150))
def test_dvcignore_matches_dvc(tmp_path: Path, seed: int) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    listing = _tree(random.Random(seed), root)

    def read_many(paths: list[str]) -> dict[str, bytes | None]:
        return {path: (root / path).read_bytes() for path in paths}

    ours = set(DvcIgnore(frozenset(listing), read_many).filter(listing))
    assert ours == _dvc_sees(root), "\n".join(
        f"{path}: {(root / path).read_text()!r}" for path in listing if "dvcignore" in path
    )
