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
