"""`mlci diff --json` equals `dvc metrics diff --json` and `dvc params diff --json` on the layouts
real DVC projects use, built with real `dvc init`, `dvc repro` and commits:

1. metrics inside a DVC-cached output (`outs: [eval]`, `metrics: [eval/metrics.json]`: DVC's
   example-get-started), read from the DVC cache by dvc.lock's hash at each revision;
2. dvc.yaml files below the root (dvclive's `results/train/dvc.yaml`);
3. `${...}` interpolation from params.yaml and `vars:` (files, inline, per stage, foreach);
4. params: the whole default params.yaml, list values as DVC prints them, other params files
   with only the keys stages use, and the values stages interpolate from vars files;
5. run from a subdirectory: paths relative to it, as DVC prints them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import GitRepo, Invoker
from test_diff_dvc_oracle import DVC, assert_same

pytestmark = pytest.mark.skipif(
    DVC is None, reason="dvc is not installed (pip install 'mlci[dvc]')"
)
PYTHON = sys.executable

# The get-started evaluate stage, reduced: dvclive-style nested summary in eval/metrics.json
# (names `avg_prec.test`, `roc_auc.train`), a plot next to it, all inside the cached `eval`.
EVALUATE = """\
import json, os, sys
import yaml
params = yaml.safe_load(open("params.yaml"))
n_est = params["train"]["n_est"]
out = sys.argv[1] if len(sys.argv) > 1 else "eval"
os.makedirs(os.path.join(out, "plots"), exist_ok=True)
summary = {
    "avg_prec": {"train": 0.9 + n_est / 1000, "test": 0.8 + n_est / 1000},
    "roc_auc": {"train": 0.95, "test": 0.9 - n_est / 1000},
}
with open(os.path.join(out, "metrics.json"), "w") as handle:
    json.dump(summary, handle)
with open(os.path.join(out, "plots", "roc.json"), "w") as handle:
    json.dump([{"fpr": 0, "tpr": n_est}], handle)
"""

GET_STARTED_PARAMS = """\
prepare:
  split: 0.20
  seed: 20170428
featurize:
  max_features: 200
  ngrams: 2
  columns: ['Geography', 'Gender']
train:
  seed: 20170428
  n_est: 50
  min_split: 0.01
"""

GET_STARTED_DVC_YAML = f"""\
stages:
  evaluate:
    cmd: {PYTHON} src/evaluate.py
    deps:
    - src/evaluate.py
    params:
    - train.n_est
    outs:
    - eval
metrics:
- eval/metrics.json
plots:
- eval/plots/roc.json
"""


def dvc(repo: Path, *args: str, cwd: Path | None = None) -> str:
    assert DVC is not None
    done = subprocess.run(
        [DVC, *args], cwd=cwd or repo, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def dvc_init(repo: GitRepo) -> None:
    dvc(repo.path, "init", "-q")
    dvc(repo.path, "config", "core.autostage", "false")


def get_started(repo: GitRepo) -> None:
    """example-get-started's shape: two commits, each `dvc repro`-ed; the second changes
    `train.n_est` (so the metrics) and a list-valued param."""
    dvc_init(repo)
    repo.write("src/evaluate.py", EVALUATE)
    repo.write("params.yaml", GET_STARTED_PARAMS)
    repo.write("dvc.yaml", GET_STARTED_DVC_YAML)
    dvc(repo.path, "repro", "-q")
    repo.commit("evaluate")
    repo.write(
        "params.yaml",
        GET_STARTED_PARAMS.replace("n_est: 50", "n_est: 60").replace("Gender", "Age"),
    )
    dvc(repo.path, "repro", "-q")
    repo.commit("more estimators")


def same_as_dvc(mlci: Invoker, repo: Path, *args: str, cwd: Path | None = None) -> dict:
    """Run `dvc ARGS --json` and `mlci ARGS --json` (metrics diff / params diff) and compare."""
    kind, *rest = args
    theirs = json.loads(dvc(repo, kind, "diff", *rest, "--json", cwd=cwd))
    flags = ["--params"] if kind == "params" else []
    result = mlci("diff", *rest, "--json", *flags, cwd=cwd or repo)
    assert result.exit_code == 0, result.stderr
    assert_same(json.loads(result.stdout), theirs)
    return theirs  # type: ignore[no-any-return]


# --- 1. metrics inside a DVC-cached output ----------------------------------------------------


@pytest.mark.parametrize("flags", [[], ["--all"]], ids=["changed", "all"])
def test_metrics_inside_a_cached_output(mlci: Invoker, git_repo: GitRepo, flags: list[str]) -> None:
    get_started(git_repo)
    theirs = same_as_dvc(mlci, git_repo.path, "metrics", "HEAD~1", "HEAD", *flags)
    assert theirs["eval/metrics.json"]["avg_prec.test"]["new"] == pytest.approx(0.86)
    same_as_dvc(mlci, git_repo.path, "params", "HEAD~1", "HEAD", *flags)


def test_cached_output_against_the_work_tree(mlci: Invoker, git_repo: GitRepo) -> None:
    get_started(git_repo)
    git_repo.write("params.yaml", GET_STARTED_PARAMS.replace("n_est: 50", "n_est: 70"))
    dvc(git_repo.path, "repro", "-q")
    assert same_as_dvc(mlci, git_repo.path, "metrics", "HEAD~1")
    # Not checked out (as after `git clone` + `dvc fetch`): DVC reads the work tree's
    # dvc.lock hash from the cache, and so does mlci.
    shutil.rmtree(git_repo.path / "eval")
    assert same_as_dvc(mlci, git_repo.path, "metrics", "HEAD~1")


def test_cached_output_missing_from_the_cache_is_said(mlci: Invoker, git_repo: GitRepo) -> None:
    get_started(git_repo)
    shutil.rmtree(git_repo.path / ".dvc" / "cache")
    # DVC prints {} and "failed to load"; mlci prints the same JSON and says what to do.
    theirs = same_as_dvc(mlci, git_repo.path, "metrics", "HEAD~1", "HEAD")
    assert theirs == {}
    result = mlci("diff", "HEAD~1", "HEAD", "--json", cwd=git_repo.path)
    lines = result.stderr.splitlines()
    assert lines == [
        "mlci: warning: eval/metrics.json at HEAD~1 is inside the DVC output eval, which is "
        "neither in the local DVC cache nor readable from a DVC remote; run `dvc pull eval` "
        "(for older revisions `dvc fetch --all-commits eval`), or configure the DVC remote "
        "and its credentials",
        lines[0].replace("HEAD~1", "HEAD"),
    ]
    # `mlci check` reports it as bad input, never as metrics that disappeared.
    git_repo.git("branch", "base", "HEAD~1")
    checked = mlci("check", "--base", "base", "--format", "json", cwd=git_repo.path)
    report = json.loads(checked.stdout)
    assert checked.exit_code == 2
    assert [problem["check"] for problem in report["problems"]] == ["diff"]
    assert "eval/metrics.json at " in report["problems"][0]["message"]
    assert "dvc pull eval" in report["problems"][0]["message"]
    assert report["diff"]["metrics"] == []


def test_cached_output_read_from_the_dvc_remote(
    mlci: Invoker, git_repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CI job that pulled only the head: the base's metrics come from the DVC remote, read
    through DVC repositories that mlci closes when it is done with them."""
    from dvc.repo import Repo

    opened: list[object] = []
    closed: list[object] = []
    real_init, real_close = Repo.__init__, Repo.close

    def init(self: Repo, *args: object, **kwargs: object) -> None:
        real_init(self, *args, **kwargs)
        opened.append(self)

    def close(self: Repo) -> None:
        closed.append(self)
        real_close(self)

    monkeypatch.setattr(Repo, "__init__", init)
    monkeypatch.setattr(Repo, "close", close)
    get_started(git_repo)
    dvc(git_repo.path, "remote", "add", "-d", "storage", str(tmp_path / "remote"))
    git_repo.commit("the DVC remote")
    for rev in ("HEAD~2", "HEAD"):  # each revision's outputs, as its CI job pushed them
        git_repo.git("checkout", "-q", rev, "--", "dvc.lock")
        dvc(git_repo.path, "push", "-q")
    shutil.rmtree(git_repo.path / ".dvc" / "cache")
    result = mlci("diff", "HEAD~2", "HEAD", "--json", cwd=git_repo.path)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    diff = json.loads(result.stdout)
    assert diff["eval/metrics.json"]["roc_auc.test"] == {
        "old": pytest.approx(0.85),
        "new": pytest.approx(0.84),
        "diff": pytest.approx(-0.01),
    }
    assert opened
    assert all(any(repo is done for done in closed) for repo in opened)


# --- 2. dvc.yaml files below the root (dvclive) -----------------------------------------------


def dvclive_commit(repo: GitRepo, loss: float, lr: float, message: str) -> None:
    """What `Live("results/train")` leaves after training (metrics, params, its dvc.yaml)."""
    repo.write(
        "results/train/metrics.json",
        json.dumps({"train": {"loss": loss}, "eval": {"loss": loss + 0.1}, "step": 3}),
    )
    repo.write("results/train/params.yaml", f"lr: {lr}\nlayers: [64, 32]\n")
    repo.write(
        "results/train/dvc.yaml",
        "params:\n- params.yaml\nmetrics:\n- metrics.json\nplots:\n- plots/metrics:\n    x: step\n",
    )
    repo.commit(message)


@pytest.mark.parametrize("flags", [[], ["--all"]], ids=["changed", "all"])
def test_dvc_yaml_below_the_root(mlci: Invoker, git_repo: GitRepo, flags: list[str]) -> None:
    dvc_init(git_repo)
    git_repo.write("dvc.yaml", "metrics:\n- summary.json\n")
    git_repo.write("summary.json", '{"dice_multi": 0.7}')
    dvclive_commit(git_repo, 0.5, 0.01, "first run")
    git_repo.write("summary.json", '{"dice_multi": 0.75}')
    dvclive_commit(git_repo, 0.4, 0.001, "second run")
    theirs = same_as_dvc(mlci, git_repo.path, "metrics", "HEAD~1", "HEAD", *flags)
    assert set(theirs) == {"summary.json", "results/train/metrics.json"}
    theirs = same_as_dvc(mlci, git_repo.path, "params", "HEAD~1", "HEAD", *flags)
    assert "results/train/params.yaml" in theirs


# --- 3. interpolation -------------------------------------------------------------------------

INTERPOLATED = f"""\
vars:
  - config/eval.yaml
  - run: {{name: baseline}}
stages:
  evaluate:
    vars:
      - config/train.yaml:optimizer
    cmd: {PYTHON} src/evaluate.py ${{eval.metrics_dir}} --lr ${{optimizer.lr}}
    deps:
    - src/evaluate.py
    params:
    - train.n_est
    outs:
    - ${{eval.metrics_dir}}
  per_split:
    foreach: ${{eval.splits}}
    do:
      cmd: {PYTHON} src/split.py ${{item}} ${{train.n_est}}
      metrics:
      - split-${{item}}.json:
          cache: false
metrics:
- ${{eval.metrics_dir}}/${{eval.metrics_fname}}
"""


def test_interpolated_dvc_yaml(mlci: Invoker, git_repo: GitRepo) -> None:
    dvc_init(git_repo)
    git_repo.write("src/evaluate.py", EVALUATE)
    git_repo.write(
        "src/split.py",
        "import json, sys\njson.dump({'n': int(sys.argv[2])}, open(f'split-{sys.argv[1]}.json', 'w'))\n",
    )
    git_repo.write("params.yaml", GET_STARTED_PARAMS)
    git_repo.write(
        "config/eval.yaml",
        "eval:\n  metrics_dir: results\n  metrics_fname: metrics.json\n  splits: [train, test]\n",
    )
    git_repo.write("config/train.yaml", "optimizer:\n  lr: 0.01\n  momentum: 0.9\n")
    git_repo.write("dvc.yaml", INTERPOLATED)
    dvc(git_repo.path, "repro", "-q")
    git_repo.commit("interpolated")
    git_repo.write("params.yaml", GET_STARTED_PARAMS.replace("n_est: 50", "n_est: 65"))
    git_repo.write("config/train.yaml", "optimizer:\n  lr: 0.02\n  momentum: 0.9\n")
    dvc(git_repo.path, "repro", "-q")
    git_repo.commit("faster")
    for flags in ([], ["--all"]):
        theirs = same_as_dvc(mlci, git_repo.path, "metrics", "HEAD~1", "HEAD", *flags)
        assert set(theirs) == {"results/metrics.json", "split-train.json", "split-test.json"}
        theirs = same_as_dvc(mlci, git_repo.path, "params", "HEAD~1", "HEAD", *flags)
        assert theirs["config/train.yaml"]["optimizer.lr"]["new"] == 0.02


def test_undefined_interpolation_is_one_clear_line(mlci: Invoker, git_repo: GitRepo) -> None:
    dvc_init(git_repo)
    git_repo.write("dvc.yaml", "metrics:\n- ${eval.dir}/metrics.json\n")
    git_repo.commit("broken")
    head = git_repo.git("rev-parse", "HEAD")
    result = mlci("diff", "HEAD", "--json", cwd=git_repo.path)
    assert result.exit_code == 2
    assert result.stderr == (
        f"mlci: error: dvc.yaml: `${{eval.dir}}` is not defined at {head} "
        "(define it in params.yaml or `vars:` (`dvc repro` fails the same way))\n"
    )


# --- 4. params --------------------------------------------------------------------------------


@pytest.mark.parametrize("flags", [[], ["--all"]], ids=["changed", "all"])
def test_params_as_dvc_shows_them(mlci: Invoker, git_repo: GitRepo, flags: list[str]) -> None:
    dvc_init(git_repo)
    params = (
        "model:\n  layers: [64, 32]\n  activation: relu\n  dropout: null\n"
        "features: ['Geography', 'Gender']\nunused_by_stages: 1\n"
        "nested:\n  lists: [[1, 2], {a: true}]\n  flag: yes\n"
    )
    git_repo.write("params.yaml", params)
    git_repo.write("custom.json", '{"a": {"b": 1, "c": 2}, "d": [1.5]}')
    git_repo.write(
        "dvc.yaml",
        "stages:\n  train:\n    cmd: echo\n    params:\n    - model.layers\n"
        "    - custom.json:\n      - a.b\n      - d\n",
    )
    git_repo.commit("base")
    git_repo.write(
        "params.yaml",
        params.replace("[64, 32]", "[128, 64, 32]").replace("Gender", "Age").replace("1\n", "2\n"),
    )
    git_repo.write("custom.json", '{"a": {"b": 3, "c": 4}, "d": [2.5]}')
    git_repo.commit("head")
    theirs = same_as_dvc(mlci, git_repo.path, "params", "HEAD~1", "HEAD", *flags)
    assert theirs["params.yaml"]["features"] == {
        "old": "['Geography', 'Gender']",
        "new": "['Geography', 'Age']",
    }
    assert "a.c" not in theirs["custom.json"]


# --- 5. from a subdirectory -------------------------------------------------------------------


def test_from_a_subdirectory(mlci: Invoker, git_repo: GitRepo) -> None:
    get_started(git_repo)
    src = git_repo.path / "src"
    theirs = same_as_dvc(mlci, git_repo.path, "metrics", "HEAD~1", "HEAD", cwd=src)
    assert list(theirs) == ["../eval/metrics.json"]
    same_as_dvc(mlci, git_repo.path, "params", "HEAD~1", "HEAD", cwd=src)
    same_as_dvc(
        mlci, git_repo.path, "metrics", "HEAD~1", "HEAD", "--targets", "../eval/metrics.json",
        cwd=src,
    )  # fmt: skip


def test_check_from_a_subdirectory_needs_no_config(mlci: Invoker, git_repo: GitRepo) -> None:
    get_started(git_repo)
    git_repo.git("branch", "base", "HEAD~1")
    result = mlci("check", "--base", "base", "--format", "json", cwd=git_repo.path / "src")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    names = {(row["path"], row["name"]) for row in report["diff"]["metrics"]}
    assert ("eval/metrics.json", "avg_prec.test") in names


# --- 6. shapes found by the public revision pairs re-run (benchmarks/dvc_parity.py) ----------


@pytest.mark.parametrize("flags", [[], ["--all"]], ids=["changed", "all"])
def test_revisions_from_before_dvc_init(mlci: Invoker, git_repo: GitRepo, flags: list[str]) -> None:
    """example-dvc-experiments: params.yaml committed before `dvc init`. DVC reads every
    revision through the work tree's repository, so that params.yaml shows at those revisions
    too (and the metrics of a dvc.yaml that came later are new)."""
    git_repo.write("params.yaml", "train:\n  epochs: 10\nmodel:\n  conv_units: 16\n")
    git_repo.commit("params, before DVC")
    git_repo.write("README.md", "no DVC yet\n")
    git_repo.commit("still no DVC")
    dvc_init(git_repo)
    git_repo.write("dvc.yaml", "metrics:\n- metrics.json\n")
    git_repo.write("metrics.json", '{"acc": 0.9}')
    git_repo.write("params.yaml", "train:\n  epochs: 12\nmodel:\n  conv_units: 16\n")
    git_repo.commit("dvc init")
    for a_rev, b_rev in (("HEAD~2", "HEAD~1"), ("HEAD~1", "HEAD"), ("HEAD~2", "HEAD")):
        same_as_dvc(mlci, git_repo.path, "params", a_rev, b_rev, *flags)
        same_as_dvc(mlci, git_repo.path, "metrics", a_rev, b_rev, *flags)
    assert same_as_dvc(mlci, git_repo.path, "params", "HEAD~2", "HEAD~1", "--all")


# --- 7. what DVC does not see, and what git does not track -------------------------------------


def test_dvcignore_and_sub_repositories(mlci: Invoker, git_repo: GitRepo) -> None:
    """dvc.yaml files under paths `.dvcignore` hides (at the root and in a subdirectory, with a
    negation) or inside a sub-repository (`dvc init --subdir`) do not exist for DVC."""
    dvc_init(git_repo)
    git_repo.write(".dvcignore", "# DVC's comment\nexperiments/\n*.scratch\n!keep.scratch\n")
    git_repo.write("sub/.dvcignore", "old\n!/old/keep/\n")
    nested = git_repo.path / "nested"
    nested.mkdir()
    dvc(git_repo.path, "init", "-q", "--subdir", cwd=nested)

    def run(value: float) -> None:
        for where in (
            "", "experiments/", "sub/", "sub/old/", "sub/deep/old/", "nested/",
            "a.scratch/", "keep.scratch/",
        ):  # fmt: skip
            git_repo.write(f"{where}dvc.yaml", "metrics:\n- m.json\n")
            git_repo.write(f"{where}m.json", json.dumps({"score": value}))

    run(0.5)
    git_repo.commit("first")
    run(0.6)
    git_repo.commit("second")
    run(0.7)
    for args in (("HEAD~1", "HEAD"), ("HEAD",), ("HEAD~1", "HEAD", "--all")):
        theirs = same_as_dvc(mlci, git_repo.path, "metrics", *args)
    assert sorted(theirs) == ["keep.scratch/m.json", "m.json", "sub/m.json"]
    # A .dvcignore only at one revision counts at that revision.
    (git_repo.path / ".dvcignore").write_text("")
    git_repo.commit("nothing ignored")
    theirs = same_as_dvc(mlci, git_repo.path, "metrics", "HEAD~1", "HEAD", "--all")
    assert "experiments/m.json" in theirs


def test_dvc_yaml_in_the_work_tree_only(mlci: Invoker, git_repo: GitRepo) -> None:
    """DVC walks the work tree: a dvc.yaml not committed yet counts on the workspace side, and
    one git ignores (a local experiment) does not (dvc/repo/index.py asks git)."""
    dvc_init(git_repo)
    git_repo.write(".gitignore", "local/\n")
    git_repo.write("dvc.yaml", "metrics:\n- m.json\n")
    git_repo.write("m.json", '{"score": 0.5}')
    git_repo.commit("first")
    git_repo.write("m.json", '{"score": 0.6}')
    for where in ("local/", "new/"):
        git_repo.write(f"{where}dvc.yaml", "metrics:\n- m.json\nparams:\n- p.yaml\n")
        git_repo.write(f"{where}m.json", '{"score": 0.1}')
        git_repo.write(f"{where}p.yaml", "lr: 0.1\n")
    theirs = same_as_dvc(mlci, git_repo.path, "metrics", "HEAD")
    assert sorted(theirs) == ["m.json", "new/m.json"]
    assert same_as_dvc(mlci, git_repo.path, "params", "HEAD") == {
        "new/p.yaml": {"lr": {"old": None, "new": 0.1}}
    }
    same_as_dvc(mlci, git_repo.path, "metrics", "HEAD", cwd=git_repo.path / "new")


def test_dvc_yaml_inside_a_stage_output(mlci: Invoker, git_repo: GitRepo) -> None:
    """In the work tree DVC does not walk into a directory a stage outputs: a dvc.yaml there
    (dvclive's, inside `outs: [results]`) is not read on the workspace side; at git revisions
    it is."""
    dvc_init(git_repo)
    git_repo.write(
        "dvc.yaml",
        "stages:\n  train:\n    cmd: echo\n    outs:\n    - results:\n        cache: false\n",
    )
    for where in ("results/train/", "other/"):
        git_repo.write(f"{where}dvc.yaml", "metrics:\n- metrics.json\n")
        git_repo.write(f"{where}metrics.json", '{"loss": 0.5}')
    git_repo.commit("first")
    for where in ("results/train/", "other/"):
        git_repo.write(f"{where}metrics.json", '{"loss": 0.4}')
    git_repo.commit("second")
    theirs = same_as_dvc(mlci, git_repo.path, "metrics", "HEAD~1", "HEAD")
    assert sorted(theirs) == ["other/metrics.json", "results/train/metrics.json"]
    theirs = same_as_dvc(mlci, git_repo.path, "metrics", "HEAD~1")
    assert theirs["results/train/metrics.json"]["loss"] == {"old": 0.5, "new": None}


@pytest.mark.parametrize(
    ("dvc_yaml", "message"),
    [
        (
            "stages:\n  train:\n    cmd: echo\n    outs:\n    - ${train.layers}\n",
            "dvc.yaml: cannot interpolate a list (`${train.layers}` in `outs`) at ",
        ),
        (
            "vars:\n- ${name}.yaml\nstages:\n  train:\n    cmd: echo\n",
            "dvc.yaml: `vars:` cannot interpolate ('${name}.yaml') at ",
        ),
        (
            "stages:\n  train:\n    foreach: [a, b]\n    do:\n      cmd: echo ${key}\n",
            "dvc.yaml: `${key}` is not defined at ",
        ),
    ],
    ids=["list-in-outs", "interpolated-vars", "key-over-a-list"],
)
def test_what_dvc_cannot_load_is_one_line(
    mlci: Invoker, git_repo: GitRepo, dvc_yaml: str, message: str
) -> None:
    dvc_init(git_repo)
    git_repo.write("params.yaml", "name: run\ntrain:\n  layers: [16, 32]\n")
    git_repo.write("dvc.yaml", dvc_yaml)
    git_repo.commit("refused")
    assert DVC is not None
    refused = subprocess.run(
        [DVC, "params", "diff", "HEAD~0", "--json"], cwd=git_repo.path, capture_output=True
    )
    # DVC prints {} and warns that it failed to load the revision; mlci refuses (exit 2).
    assert b"failed to" in refused.stderr
    result = mlci("diff", "--params", "HEAD", "--json", cwd=git_repo.path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"mlci: error: {message}")
    assert result.stderr.count("\n") == 1
