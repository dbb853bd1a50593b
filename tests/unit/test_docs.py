"""The README is the truth: generated references match the code, CI runs its test command."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _reference() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_reference", ROOT / "docs" / "reference.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _command_after(marker: str) -> str:
    readme = (ROOT / "README.md").read_text()
    match = re.search(rf"<!-- {marker} -->\n```bash\n(.+?)\n```", readme)
    assert match, f"README lacks the {marker} block"
    return match[1]


def test_readme_references_are_up_to_date() -> None:
    readme = (ROOT / "README.md").read_text()
    assert _reference().render(readme) == readme, "run `python docs/reference.py`"


def test_every_config_key_has_a_meaning() -> None:
    reference = _reference().config_reference()
    rows = [line for line in reference.splitlines() if line.startswith("| `")]
    assert rows
    for row in rows:
        assert not row.rstrip().endswith("|  |"), f"undocumented config key: {row}"


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert _command_after("test-command") in ci


def test_quickstart_runs_check_on_the_iris_example() -> None:
    command = _command_after("quickstart-command")
    assert "examples/iris" in command
    assert command.endswith("mlci check")


def test_documented_docs_exist() -> None:
    readme = (ROOT / "README.md").read_text()
    for link in re.findall(r"\]\((docs/[^)#]+)\)", readme):
        assert (ROOT / link).is_file(), f"README links to missing {link}"


def test_readme_workflow_is_the_documented_one() -> None:
    readme = (ROOT / "README.md").read_text()
    docs = (ROOT / "docs" / "github-action.md").read_text()
    pattern = r"<!-- smallest-workflow -->\n```yaml\n(.+?)```"
    ours, theirs = re.search(pattern, readme, re.DOTALL), re.search(pattern, docs, re.DOTALL)
    assert ours
    assert theirs
    assert ours[1] == theirs[1]
