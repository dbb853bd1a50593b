"""`mlci diff`: base resolution, the human table, and every bad input's exact message."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import GitRepo, Invoker

from mlci.checks.direction import infer_direction


@pytest.fixture
def pr_repo(git_repo: GitRepo) -> GitRepo:
    """main: base metrics; a feature branch with a commit; main moves on after the fork."""
    git_repo.write(
        "mlci.yaml", "metrics:\n  files: [metrics.json, params.yaml]\n  params: [params.yaml]\n"
    )
    git_repo.write("metrics.json", '{"accuracy": 0.90, "loss": 0.40, "model": "a"}')
    git_repo.write("params.yaml", "lr: 0.1\nlayers: 2\n")
    git_repo.commit("base")
    git_repo.git("checkout", "-q", "-b", "feature")
    git_repo.write("metrics.json", '{"accuracy": 0.93, "loss": 0.45, "model": "b"}')
    git_repo.write("params.yaml", "lr: 0.05\nlayers: 2\n")
    git_repo.commit("feature work")
    git_repo.git("checkout", "-q", "main")
    git_repo.write("metrics.json", '{"accuracy": 0.99, "loss": 0.01, "model": "z"}')
    git_repo.commit("main moves on")
    git_repo.git("checkout", "-q", "feature")
    return git_repo


def test_default_base_is_the_merge_base_not_the_branch_tip(mlci: Invoker, pr_repo: GitRepo) -> None:
    result = mlci("diff", "--json", "--targets", "metrics.json", cwd=pr_repo.path)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["metrics.json"]["accuracy"]["old"] == 0.90


def test_github_base_ref_names_the_base_branch(
    mlci: Invoker, pr_repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    pr_repo.git("branch", "-q", "release", "main~1")
    pr_repo.git("branch", "-q", "-D", "main")
    monkeypatch.setenv("GITHUB_BASE_REF", "release")
    result = mlci("diff", "--json", "--targets", "metrics.json", cwd=pr_repo.path)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["metrics.json"]["accuracy"]["old"] == 0.90


def test_remote_tracking_branch_is_preferred(
    mlci: Invoker, pr_repo: GitRepo, tmp_path: Path
) -> None:
    pr_repo.git("checkout", "-q", "main")  # the remote's default branch, as on GitHub
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "-b", "feature", str(pr_repo.path), str(clone)], check=True
    )
    result = mlci("diff", "--md", "--targets", "metrics.json", cwd=clone)
    assert result.exit_code == 0, result.stderr
    assert "| metrics.json | accuracy | 0.9 | 0.93 |" in result.stdout


def test_text_table_has_relative_change_and_arrows(mlci: Invoker, pr_repo: GitRepo) -> None:
    result = mlci("diff", "main~1", cwd=pr_repo.path)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Path          Metric    main~1  workspace  Change        %",
        "------------  --------  ------  ---------  ------  -------  --------",
        "metrics.json  accuracy     0.9       0.93   +0.03   +3.33%  ▲ better",
        "metrics.json  loss         0.4       0.45   +0.05  +12.50%  ▼ worse",
        "metrics.json  model          a          b       -        -",
        "params.yaml   lr           0.1       0.05   -0.05  -50.00%",
    ]


def test_markdown_precision_and_no_path(mlci: Invoker, pr_repo: GitRepo) -> None:
    result = mlci(
        "diff",
        "main~1",
        "--md",
        "--no-path",
        "--precision",
        "1",
        "--targets",
        "metrics.json",
        cwd=pr_repo.path,
    )
    assert result.stdout.splitlines() == [
        "| Metric | main\\~1 | workspace | Change | % |  |",
        "| :--- | ---: | ---: | ---: | ---: | :--- |",
        "| accuracy | 0.9 | 0.9 | +0.0 | +3.33% | ▲ better |",
        "| loss | 0.4 | 0.5 | +0.0 | +12.50% | ▼ worse |",
        "| model | a | b | - | - |  |",
    ]


def test_all_includes_unchanged(mlci: Invoker, pr_repo: GitRepo) -> None:
    result = mlci("diff", "main~1", "--all", "--json", cwd=pr_repo.path)
    assert "layers" in json.loads(result.stdout)["params.yaml"]


def test_params_has_no_change_column(mlci: Invoker, pr_repo: GitRepo) -> None:
    result = mlci("diff", "main~1", "--params", "--md", cwd=pr_repo.path)
    assert result.stdout.splitlines() == [
        "| Path | Param | main\\~1 | workspace |",
        "| :--- | :--- | ---: | ---: |",
        "| params.yaml | lr | 0.1 | 0.05 |",
    ]


def test_direction_from_gate_config_beats_the_name(mlci: Invoker, git_repo: GitRepo) -> None:
    git_repo.write(
        "mlci.yaml",
        "metrics: {files: [m.json]}\ngates:\n  - {metric: loss, direction: higher, min: 0}\n",
    )
    git_repo.write("m.json", '{"loss": 1}')
    git_repo.commit()
    git_repo.write("m.json", '{"loss": 2}')
    result = mlci("diff", "HEAD", "--md", cwd=git_repo.path)
    assert "| m.json | loss | 1 | 2 | +1 | +100.00% | ▲ better |" in result.stdout


def test_nan_and_inf_never_crash(mlci: Invoker, git_repo: GitRepo) -> None:
    git_repo.write("m.json", '{"a": NaN, "b": Infinity, "c": 1}')
    git_repo.commit()
    git_repo.write("m.json", '{"a": 1, "b": 2, "c": NaN}')
    result = mlci("diff", "HEAD", "--targets", "m.json", cwd=git_repo.path)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()[2:]
    assert lines[0].split() == ["m.json", "a", "NaN", "1", "NaN", "-"]
    assert lines[1].split() == ["m.json", "b", "inf", "2", "-inf", "-"]
    assert lines[2].split() == ["m.json", "c", "1", "NaN", "NaN", "-"]


def test_path_missing_at_one_rev_shows_as_missing(mlci: Invoker, git_repo: GitRepo) -> None:
    git_repo.write("other.json", "{}")
    git_repo.commit()
    git_repo.write("m.json", '{"acc": 0.5}')
    result = mlci("diff", "HEAD", "--targets", "m.json", "--json", cwd=git_repo.path)
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"m.json": {"acc": {"old": None, "new": 0.5}}}


def test_unparsable_file_names_rev_and_path(mlci: Invoker, git_repo: GitRepo) -> None:
    git_repo.write("m.json", '{"acc": ')
    git_repo.commit()
    git_repo.write("m.json", '{"acc": 1}')
    sha = git_repo.git("rev-parse", "HEAD")
    result = mlci("diff", "HEAD", "--targets", "m.json", cwd=git_repo.path)
    assert result.exit_code == 2
    assert result.stderr == (
        f"mlci: error: m.json: metrics file does not parse as JSON at {sha}: "
        "Expecting value: line 1 column 9 (char 8)\n"
    )


def test_unparsable_yaml_in_work_tree(mlci: Invoker, git_repo: GitRepo) -> None:
    git_repo.commit()
    git_repo.write("m.yaml", "a: [1\n")
    result = mlci("diff", "HEAD", "--targets", "m.yaml", cwd=git_repo.path)
    assert result.exit_code == 2
    assert result.stderr.startswith("mlci: error: m.yaml: metrics file does not parse as YAML: ")


def test_rev_that_does_not_exist(mlci: Invoker, git_repo: GitRepo) -> None:
    git_repo.commit()
    result = mlci("diff", "nope", "--targets", "m.json", cwd=git_repo.path)
    assert result.exit_code == 2
    assert result.stderr == (
        "mlci: error: git revision 'nope' does not exist (check the name with `git log --oneline`)\n"
    )


def test_not_a_git_repository(mlci: Invoker, tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text("{}")
    result = mlci("diff", "--targets", "m.json", cwd=tmp_path)
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"mlci: error: {tmp_path.resolve()} is not inside a git repository"
    )


def test_missing_base_branch(mlci: Invoker, git_repo: GitRepo) -> None:
    git_repo.commit()
    git_repo.git("branch", "-m", "main", "trunk")
    result = mlci("diff", "--targets", "m.json", cwd=git_repo.path)
    assert result.exit_code == 2
    assert result.stderr == (
        "mlci: error: no base branch found (tried origin/main, main, origin/master, master) "
        "(fetch it (`git fetch origin main`), set `baseline.branch`, or pass --base REV)\n"
    )


def test_master_is_found_when_main_is_absent(mlci: Invoker, git_repo: GitRepo) -> None:
    git_repo.write("m.json", '{"acc": 1}')
    git_repo.commit("base")
    git_repo.git("branch", "-m", "main", "master")
    git_repo.git("checkout", "-q", "-b", "feature")
    git_repo.write("m.json", '{"acc": 2}')
    result = mlci("diff", "--json", "--targets", "m.json", cwd=git_repo.path)
    assert json.loads(result.stdout) == {"m.json": {"acc": {"old": 1, "new": 2, "diff": 1}}}


def test_configured_branch_missing(mlci: Invoker, git_repo: GitRepo) -> None:
    git_repo.write("mlci.yaml", "baseline: {branch: develop}\nmetrics: {files: [m.json]}\n")
    git_repo.commit()
    result = mlci("diff", cwd=git_repo.path)
    assert result.exit_code == 2
    assert result.stderr == (
        "mlci: error: base branch 'develop' not found (tried origin/develop, develop) "
        "(fetch it (`git fetch origin develop`), set `baseline.branch`, or pass --base REV)\n"
    )


def test_shallow_clone_without_the_base_says_fetch_depth_0(
    mlci: Invoker, pr_repo: GitRepo, tmp_path: Path
) -> None:
    pr_repo.git("checkout", "-q", "main")
    clone = tmp_path / "shallow"
    subprocess.run(
        [
            "git",
            "clone",
            "-q",
            "--depth",
            "1",
            "--no-single-branch",
            f"file://{pr_repo.path}",
            str(clone),
        ],
        check=True,
    )
    subprocess.run(["git", "checkout", "-q", "feature"], cwd=clone, check=True)
    result = mlci("diff", "--targets", "metrics.json", cwd=clone)
    assert result.exit_code == 2
    assert result.stderr == (
        "mlci: error: no merge-base of HEAD and origin/main in this clone (the clone is shallow "
        "and lacks the base commit: fetch the full history (in GitHub Actions: actions/checkout "
        "with `fetch-depth: 0`))\n"
    )


def test_diff_never_touches_the_work_tree(mlci: Invoker, pr_repo: GitRepo) -> None:
    pr_repo.write("metrics.json", '{"accuracy": 0.5}')
    before = pr_repo.git("status", "--porcelain")
    mlci("diff", "main", cwd=pr_repo.path)
    assert pr_repo.git("status", "--porcelain") == before
    assert (pr_repo.path / "metrics.json").read_text() == '{"accuracy": 0.5}'


@pytest.mark.parametrize(
    ("name", "direction"),
    [
        ("accuracy", "higher"),
        ("val.f1_macro", "higher"),
        ("roc_auc", "higher"),
        ("r2", "higher"),
        ("recall", "higher"),
        ("precision_weighted", "higher"),
        ("loss", "lower"),
        ("val_loss", "lower"),
        ("log_loss", "lower"),
        ("rmse", "lower"),
        ("mean_absolute_error", "lower"),
        ("latency_ms", "lower"),
        ("mse", "lower"),
        ("epochs", None),
        ("model", None),
    ],
)
def test_direction_from_common_names(name: str, direction: str | None) -> None:
    assert infer_direction(name) == direction


@pytest.fixture
def dvc_project(git_repo: GitRepo) -> GitRepo:
    """A DVC-style project with no mlci.yaml: dvc.yaml declares the metrics and params; the
    feature branch forked from main, which moved on."""
    git_repo.write("dvc.yaml", "metrics:\n  - metrics.json\nparams:\n  - params.yaml\n")
    git_repo.write("metrics.json", '{"accuracy": 0.912345678, "loss": 0.40}')
    git_repo.write("params.yaml", "lr: 0.1\n")
    git_repo.commit("base")
    git_repo.git("checkout", "-q", "-b", "feature")
    git_repo.write("metrics.json", '{"accuracy": 0.934567891, "loss": 0.45}')
    git_repo.write("params.yaml", "lr: 0.05\n")
    git_repo.commit("feature work")
    git_repo.git("checkout", "-q", "main")
    git_repo.write("metrics.json", '{"accuracy": 0.99, "loss": 0.01}')
    git_repo.commit("main moves on")
    git_repo.git("checkout", "-q", "feature")
    git_repo.write("metrics.json", '{"accuracy": 0.95, "loss": 0.3}')  # uncommitted work
    return git_repo


@pytest.mark.parametrize(
    "args",
    [("--md",), ("--json",), (), ("--params",), ("--md", "--all"), ("HEAD~1", "--md")],
)
def test_no_config_means_every_default(
    mlci: Invoker, dvc_project: GitRepo, args: tuple[str, ...]
) -> None:
    # Without mlci.yaml the config model is never loaded; the result must be what a config file
    # that leaves every setting at its default gives.
    without = mlci("diff", *args, cwd=dvc_project.path)
    dvc_project.write("mlci.yaml", "version: 1\n")
    with_defaults = mlci("diff", *args, cwd=dvc_project.path)
    assert without.exit_code == with_defaults.exit_code == 0, without.stderr
    assert without.stdout == with_defaults.stdout
    assert "accuracy" in without.stdout or "lr" in without.stdout


def test_no_config_base_is_the_merge_base(mlci: Invoker, dvc_project: GitRepo) -> None:
    result = mlci("diff", "--md", cwd=dvc_project.path)
    assert result.exit_code == 0, result.stderr
    assert "| metrics.json | accuracy | 0.91235 | 0.95 | +0.03765 | +4.13% | ▲ better |" in (
        result.stdout
    )


@pytest.fixture
def pushed_main(git_repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    """main after a push of two commits (a merge, say): GitHub's push event names the tip before."""
    git_repo.write("metrics.json", '{"accuracy": 0.80}')
    before = git_repo.commit("before the push")
    git_repo.write("metrics.json", '{"accuracy": 0.85}')
    git_repo.commit("pushed 1")
    git_repo.write("metrics.json", '{"accuracy": 0.90}')
    git_repo.commit("pushed 2")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"before": before, "after": git_repo.git("rev-parse", "HEAD")}))
    monkeypatch.setenv("GITHUB_EVENT_NAME", "push")
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    monkeypatch.delenv("GITHUB_BASE_REF", raising=False)
    return git_repo


def test_push_to_the_base_branch_compares_with_the_tip_before_the_push(
    mlci: Invoker, pushed_main: GitRepo
) -> None:
    # merge-base(HEAD, main) is HEAD itself there: the comparison would show nothing.
    result = mlci("diff", "--json", "--targets", "metrics.json", cwd=pushed_main.path)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {
        "metrics.json": {"accuracy": {"old": 0.80, "new": 0.90, "diff": pytest.approx(0.10)}}
    }
    pushed_main.write("mlci.yaml", "metrics:\n  files: [metrics.json]\n")
    report = json.loads(mlci("check", "--format", "json", cwd=pushed_main.path).stdout)
    assert report["base"].endswith("(before the push)")


@pytest.mark.parametrize(
    ("event", "before"),
    [("push", "0" * 40), ("push", "1234567" * 5 + "89abc"), ("pull_request", None)],
    ids=["new-branch", "not-in-the-clone", "not-a-push"],
)
def test_otherwise_the_merge_base_stays(
    mlci: Invoker,
    pushed_main: GitRepo,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    event: str,
    before: str | None,
) -> None:
    monkeypatch.setenv("GITHUB_EVENT_NAME", event)
    if before is not None:
        (tmp_path / "event.json").write_text(json.dumps({"before": before}))
    result = mlci("diff", "--json", "--targets", "metrics.json", cwd=pushed_main.path)
    assert (result.exit_code, json.loads(result.stdout)) == (0, {})  # HEAD against itself


def test_push_to_a_feature_branch_keeps_the_merge_base(mlci: Invoker, pushed_main: GitRepo) -> None:
    pushed_main.git("checkout", "-q", "-b", "feature")
    pushed_main.write("metrics.json", '{"accuracy": 0.95}')
    pushed_main.commit("feature")
    result = mlci("diff", "--json", "--targets", "metrics.json", cwd=pushed_main.path)
    assert json.loads(result.stdout)["metrics.json"]["accuracy"]["old"] == 0.90
