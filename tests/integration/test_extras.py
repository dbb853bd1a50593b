"""The extras a config needs: derived from mlci.yaml (the action installs them), and named as
a workflow input when one is missing in GitHub Actions."""

from __future__ import annotations

import pytest
from conftest import GitRepo, Invoker

from mlci.errors import MissingExtraError


@pytest.mark.parametrize(
    ("config", "extras"),
    [
        ("version: 1\n", ""),
        ("mlflow:\n  log: true\n", "mlflow"),
        ("baseline:\n  source: mlflow\n  mlflow:\n    run: abc\n", "mlflow"),
        ("datasets:\n  - path: d.csv\n", "data"),
        ("datasets:\n  - path: d.csv\n    engine: polars\n", "polars"),
        (
            "gates:\n  - metric: accuracy\n    significance:\n      predictions: p.csv\n"
            "mlflow:\n  log: true\n",
            "data,mlflow",
        ),
    ],
)
def test_extras_follow_the_config(
    mlci: Invoker, git_repo: GitRepo, config: str, extras: str
) -> None:
    git_repo.write("mlci.yaml", config)
    result = mlci("config", "extras", cwd=git_repo.path)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == extras + "\n"
    # Everything is installed in the test environment.
    assert mlci("config", "extras", "--missing", cwd=git_repo.path).stdout == "\n"


def test_a_dvc_project_needs_dvc_from_any_directory(mlci: Invoker, git_repo: GitRepo) -> None:
    (git_repo.path / ".dvc").mkdir()
    (git_repo.path / "src").mkdir()
    assert mlci("config", "extras", cwd=git_repo.path / "src").stdout == "dvc\n"


def test_a_missing_extra_in_actions_names_the_workflow_input(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert (
        MissingExtraError("mlflow", "mlflow").hint == "install it with: pip install 'mlci[mlflow]'"
    )
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert MissingExtraError("mlflow", "mlflow").hint == (
        "add mlflow to the `extras:` input of the mlci step (or of the reusable workflow), "
        "e.g. `extras: mlflow`"
    )
