"""Read files at git revisions with plumbing only: nothing is checked out or touched."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from mlci.errors import GitError

SHALLOW_HINT = (
    "the clone is shallow and lacks the base commit: fetch the full history "
    "(in GitHub Actions: actions/checkout with `fetch-depth: 0`)"
)


@dataclass(frozen=True)
class BaseRevision:
    """The revision a PR is compared with, and how it was chosen (for the report)."""

    sha: str
    label: str
    """What the user would call it: `merge-base(HEAD, origin/main)`, or the rev they gave."""


class Git:
    """A git repository reached through the `git` executable. Built once per command."""

    def __init__(self, cwd: Path, executable: str = "git") -> None:
        self.cwd = cwd
        self.executable = executable
        self._toplevel: Path | None = None

    def run(self, *args: str, input: bytes | None = None, check: bool = True) -> bytes:
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
        try:
            done = subprocess.run(
                [self.executable, *args],
                cwd=self.cwd,
                input=input,
                capture_output=True,
                env=env,
                check=False,
            )
        except FileNotFoundError:
            raise GitError("git is not installed or not on PATH") from None
        if check and done.returncode != 0:
            message = done.stderr.decode(errors="replace").strip().splitlines()
            raise GitError(f"git {args[0]} failed: {message[-1] if message else 'unknown error'}")
        return done.stdout

    @property
    def toplevel(self) -> Path:
        if self._toplevel is None:
            try:
                out = self.run("rev-parse", "--show-toplevel")
            except GitError:
                raise GitError(
                    f"{self.cwd} is not inside a git repository",
                    hint="run mlci inside the repository, or compare against a baseline "
                    "directory (`baseline: {source: files, dir: ...}`)",
                ) from None
            self._toplevel = Path(out.decode().strip())
        return self._toplevel

    def is_shallow(self) -> bool:
        return self.run("rev-parse", "--is-shallow-repository").strip() == b"true"

    def resolve(self, rev: str) -> str:
        """The commit sha of `rev`, or a GitError saying why it does not exist."""
        self.toplevel  # noqa: B018 - fail first with "not a git repository"
        out = self.run(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}", check=False
        )
        if not out.strip():
            hint = SHALLOW_HINT if self.is_shallow() else "check the name with `git log --oneline`"
            raise GitError(f"git revision {rev!r} does not exist", hint=hint)
        return out.decode().strip()

    def merge_base(self, a: str, b: str) -> str:
        sha_a, sha_b = self.resolve(a), self.resolve(b)
        out = self.run("merge-base", sha_a, sha_b, check=False).decode().strip()
        if not out:
            if self.is_shallow():
                raise GitError(f"no merge-base of {a} and {b} in this clone", hint=SHALLOW_HINT)
            raise GitError(f"{a} and {b} have no common ancestor")
        return out

    def relative(self, path: Path) -> str:
        """`path` relative to the repository top, as git spells it."""
        absolute = path if path.is_absolute() else (self.cwd / path)
        try:
            return absolute.resolve().relative_to(self.toplevel.resolve()).as_posix()
        except ValueError:
            raise GitError(f"{path} is outside the git repository {self.toplevel}") from None

    def read_files(self, rev: str, paths: Iterable[str]) -> dict[str, bytes | None]:
        """Contents of repository-relative `paths` at commit `rev` (None where absent).

        One `git cat-file --batch` process reads them all.
        """
        wanted = list(dict.fromkeys(paths))
        if not wanted:
            return {}
        request = "".join(f"{rev}:{path}\n" for path in wanted).encode()
        out = self.run("-C", str(self.toplevel), "cat-file", "--batch", input=request)
        return dict(zip(wanted, _parse_batch(out, len(wanted)), strict=True))


def _parse_batch(out: bytes, count: int) -> list[bytes | None]:
    contents: list[bytes | None] = []
    position = 0
    for _ in range(count):
        end = out.index(b"\n", position)
        header = out[position:end].split()
        position = end + 1
        if len(header) == 3 and header[1] == b"blob":
            size = int(header[2])
            contents.append(out[position : position + size])
            position += size + 1
        else:  # "missing", "ambiguous", or a tree
            contents.append(None)
    return contents


def default_base(
    git: Git,
    *,
    branch: str,
    remote: str,
    env: Mapping[str, str],
    rev: str | None = None,
) -> BaseRevision:
    """The base of a PR: a pinned rev, or the merge-base of HEAD and the base branch.

    In GitHub Actions the base branch is GITHUB_BASE_REF; locally, `remote/branch` when that
    remote-tracking branch exists, else the local `branch`.
    """
    git.toplevel  # noqa: B018 - fail first with "not a git repository"
    if rev:
        return BaseRevision(sha=git.resolve(rev), label=rev)
    base_branch = env.get("GITHUB_BASE_REF") or branch
    candidates = [f"{remote}/{base_branch}", base_branch]
    for candidate in candidates:
        probe = git.run("rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}", check=False)
        if probe.strip():
            sha = git.merge_base("HEAD", candidate)
            return BaseRevision(sha=sha, label=f"merge-base(HEAD, {candidate})")
    hint = (
        SHALLOW_HINT
        if git.is_shallow()
        else f"fetch it (`git fetch {remote} {base_branch}`), or pass --base REV"
    )
    raise GitError(
        f"base branch {base_branch!r} not found (tried {', '.join(candidates)})", hint=hint
    )
