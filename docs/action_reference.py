"""Generate the inputs and outputs tables of docs/github-action.md from action.yml.

    python docs/action_reference.py          # rewrite the tables
    python docs/action_reference.py --check  # exit 1 if they drifted (tests/e2e/test_action.py)

Tables live between `<!-- BEGIN action-inputs -->` / `<!-- END action-inputs -->` (and
`action-outputs`) markers.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
ACTION = ROOT / "action.yml"
DOC = ROOT / "docs" / "github-action.md"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def inputs_table(action: dict[str, Any]) -> str:
    rows = ["| Input | Default | Description |", "| --- | --- | --- |"]
    for name, spec in action["inputs"].items():
        default = spec.get("default", "")
        shown = f"`{default}`" if default != "" else "(empty)"
        rows.append(f"| `{name}` | {shown} | {_cell(spec['description'])} |")
    return "\n".join(rows)


def outputs_table(action: dict[str, Any]) -> str:
    rows = ["| Output | Description |", "| --- | --- |"]
    for name, spec in action["outputs"].items():
        rows.append(f"| `{name}` | {_cell(spec['description'])} |")
    return "\n".join(rows)


def render(text: str) -> str:
    action = yaml.safe_load(ACTION.read_text())
    for name, table in (
        ("action-inputs", inputs_table(action)),
        ("action-outputs", outputs_table(action)),
    ):
        pattern = re.compile(rf"(<!-- BEGIN {name} -->\n).*?(\n<!-- END {name} -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"{DOC} lacks the {name} markers")
        text = pattern.sub(lambda match, table=table: match[1] + table + match[2], text)
    return text


def main(argv: list[str]) -> int:
    current = DOC.read_text()
    wanted = render(current)
    if "--check" in argv:
        if wanted != current:
            print(f"{DOC} is out of date: run python docs/action_reference.py")
            return 1
        return 0
    DOC.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
