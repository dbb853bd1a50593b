"""The one `git cat-file --batch` process of a `Git` ends cleanly however the `Git` is freed."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterator

import pytest
from conftest import GitRepo

from mlci.sources.git import Git


@pytest.fixture
def unraisable(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """What finalizers could not raise while the test ran (pytest's own hook is put back);
    the collector runs only when the test says so."""
    seen: list[str] = []
    monkeypatch.setattr(
        sys, "unraisablehook", lambda u: seen.append(f"{u.object!r}: {u.exc_value!r}")
    )
    gc.disable()
    try:
        yield seen
    finally:
        gc.enable()


def test_a_git_freed_by_the_cycle_collector_ends_its_process_with_no_unclosed_file(
    git_repo: GitRepo, unraisable: list[str]
) -> None:
    # A Git inside a reference cycle (a traceback's frames, a closure) is freed by the collector
    # with its process and pipes. When the Git is a generation older than the pipes, the
    # collector finalizes the pipes first: with the process ended in Git.__del__, that was
    # "Exception ignored in: <_io.FileIO name=N mode='rb' closefd=True>" (ResourceWarning:
    # unclosed file) in whatever test ran the collector, and git left running until then.
    git_repo.write("a.txt", "hi\n")
    git_repo.commit()
    gc.collect()
    git = Git(git_repo.path)
    git.cycle = git  # type: ignore[attr-defined]
    gc.collect(0)  # the Git survives a young collection: it is older than its pipes
    assert git.read_files("HEAD", ["a.txt"]) == {"a.txt": b"hi\n"}
    assert git._batch is not None
    pid = git._batch.pid  # not the process itself: the Git's cycle must be all that holds it
    del git
    gc.collect()
    assert unraisable == []
    with pytest.raises(ChildProcessError):  # ended and waited for when the Git was freed
        os.waitpid(pid, os.WNOHANG)


def test_close_ends_the_process_and_a_later_read_starts_another(git_repo: GitRepo) -> None:
    git_repo.write("a.txt", "hi\n")
    git_repo.commit()
    git = Git(git_repo.path)
    assert git.read_files("HEAD", ["a.txt"]) == {"a.txt": b"hi\n"}
    first = git._batch
    assert first is not None
    git.close()
    git.close()  # again: nothing left to end
    assert first.returncode == 0
    assert git.read_files("HEAD", ["a.txt", "b.txt"]) == {"a.txt": b"hi\n", "b.txt": None}
    git.close()
