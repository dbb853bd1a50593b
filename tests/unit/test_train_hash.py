"""The inputs hash of `train:` on plain files (no git): content, command and Python version
count; mtimes, spacing and the order of declarations do not."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from mlci.errors import ConfigError
from mlci.training.inputs import blob_id, collect_inputs, normalize_command


def project(path: Path) -> Path:
    (path / "src").mkdir(parents=True)
    (path / "train.py").write_text("import src.features\n")
    (path / "src" / "features.py").write_text("SCALE = 2\n")
    (path / "params.yaml").write_text("alpha: 0.1\n")
    return path


def digest(root: Path, command: str = "python train.py", **kwargs: object) -> str:
    defaults: dict[str, object] = {
        "command": command,
        "outputs": ["metrics.json"],
        "git": None,
        "python": "cpython-3.12",
    }
    defaults.update(kwargs)
    patterns = defaults.pop("patterns", ["train.py", "src/**/*.py", "params.yaml"])
    return collect_inputs(root, patterns, **defaults).digest  # type: ignore[arg-type]


def test_blob_id_is_gits(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(b"a,b\n1,2\n" * 1000)
    expected = subprocess.run(
        ["git", "hash-object", str(path)], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert blob_id(path) == expected


def test_same_content_same_hash_whatever_the_mtimes_and_the_place(tmp_path: Path) -> None:
    one = project(tmp_path / "one")
    two = project(tmp_path / "two")
    os.utime(two / "train.py", (1_000_000, 1_000_000))
    assert digest(one) == digest(two)
    assert len(digest(one)) == 64


def test_content_command_outputs_and_python_change_it(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    first = digest(root)
    assert digest(root, "python train.py --epochs 3") != first
    assert digest(root, python="cpython-3.13") != first
    assert digest(root, outputs=["metrics.json", "model.pkl"]) != first
    (root / "src" / "features.py").write_text("SCALE = 3\n")
    assert digest(root) != first


def test_spacing_of_the_command_and_order_of_patterns_do_not(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    assert digest(root, "python   train.py") == digest(root, "python 'train.py'")
    assert digest(root, patterns=["params.yaml", "src", "train.py"]) == digest(root)
    assert normalize_command("python 'unbalanced") == "python 'unbalanced"


def test_outputs_under_an_input_glob_are_not_inputs(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    (root / "data").mkdir()
    (root / "data" / "train.csv").write_text("x\n1\n")
    before = collect_inputs(
        root, ["data"], command="c", outputs=["data/out.csv"], git=None, exclude=["data/out.csv"]
    )
    (root / "data" / "out.csv").write_text("written by training\n")
    after = collect_inputs(
        root, ["data"], command="c", outputs=["data/out.csv"], git=None, exclude=["data/out.csv"]
    )
    assert [item.path for item in after.files] == ["data/train.csv"]
    assert after.digest == before.digest


def test_a_pattern_that_matches_nothing_is_named(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    with pytest.raises(ConfigError, match=r"train.inputs\[1\] 'data/\*\.csv' matches no file"):
        digest(root, patterns=["train.py", "data/*.csv"])
