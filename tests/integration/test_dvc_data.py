"""DVC repositories built for real (git init, dvc init, a local directory remote, dvc add, dvc
repro, commits on two branches): the data changes of a PR in the report, checked against
`dvc diff`, metrics without any mlci config, and tracked files read at another revision through
DVC's API from the cache or the remote."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import GitRepo, Invoker

from mlci.errors import GitError, InputFileError
from mlci.integrations.dvc import (
    data_changes,
    fetch_at_revision,
    is_dvc_tracked,
    read_at_revision,
)
from mlci.report.model import DataChange
from mlci.sources.git import Git

DVC = shutil.which("dvc", path=str(Path(sys.executable).parent)) or shutil.which("dvc")
pytestmark = pytest.mark.skipif(
    DVC is None, reason="dvc is not installed (pip install 'mlci[dvc]')"
)

TRAIN = """\
import json
rows = open("data/raw.csv").read().splitlines()[1:]
lr = open("params.yaml").read().split(":")[1].strip()
json.dump({"rows": len(rows), "accuracy": round(0.5 + 0.1 * len(rows), 3)}, open("metrics.json", "w"))
open("model.bin", "w").write(f"{len(rows)} rows, lr {lr}")
"""
DVC_YAML = f"""\
stages:
  train:
    cmd: {sys.executable} train.py
    deps: [data/raw.csv, train.py]
    params: [lr]
    outs: [model.bin]
    metrics:
      - metrics.json:
          cache: false
"""
BASE_CSV = "a,b\n1,2\n"
HEAD_CSV = "a,b\n1,2\n3,4\n"


def _dvc(repo: Path, *args: str) -> str:
    assert DVC is not None
    done = subprocess.run([DVC, *args], cwd=repo, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _out_entry(repo: GitRepo, rev: str, dvc_file: str) -> dict[str, Any]:
    """The first `outs` entry of a .dvc file at `rev`, as DVC wrote it."""
    entry: dict[str, Any] = yaml.safe_load(repo.git("show", f"{rev}:{dvc_file}"))["outs"][0]
    return entry


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


class DvcRepo(GitRepo):
    """A git + DVC repository with a local directory remote."""

    def __init__(self, path: Path, remote: Path) -> None:
        super().__init__(path)
        self.remote = remote
        self.dvc("init", "-q")
        self.dvc("remote", "add", "-d", "local", str(remote))
        self.commit("dvc init")

    def dvc(self, *args: str) -> str:
        return _dvc(self.path, *args)


@pytest.fixture(scope="module")
def two_branches(tmp_path_factory: pytest.TempPathFactory) -> DvcRepo:
    """main: the base data and pipeline, pushed; feature: one more row, one more image, the
    pipeline re-run and committed; the head's data is in the cache, not on the remote."""
    home = tmp_path_factory.mktemp("dvc-home")
    gitconfig = home / ".gitconfig"
    gitconfig.write_text("[user]\n\tname = mlci tests\n\temail = tests@mlci.invalid\n")
    with pytest.MonkeyPatch.context() as env:
        # Module scope runs before the per-test isolation: give DVC and git a private home.
        env.setenv("HOME", str(home))
        env.setenv("XDG_CONFIG_HOME", str(home / ".config"))
        env.setenv("XDG_CACHE_HOME", str(home / ".cache"))
        env.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
        env.setenv("GIT_CONFIG_NOSYSTEM", "1")
        env.setenv("DVC_NO_ANALYTICS", "1")
        env.setenv("DVC_SITE_CACHE_DIR", str(home / ".dvc-site-cache"))
        root = tmp_path_factory.mktemp("dvc")
        repo = DvcRepo(root / "repo", root / "remote")
        repo.write("data/raw.csv", BASE_CSV)
        repo.write("data/images/a.txt", "image a")
        repo.write("data/images/b.txt", "image b")
        repo.write("train.py", TRAIN)
        repo.write("params.yaml", "lr: 0.1\n")
        repo.write("dvc.yaml", DVC_YAML)
        repo.dvc("add", "-q", "data/raw.csv", "data/images")
        repo.dvc("repro", "-q")
        repo.commit("base")
        repo.dvc("push", "-q")
        repo.git("checkout", "-q", "-b", "feature")
        repo.write("data/raw.csv", HEAD_CSV)
        repo.write("data/images/c.txt", "image c")
        repo.dvc("add", "-q", "data/raw.csv", "data/images")
        repo.dvc("repro", "-q")
        repo.commit("more data")
    return repo


def test_data_changes_between_the_branches(two_branches: DvcRepo) -> None:
    repo = two_branches
    git = Git(repo.path)
    images = _out_entry(repo, "feature", "data/images.dvc")
    base_images = _out_entry(repo, "main", "data/images.dvc")
    base_model, head_model = "1 rows, lr 0.1", "2 rows, lr 0.1"
    base_metrics, head_metrics = '{"rows": 1, "accuracy": 0.6}', '{"rows": 2, "accuracy": 0.7}'
    expected = [
        DataChange(
            path="data/images",
            change="modified",
            source="data/images.dvc",
            role="out",
            old_hash=base_images["md5"],
            new_hash=images["md5"],
            old_size=14,
            new_size=21,
            old_files=2,
            new_files=3,
        ),
        DataChange(
            path="data/raw.csv",
            change="modified",
            source="data/raw.csv.dvc",
            role="out",
            old_hash=_md5(BASE_CSV),
            new_hash=_md5(HEAD_CSV),
            old_size=len(BASE_CSV),
            new_size=len(HEAD_CSV),
        ),
        DataChange(
            path="metrics.json",
            change="modified",
            source="dvc.lock",
            role="out",
            stage="train",
            old_hash=_md5(base_metrics),
            new_hash=_md5(head_metrics),
            old_size=len(base_metrics),
            new_size=len(head_metrics),
        ),
        DataChange(
            path="model.bin",
            change="modified",
            source="dvc.lock",
            role="out",
            stage="train",
            old_hash=_md5(base_model),
            new_hash=_md5(head_model),
            old_size=len(base_model),
            new_size=len(head_model),
        ),
        DataChange(
            path="data/raw.csv",
            change="modified",
            source="dvc.lock",
            role="dep",
            stage="train",
            old_hash=_md5(BASE_CSV),
            new_hash=_md5(HEAD_CSV),
            old_size=len(BASE_CSV),
            new_size=len(HEAD_CSV),
        ),
    ]
    assert base_images["md5"].endswith(".dir")
    assert data_changes(git, "main", "feature") == expected
    assert data_changes(git, "main", None) == expected  # the clean work tree is the head
    assert data_changes(git, "feature", "main")[1].change == "modified"
    assert data_changes(git, "feature", "feature") == []


def test_changed_outputs_agree_with_dvc_diff(two_branches: DvcRepo) -> None:
    """DVC is the oracle: the outputs whose hashes changed are those `dvc diff` reports."""
    repo = two_branches
    oracle = json.loads(repo.dvc("diff", "--json", "main", "feature"))
    outs = {"data/images", "data/raw.csv", "metrics.json", "model.bin"}
    reported = {
        entry["path"].rstrip("/")
        for kind in ("added", "deleted", "modified")
        for entry in oracle.get(kind, [])
    }
    changed = {c.path for c in data_changes(Git(repo.path), "main", "feature") if c.role == "out"}
    # `dvc diff` leaves out uncached outputs (metrics.json is `cache: false`, kept in git);
    # dvc.lock still records its hash, and mlci shows it.
    assert changed - {"metrics.json"} == reported & outs
    assert reported - outs == {"data/images/c.txt"}  # dvc diff also lists files inside dirs


def test_added_and_removed_tracking(git_repo: GitRepo, tmp_path: Path) -> None:
    """A new .dvc file is `added`, a deleted one `removed`; untracked-by-git .dvc files in the
    work tree count, ignored ones do not."""
    git_repo.write("a.csv.dvc", "outs:\n- md5: 1111\n  size: 3\n  hash: md5\n  path: a.csv\n")
    git_repo.commit("a")
    git_repo.git("rm", "-q", "a.csv.dvc")
    git_repo.write(
        "sub/dvc.lock",
        "schema: '2.0'\nstages:\n  prep:\n    cmd: x\n    deps:\n    - path: ../raw\n"
        "      md5: 2222.dir\n      size: 10\n      nfiles: 2\n",
    )
    git_repo.write("sub/dvc.yaml", "stages:\n  prep:\n    cmd: x\n    deps: [../raw]\n")
    git_repo.write(".gitignore", "ignored.dvc\n")
    git_repo.write("ignored.dvc", "outs:\n- md5: 3333\n  path: ignored\n")
    assert data_changes(Git(git_repo.path), "HEAD", None) == [
        DataChange(
            path="a.csv",
            change="removed",
            source="a.csv.dvc",
            role="out",
            old_hash="1111",
            old_size=3,
        ),
        DataChange(
            path="raw",
            change="added",
            source="sub/dvc.lock",
            role="dep",
            stage="prep",
            new_hash="2222.dir",
            new_size=10,
            new_files=2,
        ),
    ]


def test_broken_dvc_file_is_an_input_error(git_repo: GitRepo) -> None:
    git_repo.commit("empty")
    git_repo.write("a.csv.dvc", "outs: [\n")
    with pytest.raises(InputFileError) as raised:
        data_changes(Git(git_repo.path), "HEAD", None)
    assert str(raised.value).startswith("a.csv.dvc: DVC file does not parse: ")


def _clone(repo: DvcRepo, tmp_path: Path) -> DvcRepo:
    """A fresh clone of the feature branch, as CI has it: no DVC cache, no data files."""
    target = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "-b", "feature", str(repo.path), str(target)], check=True)
    clone = DvcRepo.__new__(DvcRepo)
    clone.path, clone.remote = target, repo.remote
    return clone


def test_check_in_a_dvc_repo_needs_no_config(
    two_branches: DvcRepo, mlci: Invoker, tmp_path: Path
) -> None:
    clone = _clone(two_branches, tmp_path)
    assert not (clone.path / "mlci.yaml").exists()
    result = mlci("check", "--base", "origin/main", "--format", "json", cwd=clone.path)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert [(c["path"], c["name"], c["old"], c["new"]) for c in report["diff"]["metrics"]] == [
        ("metrics.json", "accuracy", 0.6, 0.7),
        ("metrics.json", "rows", 1, 2),
    ]
    assert report["diff"]["params"] == [
        {
            "path": "params.yaml",
            "name": "lr",
            "old": 0.1,
            "new": 0.1,
            "diff": 0.0,
            "relative": 0.0,
            "direction": None,
            "verdict": "unchanged",
        }
    ]
    assert [(c["path"], c["source"], c["role"], c["change"]) for c in report["data_changes"]] == [
        ("data/images", "data/images.dvc", "out", "modified"),
        ("data/raw.csv", "data/raw.csv.dvc", "out", "modified"),
        ("metrics.json", "dvc.lock", "out", "modified"),
        ("model.bin", "dvc.lock", "out", "modified"),
        ("data/raw.csv", "dvc.lock", "dep", "modified"),
    ]
    text = mlci("check", "--base", "origin/main", cwd=clone.path)
    assert text.exit_code == 0, text.stderr
    section = text.stdout[text.stdout.index("Data changes (DVC)") :]
    base_dir = _out_entry(clone, "origin/main", "data/images.dvc")["md5"][:8]
    head_dir = _out_entry(clone, "HEAD", "data/images.dvc")["md5"][:8]
    raw, more = _md5(BASE_CSV)[:8], _md5(HEAD_CSV)[:8]
    metrics = _md5('{"rows": 1, "accuracy": 0.6}')[:8], _md5('{"rows": 2, "accuracy": 0.7}')[:8]
    model = _md5("1 rows, lr 0.1")[:8], _md5("2 rows, lr 0.1")[:8]
    assert section == (
        "Data changes (DVC)\n"
        "Path          Change    Recorded in             Base          Head          Size\n"
        "------------  --------  ----------------------  ------------  ------------  "
        "-------------------------------\n"
        f"data/images   modified  data/images.dvc         {base_dir}.dir  {head_dir}.dir  "
        "14 B (2 files) → 21 B (3 files)\n"
        f"data/raw.csv  modified  data/raw.csv.dvc        {raw}      {more}      8 B → 12 B\n"
        f"metrics.json  modified  dvc.lock: out of train  {metrics[0]}      {metrics[1]}      28 B\n"
        f"model.bin     modified  dvc.lock: out of train  {model[0]}      {model[1]}      14 B\n"
        f"data/raw.csv  modified  dvc.lock: dep of train  {raw}      {more}      8 B → 12 B\n"
    )
    markdown = mlci("check", "--base", "origin/main", "--format", "markdown", cwd=clone.path)
    assert "<details><summary>5 data files changed (DVC)</summary>" in markdown.stdout
    assert f"| data/raw.csv | modified | data/raw.csv.dvc | {raw} | {more} | 8 B → 12 B |" in (
        markdown.stdout
    )


def test_dvc_changes_command(two_branches: DvcRepo, mlci: Invoker) -> None:
    result = mlci("dvc", "changes", "main", "feature", "--format", "json", cwd=two_branches.path)
    assert result.exit_code == 0, result.stderr
    assert [(c["path"], c["role"]) for c in json.loads(result.stdout)] == [
        ("data/images", "out"),
        ("data/raw.csv", "out"),
        ("metrics.json", "out"),
        ("model.bin", "out"),
        ("data/raw.csv", "dep"),
    ]
    same = mlci("dvc", "changes", "feature", "feature", cwd=two_branches.path)
    assert (same.exit_code, same.stdout) == (0, "")


def test_read_a_tracked_file_at_another_revision(
    two_branches: DvcRepo, mlci: Invoker, tmp_path: Path
) -> None:
    repo = two_branches
    # From the local cache, without touching the work tree.
    assert read_at_revision(repo.path, "data/raw.csv", "main") == BASE_CSV.encode()
    assert read_at_revision(repo.path, "data/raw.csv", "feature") == HEAD_CSV.encode()
    assert read_at_revision(repo.path, "params.yaml", "main") == b"lr: 0.1\n"  # git-tracked
    assert (repo.path / "data/raw.csv").read_text() == HEAD_CSV
    assert repo.git("status", "--porcelain") == ""
    assert is_dvc_tracked(repo.path, "data/raw.csv")
    assert is_dvc_tracked(repo.path, "model.bin")
    assert not is_dvc_tracked(repo.path, "train.py")

    # A fresh clone has no cache: the base comes from the remote, the unpushed head cannot.
    clone = _clone(repo, tmp_path)
    assert read_at_revision(clone.path, "data/raw.csv", "origin/main") == BASE_CSV.encode()
    with pytest.raises(InputFileError) as raised:
        read_at_revision(clone.path, "data/raw.csv", "HEAD")
    assert str(raised.value) == (
        "data/raw.csv: data/raw.csv at HEAD is neither in the DVC cache nor on the DVC remote "
        "(run `dvc push` where it was produced, or `dvc remote add -d` the remote)"
    )
    with pytest.raises(InputFileError) as raised:
        read_at_revision(clone.path, "data/missing.csv", "origin/main")
    assert str(raised.value) == (
        "data/missing.csv: data/missing.csv is tracked neither by DVC nor by git at origin/main"
    )
    with pytest.raises(GitError) as git_error:
        read_at_revision(clone.path, "data/raw.csv", "no-such-rev")
    assert str(git_error.value) == (
        "git revision 'no-such-rev' does not exist (check it with `git log --oneline`)"
    )

    # A tracked directory, and the CLI.
    copied = fetch_at_revision(clone.path, "data/images", "origin/main", tmp_path / "images")
    assert sorted(p.name for p in copied.iterdir()) == ["a.txt", "b.txt"]
    shown = mlci("dvc", "get", "data/raw.csv", "--rev", "origin/main", cwd=clone.path)
    assert (shown.exit_code, shown.stdout) == (0, BASE_CSV)
    saved = mlci(
        "dvc", "get", "data/raw.csv", "--rev", "main", "-o", tmp_path / "raw.csv", cwd=repo.path
    )
    assert saved.exit_code == 0, saved.stderr
    assert (tmp_path / "raw.csv").read_text() == BASE_CSV
    assert not (clone.path / "data" / "raw.csv").exists()  # nothing was checked out


def test_missing_dvc_names_the_extra(
    two_branches: DvcRepo, mlci: Invoker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "dvc.api", None)
    result = mlci("dvc", "get", "data/raw.csv", "--rev", "main", cwd=two_branches.path)
    assert (result.exit_code, result.stderr) == (
        2,
        "mlci: error: reading DVC-tracked data needs dvc, which is not installed "
        "(install it with: pip install 'mlci[dvc]')\n",
    )
    # The data changes need no DVC: only the hashes its files record, read with git.
    assert mlci("dvc", "changes", "main", "feature", cwd=two_branches.path).exit_code == 0


def test_sizes_are_human_readable() -> None:
    from mlci.report.tables import format_size, short_hash

    assert [format_size(n) for n in (None, 0, 1023, 1024, 1536, 5 * 1024**2, 3 * 1024**3)] == [
        "-",
        "0 B",
        "1023 B",
        "1.0 KiB",
        "1.5 KiB",
        "5.0 MiB",
        "3.0 GiB",
    ]
    assert short_hash("0123456789abcdef.dir") == "01234567.dir"
    assert short_hash(None) == "-"


DATASET_CONFIG = """\
datasets:
  - name: people
    path: data/people.csv
    schema: schema.yaml
    drift:
      max_psi: 0.2
"""


def test_dataset_tracked_by_dvc_is_compared_with_the_base_through_dvc(
    mlci: Invoker, tmp_path: Path
) -> None:
    from test_datasets_check import people, schema

    # git holds only data/people.csv.dvc: the base's data comes from DVC (cache, else remote).
    repo = DvcRepo(tmp_path / "repo", tmp_path / "remote")
    repo.write("mlci.yaml", DATASET_CONFIG)
    schema().to_yaml(repo.path / "schema.yaml")
    (repo.path / "data").mkdir()
    people(400).to_csv(repo.path / "data/people.csv", index=False)
    repo.dvc("add", "-q", "data/people.csv")
    repo.commit("base data")
    repo.dvc("push", "-q")
    repo.git("checkout", "-q", "-b", "feature")
    people(400, shift=15).to_csv(repo.path / "data/people.csv", index=False)
    repo.dvc("add", "-q", "data/people.csv")
    repo.commit("new data")
    repo.dvc("push", "-q")

    result = mlci("check", "--format", "json", "--base", "main", cwd=repo.path)
    report = json.loads(result.stdout)
    (dataset,) = report["datasets"]
    changes = dataset["comparison"]["data"]
    assert (changes["status"], changes["base_from"]) == ("compared", "dvc")
    (psi,) = [g for g in report["gates"] if g["rule"] == "max_psi"]
    assert psi["status"] == "failed"  # the city mix moved
    assert result.exit_code == 1

    # A fresh clone (CI after actions/checkout): the data is not there; say how to get it.
    clone = _clone(repo, tmp_path)
    result = mlci("check", "--format", "json", "--base", "origin/main", cwd=clone.path)
    assert result.exit_code == 2
    assert (
        "data/people.csv: data file is tracked by DVC and not in the work tree "
        "(run `dvc pull data/people.csv` first; in a workflow, after the checkout step)"
    ) in result.stderr
    clone.dvc("pull", "-q", "data/people.csv")
    result = mlci("check", "--format", "json", "--base", "origin/main", cwd=clone.path)
    report = json.loads(result.stdout)
    assert report["datasets"][0]["comparison"]["data"]["base_from"] == "dvc"  # the remote
    assert result.exit_code == 1, result.stderr
