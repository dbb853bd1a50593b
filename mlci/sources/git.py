"""Read files at git revisions with plumbing only: nothing is checked out or touched."""

from __future__ import annotations

import os
import subprocess
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from mlci.errors import GitError, InputFileError, NoBaseBranch

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
        self._batch: subprocess.Popen[bytes] | None = None
        self._end_batch: weakref.finalize[[subprocess.Popen[bytes]], Git] | None = None

    def run(
        self,
        *args: str,
        input: bytes | None = None,
        check: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> bytes:
        """The output of `git ARGS`; a failure raises GitError with git's last line."""
        done = self.call(*args, input=input, env=env)
        if check and done.returncode != 0:
            message = done.stderr.decode(errors="replace").strip().splitlines()
            raise GitError(f"git {args[0]} failed: {message[-1] if message else 'unknown error'}")
        return done.stdout

    def call(
        self, *args: str, input: bytes | None = None, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        """`git ARGS`, whatever its exit code; `env` adds variables (credentials for a fetch or
        push go there, never in the arguments, which other processes can read)."""
        full_env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", **(env or {})}
        try:
            return subprocess.run(
                [self.executable, *args],
                cwd=self.cwd,
                input=input,
                capture_output=True,
                env=full_env,
                check=False,
            )
        except FileNotFoundError:
            raise GitError("git is not installed or not on PATH") from None

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
        sha = self._object_id(f"{rev}^{{commit}}") if "\n" not in rev else None
        if sha is None:
            hint = SHALLOW_HINT if self.is_shallow() else "check the name with `git log --oneline`"
            raise GitError(f"git revision {rev!r} does not exist", hint=hint)
        return sha

    def exists(self, name: str) -> bool:
        return "\n" not in name and self._object_id(name) is not None

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
        except (RuntimeError, OSError):  # Python < 3.13 says a symlink loop with RuntimeError
            raise InputFileError("is a symbolic link loop", path=path) from None

    def read_files(self, rev: str, paths: Iterable[str]) -> dict[str, bytes | None]:
        """Contents of repository-relative `paths` at commit `rev` (None where absent).

        One `git cat-file --batch` process reads them all.
        """
        return {path: self._read_object(f"{rev}:{path}") for path in dict.fromkeys(paths)}

    def _object_id(self, name: str) -> str | None:
        found = self._request(name)
        return found[0] if found else None

    def _read_object(self, name: str) -> bytes | None:
        found = self._request(name)
        return found[2] if found and found[1] == "blob" else None

    def _request(self, name: str) -> tuple[str, str, bytes] | None:
        """(id, type, content) of `name` from a long-lived `git cat-file --batch`, the one
        process that resolves revisions and reads every file of a command."""
        if self._batch is None:
            self._batch = subprocess.Popen(
                [self.executable, "-C", str(self.toplevel), "cat-file", "--batch"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env={**os.environ, "LC_ALL": "C"},
            )
            # Not __del__: a Git in a reference cycle is freed with its process and pipes, and
            # the collector may finalize the pipes first (an "unclosed file" ResourceWarning,
            # and git left running). The finalizer holds the process, so it stays reachable
            # until the finalizer has ended it: when the Git goes, on close(), or at exit.
            self._end_batch = weakref.finalize(self, _end_batch, self._batch)
        assert self._batch.stdin is not None
        assert self._batch.stdout is not None
        if "\n" in name or "\r" in name:  # one name per line: it cannot be asked for
            return None
        self._batch.stdin.write(name.encode() + b"\n")
        self._batch.stdin.flush()
        # "<oid> <type> <size>", or "<name> missing" / "<name> ambiguous", where the name
        # may hold spaces ("HEAD main:metrics.json"): the last word decides.
        header = self._batch.stdout.readline().rstrip(b"\n").split(b" ")
        if len(header) != 3 or not header[2].isdigit():
            return None
        content = self._batch.stdout.read(int(header[2]) + 1)[:-1]
        return header[0].decode(), header[1].decode(), content

    def close(self) -> None:
        """End the `git cat-file --batch` process, if one was started (a later request starts
        another)."""
        if self._end_batch is not None:
            self._end_batch()
        self._batch = self._end_batch = None


def _end_batch(process: subprocess.Popen[bytes]) -> None:
    """End a `git cat-file --batch`: its input closed, it exits; then its output is closed."""
    if process.stdin is not None:
        process.stdin.close()
    process.wait()
    if process.stdout is not None:
        process.stdout.close()


def default_base(
    git: Git,
    *,
    branch: str | None,
    remote: str,
    env: Mapping[str, str],
    rev: str | None = None,
) -> BaseRevision:
    """The base of a PR: a pinned rev, or the merge-base of HEAD and the base branch.

    The base branch is GITHUB_BASE_REF in GitHub Actions, else `branch` when configured, else
    the remote's default branch (`origin/HEAD`), else main or master. Each is looked up as the
    remote-tracking branch first (`origin/main`), then as a local branch.

    In a merge queue (`merge_group` event) the base is the queue's base commit.

    On a push to the base branch itself (GitHub Actions, `push` event) the merge-base is HEAD,
    and a comparison with it would show nothing: the base is then the branch as it was before
    the push (the event's `before` commit), when the clone has it.
    """
    git.toplevel  # noqa: B018 - fail first with "not a git repository"
    if rev:
        return BaseRevision(sha=git.resolve(rev), label=rev)
    if (queued := _merge_group_base(git, env)) is not None:
        return queued
    named, names, candidates = _base_branch_candidates(git, branch=branch, remote=remote, env=env)
    for candidate in candidates:
        if git.exists(f"{candidate}^{{commit}}"):
            sha = git.merge_base("HEAD", candidate)
            if sha == git.resolve("HEAD") and (before := _before_push(git, env)) is not None:
                return before
            return BaseRevision(sha=sha, label=f"merge-base(HEAD, {candidate})")
    wanted = names[0]
    hint = (
        SHALLOW_HINT
        if git.is_shallow()
        else f"fetch it (`git fetch {remote} {wanted}`), set `baseline.branch`, or pass --base REV"
    )
    if not named and not git.is_shallow():
        raise NoBaseBranch(f"no base branch found (tried {', '.join(candidates)})", hint=hint)
    what = f"base branch {wanted!r} not found" if named else "no base branch found"
    raise GitError(f"{what} (tried {', '.join(candidates)})", hint=hint)


def base_branch(git: Git, *, branch: str | None, remote: str, env: Mapping[str, str]) -> str | None:
    """The base branch as a revision name (`origin/main`, else `main`), found the way
    `default_base` finds it; None when there is none."""
    _, _, candidates = _base_branch_candidates(git, branch=branch, remote=remote, env=env)
    return next((c for c in candidates if git.exists(f"{c}^{{commit}}")), None)


def _base_branch_candidates(
    git: Git, *, branch: str | None, remote: str, env: Mapping[str, str]
) -> tuple[str | None, list[str], list[str]]:
    named = env.get("GITHUB_BASE_REF") or branch
    if named:
        names = [named]
    else:
        names = [name for name in (_remote_default(git, remote), "main", "master") if name]
    candidates = list(dict.fromkeys(c for name in names for c in (f"{remote}/{name}", name)))
    return named, names, candidates


def _before_push(git: Git, env: Mapping[str, str]) -> BaseRevision | None:
    """The pushed branch's previous tip, from a GitHub Actions `push` event, if the clone has it
    (not for a new branch, whose `before` is all zeros, nor after a shallow checkout)."""
    from mlci.sources.github_event import actions_environment

    if env.get("GITHUB_EVENT_NAME") != "push" or not env.get("GITHUB_EVENT_PATH"):
        return None
    try:
        before = actions_environment(env).event().get("before")
    except InputFileError:
        return None
    if not isinstance(before, str) or not before.strip("0"):
        return None  # a new branch
    if not git.exists(f"{before}^{{commit}}"):
        return None  # a shallow clone, or a force-push that dropped it
    return BaseRevision(sha=git.resolve(before), label=f"{before[:12]} (before the push)")


def _merge_group_base(git: Git, env: Mapping[str, str]) -> BaseRevision | None:
    """In a merge queue (`merge_group` event) the base is the commit the queue built this pull
    request's merge on: the base branch with the pull requests ahead of it in the queue."""
    from mlci.sources.github_event import actions_environment

    if env.get("GITHUB_EVENT_NAME") != "merge_group" or not env.get("GITHUB_EVENT_PATH"):
        return None
    try:
        group = actions_environment(env).event().get("merge_group")
    except InputFileError:
        return None
    base = group.get("base_sha") if isinstance(group, dict) else None
    if not isinstance(base, str) or not git.exists(f"{base}^{{commit}}"):
        return None
    return BaseRevision(sha=git.resolve(base), label=f"{base[:12]} (merge queue base)")


def _remote_default(git: Git, remote: str) -> str | None:
    """The branch `remote/HEAD` points at (set by `git clone`), if any."""
    out = git.run("symbolic-ref", "--quiet", f"refs/remotes/{remote}/HEAD", check=False)
    prefix = f"refs/remotes/{remote}/"
    text = out.decode().strip()
    return text[len(prefix) :] if text.startswith(prefix) else None
