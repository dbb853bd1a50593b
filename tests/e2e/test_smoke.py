from __future__ import annotations

from conftest import GitRepo, Invoker


def test_version(mlci: Invoker) -> None:
    result = mlci("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("mlci, version ")


def test_diff_in_git_repo(mlci: Invoker, git_repo: GitRepo) -> None:
    git_repo.write("metrics.json", '{"accuracy": 0.9}')
    git_repo.commit("base")
    git_repo.write("metrics.json", '{"accuracy": 0.95}')
    result = mlci("diff", "HEAD", "--targets", "metrics.json", "--json", cwd=git_repo.path)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == (
        '{"metrics.json": {"accuracy": {"old": 0.9, "new": 0.95, "diff": 0.04999999999999993}}}'
    )
