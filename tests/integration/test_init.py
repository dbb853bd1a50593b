"""`mlci init` in real repositories: what it finds, what it writes, what it never overwrites."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml
from conftest import GitRepo, Invoker

from mlci.config import load_config

ROOT = Path(__file__).resolve().parents[2]
IRIS = ROOT / "examples" / "iris"


def iris_repo(git_repo: GitRepo, trained: Path) -> GitRepo:
    """examples/iris after training, without its mlci.yaml: data, training script, metrics,
    a baseline dir."""
    for name in ("train.py", "data/iris.csv", "predictions.csv"):
        (git_repo.path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(trained / name, git_repo.path / name)
    # Three metrics, so the suggested gates below stay short.
    git_repo.write(
        "metrics.json", '{"accuracy": 0.983333, "f1_macro": 0.983323, "log_loss": 0.139397}\n'
    )
    shutil.copytree(trained / "baseline", git_repo.path / "baseline")
    git_repo.commit("iris")
    return git_repo


IRIS_CONFIG = """\
# mlci config, written by `mlci init`: review it, then run `mlci check`.
# Reference: https://github.com/mlci/mlci#configuration
version: 1

datasets:
  - name: iris
    path: data/iris.csv
    schema: schemas/iris.yaml  # inferred by `mlci schema infer`: tighten it

metrics:
  files:
    - metrics.json

# Pull requests are compared with their merge-base: mlci reads the same metrics (and
# predictions) files there, so commit them (or track them with DVC and push), or compare
# with a snapshot directory or MLflow instead (docs/gates.md, "Baselines").

# Gates decide whether a pull request passes. Uncomment the ones you want; the limits
# leave room below the current metrics, so noise does not fail a pull request.
# gates:
#   - metric: accuracy  # now 0.983333
#     min: 0.93
#     max_drop: 0.02
#     significance:
#       predictions: predictions.csv
#   - metric: f1_macro  # now 0.983323
#     min: 0.93
#     max_drop: 0.02
#   - metric: log_loss  # now 0.139397
#     max_increase_pct: 10
"""

IRIS_WORKFLOW = """\
# mlci: train on every pull request, check data and gates, diff the metrics against the
# merge-base, and keep one sticky comment. Docs: https://github.com/mlci/mlci/blob/main/docs/github-action.md
name: mlci

on:
  pull_request:
  merge_group: # a merge queue runs the gates on the queued merge, without commenting

permissions: {}

# A new push to a pull request cancels the run of the push before it.
concurrency:
  group: mlci-${{ github.event.pull_request.number || github.ref }}
  cancel-in-progress: true

jobs:
  mlci:
    permissions:
      contents: read
      pull-requests: write # the sticky mlci comment
    uses: mlci/mlci/.github/workflows/train-on-pr.yml@v1
    with:
      train-command: python train.py
      extras: sklearn
      # requirements: requirements.txt
"""


def test_init_in_the_iris_repository(git_repo: GitRepo, mlci: Invoker, trained_iris: Path) -> None:
    repo = iris_repo(git_repo, trained_iris)
    result = mlci("init", cwd=repo.path)

    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        "wrote mlci.yaml\n"
        "wrote schemas/iris.yaml\n"
        "wrote .github/workflows/mlci.yml\n"
        "found 1 data file(s) (1 with an inferred schema), 1 metrics file(s); 3 gate(s) suggested\n"
        "next:\n"
        "  1. review mlci.yaml: uncomment the gates you want\n"
        "  2. tighten the inferred schemas in schemas/ (ranges, allowed values, unique ids)\n"
        "  3. run `mlci check` to see the report\n"
        "  4. commit, push and open a pull request: mlci comments on it\n"
    )
    assert (repo.path / "mlci.yaml").read_text() == IRIS_CONFIG
    assert (repo.path / ".github/workflows/mlci.yml").read_text() == IRIS_WORKFLOW
    config = load_config(repo.path / "mlci.yaml").config
    assert [(d.path, d.schema) for d in config.datasets] == [("data/iris.csv", "schemas/iris.yaml")]
    # The schema is the one `mlci schema infer` writes, and the data passes it.
    inferred = mlci("schema", "infer", "data/iris.csv", cwd=repo.path)
    assert (repo.path / "schemas/iris.yaml").read_text() == inferred.stdout
    assert mlci("validate", cwd=repo.path).exit_code == 0


def test_init_never_overwrites_without_force(
    git_repo: GitRepo, mlci: Invoker, trained_iris: Path
) -> None:
    repo = iris_repo(git_repo, trained_iris)
    repo.write("mlci.yaml", "version: 1\n")
    result = mlci("init", cwd=repo.path)

    assert result.exit_code == 2
    assert result.stderr == "mlci: error: mlci.yaml already exists (pass --force to overwrite)\n"
    assert (repo.path / "mlci.yaml").read_text() == "version: 1\n"
    assert not (repo.path / "schemas").exists()  # all or nothing
    assert not (repo.path / ".github").exists()

    again = mlci("init", "--force", cwd=repo.path)
    assert again.exit_code == 0, again.stderr
    assert (repo.path / "mlci.yaml").read_text() == IRIS_CONFIG


def test_init_names_every_file_in_the_way(
    git_repo: GitRepo, mlci: Invoker, trained_iris: Path
) -> None:
    repo = iris_repo(git_repo, trained_iris)
    assert mlci("init", cwd=repo.path).exit_code == 0
    result = mlci("init", cwd=repo.path)
    assert result.exit_code == 2
    assert result.stderr == (
        "mlci: error: mlci.yaml, schemas/iris.yaml, .github/workflows/mlci.yml already exist "
        "(pass --force to overwrite)\n"
    )


def test_init_in_a_dvc_repository(git_repo: GitRepo, mlci: Invoker) -> None:
    git_repo.write(
        "dvc.yaml",
        "stages:\n  train:\n    cmd: python train.py\n    deps: [train.py]\n"
        "    metrics:\n      - eval/scores.json:\n          cache: false\n",
    )
    git_repo.write("eval/scores.json", '{"test": {"auc": 0.91, "loss": 0.3}, "epochs": 3}\n')
    git_repo.write("reports/results.yaml", "rmse: 1.5\n")
    git_repo.write("notes/eval-plan.json", '["not", "metrics"]\n')
    git_repo.commit()
    result = mlci("init", "--no-workflow", cwd=git_repo.path)

    assert result.exit_code == 0, result.stderr
    text = (git_repo.path / "mlci.yaml").read_text()
    assert text.split("\n\n", 2)[2] == (
        "# Metrics and params come from dvc.yaml, as `dvc metrics diff` reads them\n"
        "# (every dvc.yaml in the repository):\n"
        "#   eval/scores.json\n"
        "metrics:\n"
        "  files:\n"
        "    - reports/results.yaml\n"
        "\n"
        "# Pull requests are compared with their merge-base: mlci reads the same metrics (and\n"
        "# predictions) files there, so commit them (or track them with DVC and push), or compare\n"
        '# with a snapshot directory or MLflow instead (docs/gates.md, "Baselines").\n'
        "\n"
        "# Gates decide whether a pull request passes. Uncomment the ones you want; the limits\n"
        "# leave room below the current metrics, so noise does not fail a pull request.\n"
        "# gates:\n"
        "#   - metric: test.auc  # now 0.91\n"
        "#     min: 0.86\n"
        "#     max_drop: 0.02\n"
        "#   - metric: test.loss  # now 0.3\n"
        "#     max_increase_pct: 10\n"
        "#   - metric: rmse  # now 1.5\n"
        "#     max_increase_pct: 10\n"
    )
    assert not (git_repo.path / ".github").exists()
    load_config(git_repo.path / "mlci.yaml")
    starter_workflow = mlci("init", "--force", cwd=git_repo.path)
    assert starter_workflow.exit_code == 0
    workflow = yaml.safe_load((git_repo.path / ".github/workflows/mlci.yml").read_text())
    assert workflow["jobs"]["mlci"]["with"] == {
        "train-command": "dvc repro",
        "extras": "dvc",
        "dvc": "dvc",
    }


def test_init_in_an_empty_repository(git_repo: GitRepo, mlci: Invoker) -> None:
    result = mlci("init", "--train-command", "make model", cwd=git_repo.path)

    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[2] == (
        "found 0 data file(s) (0 with an inferred schema), 0 metrics file(s); 0 gate(s) suggested"
    )
    config = load_config(git_repo.path / "mlci.yaml").config
    assert config.datasets == []
    assert config.metrics.files == []
    assert config.gates == []
    workflow = yaml.safe_load((git_repo.path / ".github/workflows/mlci.yml").read_text())
    assert workflow["jobs"]["mlci"]["with"] == {"train-command": "make model"}


def test_odd_names_are_quoted(git_repo: GitRepo, mlci: Invoker) -> None:
    git_repo.write("data/my data: v2.csv", "x,y\n1,2\n3,4\n")
    git_repo.write("metrics.json", '{"acc: top-1": 0.5, "#loss": 2.0}\n')
    result = mlci("init", "--no-workflow", cwd=git_repo.path)

    assert result.exit_code == 0, result.stderr
    text = (git_repo.path / "mlci.yaml").read_text()
    assert '  - name: "my data: v2"\n    path: "data/my data: v2.csv"\n' in text
    assert '#   - metric: "acc: top-1"  # now 0.5\n' in text
    assert '#   - metric: "#loss"  # now 2\n' in text
    config = load_config(git_repo.path / "mlci.yaml").config
    assert config.datasets[0].path == "data/my data: v2.csv"
    assert config.datasets[0].schema == "schemas/my data: v2.yaml"


def test_no_schemas_leaves_datasets_without_one(
    git_repo: GitRepo, mlci: Invoker, trained_iris: Path
) -> None:
    repo = iris_repo(git_repo, trained_iris)
    result = mlci("init", "--no-schemas", "--no-workflow", cwd=repo.path)

    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        "wrote mlci.yaml\n"
        "found 1 data file(s) (0 with an inferred schema), 1 metrics file(s); 3 gate(s) suggested\n"
        "next:\n"
        "  1. review mlci.yaml: uncomment the gates you want\n"
        "  2. run `mlci check` to see the report\n"
    )
    config = load_config(repo.path / "mlci.yaml").config
    assert [(d.path, d.schema) for d in config.datasets] == [("data/iris.csv", None)]


def test_the_starter_workflow_is_the_template(
    git_repo: GitRepo, mlci: Invoker, trained_iris: Path
) -> None:
    """`mlci init` writes what workflow-templates/mlci.yml offers, minus the branch filter."""
    iris_repo(git_repo, trained_iris)
    assert mlci("init", "--no-schemas", cwd=git_repo.path).exit_code == 0
    written = yaml.safe_load((git_repo.path / ".github/workflows/mlci.yml").read_text())
    template = yaml.safe_load((ROOT / "workflow-templates" / "mlci.yml").read_text())
    assert written[True] == {"pull_request": None, "merge_group": None}
    assert template[True] == {
        "pull_request": {"branches": ["$default-branch"]},
        "merge_group": None,
    }
    for data in (written, template):
        del data[True]
        del data["jobs"]["mlci"]["with"]
    assert written == template


def test_generated_workflows_use_declared_inputs_and_secrets(
    git_repo: GitRepo, mlci: Invoker
) -> None:
    """Every input and secret `mlci init` writes exists in the reusable workflow."""
    reusable = yaml.safe_load((ROOT / ".github/workflows/train-on-pr.yml").read_text())
    call = reusable[True]["workflow_call"]  # `on:` reads as True in YAML 1.1
    (git_repo.path / ".dvc").mkdir()
    (git_repo.path / ".dvc" / "config").write_text(
        "[core]\n    remote = storage\n['remote \"storage\"']\n    url = s3://bucket/path\n"
    )
    git_repo.write("dvc.yaml", "stages:\n  train:\n    cmd: python -m mlci evaluate m.joblib\n")
    git_repo.write("src/requirements.txt", "scikit-learn\n")
    assert mlci("init", cwd=git_repo.path).exit_code == 0
    job = yaml.safe_load((git_repo.path / ".github/workflows/mlci.yml").read_text())["jobs"]["mlci"]
    assert job["with"] == {
        "train-command": "dvc repro",
        "extras": "sklearn,dvc",
        "requirements": "src/requirements.txt",
        "dvc": "dvc[s3]",
        "dvc-pull": True,
    }
    assert set(job["with"]) <= set(call["inputs"])
    assert job["secrets"] == {
        "AWS_ACCESS_KEY_ID": "${{ secrets.AWS_ACCESS_KEY_ID }}",
        "AWS_SECRET_ACCESS_KEY": "${{ secrets.AWS_SECRET_ACCESS_KEY }}",
    }
    assert set(job["secrets"]) <= set(call["secrets"])


def test_check_right_after_init_compares_with_nothing_and_says_so(
    git_repo: GitRepo, mlci: Invoker
) -> None:
    """Before the first commit there is no base branch: every metric is new, nothing fails."""
    git_repo.write("metrics.json", '{"accuracy": 0.9, "loss": 0.2}\n')
    assert mlci("init", "--no-workflow", cwd=git_repo.path).exit_code == 0
    result = mlci("check", "--format", "json", cwd=git_repo.path)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["base"] == (
        "nothing yet: no base branch found (tried origin/main, main, origin/master, master); "
        "every metric is new"
    )
    assert {row["name"]: row["verdict"] for row in report["diff"]["metrics"]} == {
        "accuracy": "added",
        "loss": "added",
    }
    # A base branch that is named but missing is still an error.
    named = mlci("check", "--base", "origin/main", cwd=git_repo.path)
    assert named.exit_code == 2


def _uncomment_gates(config: Path) -> None:
    """What a user does after `mlci init`: uncomment the suggested gates block."""
    text = config.read_text()
    start = text.index("# gates:")
    lines = [line[2:] if line.startswith("# ") else line for line in text[start:].splitlines()]
    config.write_text(text[:start] + "\n".join(lines) + "\n")


def test_baseline_gates_are_skipped_when_there_is_no_base_yet(
    git_repo: GitRepo, mlci: Invoker
) -> None:
    """The gates `mlci init` suggests, uncommented, on a repository with no base branch yet:
    the rules against the baseline say plainly that there is none, and nothing fails."""
    git_repo.write("metrics.json", '{"accuracy": 0.9, "loss": 0.2}\n')
    assert mlci("init", "--no-workflow", cwd=git_repo.path).exit_code == 0
    _uncomment_gates(git_repo.path / "mlci.yaml")
    assert [gate.metric for gate in load_config(git_repo.path / "mlci.yaml").config.gates] == [
        "accuracy",
        "loss",
    ]
    result = mlci("check", "--format", "json", cwd=git_repo.path)
    assert result.exit_code == 0, result.stdout + result.stderr
    why = "no base branch found (tried origin/main, main, origin/master, master)"
    assert [
        (g["metric"], g["rule"], g["status"], g["reason"])
        for g in json.loads(result.stdout)["gates"]
    ] == [
        ("accuracy", "min", "passed", "0.9 >= min 0.85"),
        ("accuracy", "max_drop", "skipped", f"skipped: no baseline ({why})"),
        ("loss", "max_increase_pct", "skipped", f"skipped: no baseline ({why})"),
    ]
    text = mlci("check", cwd=git_repo.path)
    assert text.exit_code == 0
    assert (
        text.stdout.splitlines()[0]
        == "mlci report: PASSED: gates 1 passed, 2 skipped; metrics 2 added"
    )
    # Once there is a base, the same gates compare with it.
    git_repo.commit("first")
    git_repo.write("metrics.json", '{"accuracy": 0.86, "loss": 0.2}\n')
    failed = mlci("check", "--format", "json", cwd=git_repo.path)
    assert failed.exit_code == 1
    assert [(g["rule"], g["status"]) for g in json.loads(failed.stdout)["gates"]] == [
        ("min", "passed"),
        ("max_drop", "failed"),
        ("max_increase_pct", "passed"),
    ]
