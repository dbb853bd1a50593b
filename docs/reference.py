"""Generate the README's CLI and config references from `--help` and the config model.

    python docs/reference.py          # rewrite the generated sections of README.md
    python docs/reference.py --check  # exit 1 if README.md is out of date (tests/unit/test_docs.py)

Sections live between `<!-- BEGIN name -->` and `<!-- END name -->` markers.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import click

import mlci.config

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CONFIG_SOURCE = ROOT / "mlci" / "config.py"
# Sections of mlci.yaml, in the order the reference shows them: key -> struct class.
SECTIONS = {
    "version": None,
    "datasets": "Dataset",
    "datasets[].drift": "DatasetDrift",
    "metrics": "Metrics",
    "baseline": "Baseline",
    "baseline.mlflow": "MlflowBaseline",
    "gates": "Gate",
    "gates[].significance": "Significance",
    "predictions": "PredictionsOptions",
    "report": "ReportOptions",
    "mlflow": "MlflowOptions",
    "spark": "Spark",
    "train": "Train",
    "history": "History",
}


def cli_reference() -> str:
    from mlci.cli.main import cli

    parts: list[str] = []

    def walk(command: click.Command, path: list[str], parent: click.Context | None) -> None:
        name = " ".join(path)
        # make_context applies the group's context_settings (`-h`), as a real run does.
        context = command.make_context(
            path[-1], [], parent=parent, resilient_parsing=True, terminal_width=100
        )
        text = command.get_help(context)
        heading = "#" * min(3 + len(path) - 1, 5)
        parts.append(f"{heading} `{name}`\n\n```text\n{text}\n```\n")
        if isinstance(command, click.Group):
            for sub_name in command.list_commands(context):
                sub = command.get_command(context, sub_name)
                assert sub is not None
                walk(sub, [*path, sub_name], context)

    walk(cli, ["mlci"], None)
    return "\n".join(parts)


def _fields(tree: ast.Module) -> dict[str, list[tuple[str, str, str, str]]]:
    """Class name -> [(field, type, default, doc)] read from the source, docstrings included."""
    classes: dict[str, list[tuple[str, str, str, str]]] = {}
    # Module-level type aliases (`Statistic = Literal[...]`) are shown as what they stand for.
    aliases = {
        node.targets[0].id: ast.unparse(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.Subscript)
        and ast.unparse(node.value.value) == "Literal"
    }
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        rows = []
        body = node.body
        for index, item in enumerate(body):
            if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                doc = ""
                following = body[index + 1] if index + 1 < len(body) else None
                if (
                    isinstance(following, ast.Expr)
                    and isinstance(following.value, ast.Constant)
                    and isinstance(following.value.value, str)
                ):
                    doc = " ".join(following.value.value.split())
                default = ast.unparse(item.value) if item.value is not None else "required"
                if isinstance(item.value, ast.Name):  # a named constant: show its value
                    default = repr(getattr(mlci.config, item.value.id))
                annotation = ast.unparse(item.annotation)
                for alias, value in aliases.items():
                    annotation = re.sub(rf"\b{alias}\b", value, annotation)
                rows.append((item.target.id, annotation, default, doc))
        classes[node.name] = rows
    return classes


def config_reference() -> str:
    classes = _fields(ast.parse(CONFIG_SOURCE.read_text()))
    parts = [
        "`version` (int, default `1`): the config format version; mlci refuses versions it does "
        "not know.\n",
        "`projects` (list of directories, each with its own mlci.yaml): the models of a "
        "repository, run by `mlci check --all` (found when not listed). `shared_paths` (list of "
        "paths or globs): what every project depends on; with `mlci check --changed` a change "
        "to one runs every project.\n",
    ]
    for key, class_name in SECTIONS.items():
        if class_name is None:
            continue
        parts.append(f"#### `{key}`\n")
        parts.append("| key | type | default | meaning |\n| --- | --- | --- | --- |")
        for field, annotation, default, doc in classes[class_name]:
            shown_default = "" if default in ("None", "[]") else f"`{default}`"
            if shown_default and default.endswith("()"):
                shown_default = ""
            shown_type = re.sub(r"Literal\[(.*?)\]", r"\1", annotation).replace(", ", " / ")
            parts.append(
                f"| `{field}` | `{shown_type.replace(' | ', ' or ')}` | {shown_default} | "
                f"{doc.replace('|', '/')} |"
            )
        parts.append("")
    return "\n".join(parts)


def render(readme: str) -> str:
    for name, text in (
        ("cli-reference", cli_reference()),
        ("config-reference", config_reference()),
    ):
        pattern = re.compile(rf"(<!-- BEGIN {name} -->\n).*?(<!-- END {name} -->)", re.DOTALL)
        if not pattern.search(readme):
            raise SystemExit(f"README.md lacks the markers for {name}")
        readme = pattern.sub(lambda match, t=text: match[1] + "\n" + t + "\n" + match[2], readme)
    return readme


def main() -> int:
    current = README.read_text()
    wanted = render(current)
    if "--check" in sys.argv:
        if current != wanted:
            print("README.md is out of date: run `python docs/reference.py`", file=sys.stderr)
            return 1
        return 0
    README.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
