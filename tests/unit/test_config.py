"""mlci.yaml: discovery, validation and the exact message for each kind of bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import Invoker

from mlci.config import Config, json_schema, load_config
from mlci.config_file import find_config
from mlci.errors import ConfigError

BAD_CONFIGS = [
    pytest.param(
        "gates: [\n  {metric: a\n",
        "mlci.yaml:3:1: config file is not valid YAML: did not find expected ',' or '}'",
        id="not-yaml",
    ),
    pytest.param(
        "- datasets\n- gates\n",
        "mlci.yaml:1:1: config file must be a mapping of sections, not a list",
        id="list-at-top",
    ),
    pytest.param(
        "version: 1\ngatse: []\n",
        "mlci.yaml:2:1: unknown key 'gatse' at the top level (did you mean 'gates'?)",
        id="unknown-section",
    ),
    pytest.param(
        "colour: blue\n",
        "mlci.yaml:1:1: unknown key 'colour' at the top level (allowed: baseline, datasets, "
        "gates, history, metrics, mlflow, predictions, projects, report, shared_paths, spark, train, "
        "version)",
        id="unknown-section-no-close-match",
    ),
    pytest.param(
        "",
        "mlci.yaml: config file is empty (start from `mlci init` or the README)",
        id="empty",
    ),
    pytest.param(
        "# only a comment\n",
        "mlci.yaml: config file is empty (start from `mlci init` or the README)",
        id="only-comment",
    ),
    pytest.param(
        "gates:\n  metric: accuracy\n",
        "mlci.yaml:2:3: gates: expected a list, got a mapping",
        id="mapping-where-list-belongs",
    ),
    pytest.param(
        "metrics: [metrics.json]\n",
        "mlci.yaml:1:10: metrics: expected a mapping, got a list",
        id="list-where-mapping-belongs",
    ),
    pytest.param(
        "gates:\n  - metric: accuracy\n    min: high\n",
        "mlci.yaml:3:10: gates[0].min: expected a number, got a string",
        id="wrong-type",
    ),
    pytest.param(
        "gates:\n  - metric: accuracy\n    mni: 0.9\n",
        "mlci.yaml:3:5: unknown key 'mni' in gates[0] (did you mean 'min'?)",
        id="misspelt-key",
    ),
    pytest.param(
        "gates:\n  - min: 0.9\n",
        "mlci.yaml:2:5: missing required key 'metric' in gates[0]",
        id="missing-key",
    ),
    pytest.param(
        "gates:\n  - metric: accuracy\n    min: 0.9\n    max: 0.5\n",
        "mlci.yaml:2:5: gates[0]: gate on 'accuracy': min 0.9 > max 0.5",
        id="min-above-max",
    ),
    pytest.param(
        "gates:\n  - metric: accuracy\n",
        "mlci.yaml:2:5: gates[0]: gate on 'accuracy' has no rule (min, max, max_drop, ...)",
        id="gate-without-rule",
    ),
    pytest.param(
        "datasets:\n  - path: x.csv\n    engine: panda\n",
        "mlci.yaml:3:13: datasets[0].engine: 'panda' is not one of: pandas, polars, spark "
        "(did you mean 'pandas'?)",
        id="bad-choice",
    ),
    pytest.param(
        "version: 2\n",
        "mlci.yaml:1:10: unsupported config version 2: this mlci reads version 1 "
        "(upgrade mlci, or write the file for `version: 1`)",
        id="future-version",
    ),
    pytest.param(
        "report: {}\nreport: {}\n",
        "mlci.yaml:2:1: config file is not valid YAML: duplicate key 'report'",
        id="duplicate-key",
    ),
    pytest.param(
        "baseline:\n  source: files\n",
        "mlci.yaml:2:3: baseline: baseline `source: files` needs `dir:` (the snapshot directory)",
        id="baseline-files-without-dir",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD_CONFIGS)
def test_bad_config_is_one_line_and_exit_2(
    mlci: Invoker, tmp_path: Path, text: str, message: str
) -> None:
    (tmp_path / "mlci.yaml").write_text(text)
    result = mlci("config", "show", cwd=tmp_path)
    assert result.exit_code == 2
    assert result.stderr == f"mlci: error: {message}\n"
    assert result.stdout == ""


def test_missing_config_file_named_with_c(mlci: Invoker, tmp_path: Path) -> None:
    result = mlci("-c", "nope.yaml", "config", "show", cwd=tmp_path)
    assert result.exit_code == 2
    assert result.stderr == "mlci: error: nope.yaml: config file not found (check the path)\n"


def test_directory_given_as_config(mlci: Invoker, tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    result = mlci("-c", "conf", "config", "show", cwd=tmp_path)
    assert result.exit_code == 2
    assert "'-c' / '--config': File 'conf' is a directory." in result.stderr


def test_directory_named_mlci_yaml_is_not_taken_for_the_config(
    mlci: Invoker, tmp_path: Path
) -> None:
    (tmp_path / "mlci.yaml").mkdir()
    (tmp_path / ".git").mkdir()
    result = mlci("check", cwd=tmp_path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"mlci: error: no mlci.yaml found in {tmp_path.resolve()}")


def test_unreadable_config(mlci: Invoker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "mlci.yaml"
    config.write_text("version: 1\n")

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied")

    # Root reads files whatever their mode, so the OS refusal is simulated at the boundary.
    monkeypatch.setattr(Path, "read_bytes", refuse)
    result = mlci("config", "show", cwd=tmp_path)
    assert result.exit_code == 2
    assert (
        result.stderr == "mlci: error: mlci.yaml: config file is not readable (permission denied)\n"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read files whatever their mode")
def test_unreadable_config_for_real(mlci: Invoker, tmp_path: Path) -> None:
    config = tmp_path / "mlci.yaml"
    config.write_text("version: 1\n")
    config.chmod(0)
    result = mlci("config", "show", cwd=tmp_path)
    assert (
        result.stderr == "mlci: error: mlci.yaml: config file is not readable (permission denied)\n"
    )


def test_not_utf8(mlci: Invoker, tmp_path: Path) -> None:
    (tmp_path / "mlci.yaml").write_bytes("report: {title: café}\n".encode("latin-1"))
    result = mlci("config", "show", cwd=tmp_path)
    assert result.exit_code == 2
    assert result.stderr == (
        "mlci: error: mlci.yaml:1:20: config file is not valid UTF-8 (save the file as UTF-8)\n"
    )


def test_discovery_walks_up_to_the_repository_top(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    nested = repo / "src" / "deep"
    nested.mkdir(parents=True)
    (repo / ".git").mkdir()
    (repo / ".mlci.yml").write_text("version: 1\n")
    assert find_config(nested) == (repo / ".mlci.yml").resolve()
    # Outside the repository nothing is picked up from above it.
    (tmp_path / "mlci.yaml").write_text("version: 1\n")
    (repo / ".mlci.yml").unlink()
    assert find_config(nested) is None


def test_mlci_yaml_wins_over_dot_file(tmp_path: Path) -> None:
    (tmp_path / "mlci.yaml").write_text("version: 1\n")
    (tmp_path / ".mlci.yml").write_text("version: 1\n")
    assert find_config(tmp_path) == (tmp_path / "mlci.yaml").resolve()


def test_minus_capital_c_runs_as_if_started_there(mlci: Invoker, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "mlci.yaml").write_text("report:\n  title: from project\n")
    result = mlci("-C", project, "config", "show", "--format", "json", cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["report"]["title"] == "from project"


def test_minus_capital_c_missing_directory(mlci: Invoker, tmp_path: Path) -> None:
    result = mlci("-C", "nowhere", "check", cwd=tmp_path)
    assert result.exit_code == 2
    assert "Directory 'nowhere' does not exist." in result.stderr


def test_config_show_fills_defaults(mlci: Invoker, tmp_path: Path) -> None:
    (tmp_path / "mlci.yaml").write_text("gates:\n  - metric: accuracy\n    min: 0.9\n")
    result = mlci("config", "show", "--format", "json", cwd=tmp_path)
    shown = json.loads(result.stdout)
    assert shown["gates"][0]["severity"] == "error"
    assert shown["gates"][0]["min"] == 0.9
    assert shown["baseline"]["source"] == "git"
    assert shown["report"]["id"] == "default"


def test_json_schema_validates_the_example_and_rejects_unknown_keys(tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    schema = json_schema()
    example = Path(__file__).parents[2] / "examples" / "iris" / "mlci.yaml"
    jsonschema.validate(yaml.safe_load(example.read_text()), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"gatse": []}, schema)


def test_config_schema_command_prints_the_schema(mlci: Invoker) -> None:
    result = mlci("config", "schema")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == json_schema()


def test_load_config_returns_typed_model(tmp_path: Path) -> None:
    path = tmp_path / "mlci.yaml"
    path.write_text("metrics:\n  files: [m.json]\n")
    loaded = load_config(path)
    assert isinstance(loaded.config, Config)
    assert loaded.resolve("m.json") == tmp_path / "m.json"
    path.write_text("metrics: 3\n")
    with pytest.raises(ConfigError):
        load_config(path)
