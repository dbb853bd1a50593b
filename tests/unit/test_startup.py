"""Start-up stays cheap: the CLI imports none of the heavy optional libraries."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = [
    "pandas",
    "pandera",
    "sklearn",
    "mlflow",
    "dvc",
    "numpy",
    "scipy",
    "polars",
    "pyarrow",
    "requests",
    "jinja2",
    "rich",
    "matplotlib",
    "playwright",
    "pyspark",
    "py4j",
]


def _modules_after(code: str, cwd: Path) -> set[str]:
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=cwd, check=True
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_import_mlci_cli_is_light(tmp_path: Path) -> None:
    loaded = _modules_after("import mlci.cli, mlci.cli.main", tmp_path)
    assert not [name for name in HEAVY if name in loaded]


def test_help_and_diff_stay_light(tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text('{"a": 1}')
    code = (
        "import sys\nfrom mlci.cli.handler import run\nfrom mlci.cli.main import cli\n"
        "run(cli, ['--help'])\nrun(cli, ['diff', '--targets', 'm.json', 'HEAD'])\n"
    )
    loaded = _modules_after(code, tmp_path)
    assert not [name for name in HEAVY if name in loaded]


def test_diff_in_a_dvc_project_loads_neither_config_model_nor_report(tmp_path: Path) -> None:
    # `mlci diff` without mlci.yaml is the DVC user's case and the benchmark's: keep it lean.
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    (tmp_path / "dvc.yaml").write_text("metrics:\n  - m.json\n  - e.yaml\n")
    (tmp_path / "m.json").write_text('{"a": 1}')
    (tmp_path / "e.yaml").write_text("b: 2\n")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@t.invalid", "commit", "-qm", "base")
    (tmp_path / "m.json").write_text('{"a": 2}')
    for fmt in ("--md", "--json"):
        code = (
            "from mlci.cli.handler import run\nfrom mlci.cli.main import cli\n"
            f"assert run(cli, ['diff', 'HEAD', '{fmt}']) == 0\n"
        )
        loaded = _modules_after(code, tmp_path)
        assert not [
            name
            for name in [*HEAVY, "msgspec", "mlci.config", "mlci.report.model"]
            if name in loaded
        ]
