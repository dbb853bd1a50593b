"""`mlci diff`: every metric (or param) against the base, DVC-exact and direction-aware."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mlci.cli.state import CliState, chosen_format, pass_state
from mlci.config_file import DEFAULT_PRECISION, ConfigFile

if TYPE_CHECKING:
    from mlci.sources.metrics import MetricSet


@click.command()
@click.argument("a_rev", required=False)
@click.argument("b_rev", required=False)
@click.option(
    "--targets",
    multiple=True,
    metavar="FILE",
    help="Metrics files to compare (repeatable); default: mlci.yaml's and dvc.yaml's.",
)
@click.option("-a", "--all", "show_all", is_flag=True, help="Show unchanged metrics too.")
@click.option(
    "--precision", type=click.IntRange(0, 17), default=None, help="Decimals shown (default 5)."
)
@click.option("--no-path", is_flag=True, help="Leave out the Path column.")
@click.option(
    "--params", is_flag=True, help="Diff parameters instead of metrics (no Change column)."
)
@click.option("--json", "as_json", is_flag=True, help="DVC's JSON shape (same as `--format json`).")
@click.option("--md", "as_md", is_flag=True, help="A markdown table (same as `--format markdown`).")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "markdown", "json"]),
    default=None,
    help="Output format (default: text).",
)
@pass_state
def diff(
    state: CliState,
    a_rev: str | None,
    b_rev: str | None,
    targets: tuple[str, ...],
    show_all: bool,
    precision: int | None,
    no_path: bool,
    params: bool,
    as_json: bool,
    as_md: bool,
    output_format: str | None,
) -> int:
    """Compare metrics between A_REV and B_REV.

    A_REV defaults to the merge-base of HEAD and the base branch (GITHUB_BASE_REF in GitHub
    Actions, else origin/main or baseline.branch in mlci.yaml); B_REV to the work tree.
    `--json` prints exactly what `dvc metrics diff --json` prints.
    """
    from mlci.checks.diff import dvc_diff, metric_changes, no_direction
    from mlci.pipeline.context import CheckContext
    from mlci.sources.metrics import Kind

    chosen = chosen_format(output_format, as_json, as_md)
    config = state.config(required=False)
    cwd = Path.cwd()
    context = CheckContext(
        config=config,
        base_override=a_rev,
        head_override=b_rev,
        targets=tuple(_from_cwd(target, cwd, config.root) for target in targets) or None,
    )
    kind: Kind = "params" if params else "metrics"
    old, new = context.base_metrics(kind), context.head_metrics(kind)
    for side in (old, new):
        for missing in side.unavailable:
            click.echo(f"mlci: warning: {missing.message(side.label)}; {missing.hint}", err=True)
    if cwd.resolve() != config.root.resolve():  # paths as DVC prints them: from where you are
        old, new = _relative_to(old, cwd, config.root), _relative_to(new, cwd, config.root)
    if chosen == "json":
        click.echo(json.dumps(dvc_diff(old, new, with_unchanged=show_all)))
        return 0
    from mlci.report.tables import metric_table

    direction_of = no_direction if params else context.direction_of
    changes = metric_changes(old, new, direction_of=direction_of, with_unchanged=show_all)
    table = metric_table(
        changes,
        title="",
        base=old.label,
        head=new.label,
        precision=precision if precision is not None else _precision(config),
        with_change=not params,
        with_path=not no_path,
        name_header="Param" if params else "Metric",
    )
    if chosen == "markdown":
        from mlci.report.markdown_text import markdown_table

        click.echo(markdown_table(table))
    elif table.rows:
        from mlci.report.render import plain_table

        click.echo(plain_table(table).split("\n", 1)[1], nl=False)
    return 0


def _from_cwd(target: str, cwd: Path, root: Path) -> str:
    # The directory is resolved, the file itself is not: a symlinked metrics file (a loop, a
    # device) is then named and refused as what it is when it is read.
    where = cwd / target
    try:
        located = where.parent.resolve() / where.name
        return Path(os.path.relpath(located, root.resolve())).as_posix()
    except (OSError, RuntimeError):  # Python < 3.13 says a symlink loop with RuntimeError
        from mlci.errors import InputFileError

        raise InputFileError("is a symbolic link loop", path=target) from None


def _relative_to(metrics: MetricSet, cwd: Path, root: Path) -> MetricSet:
    def shown(path: str) -> str:
        return Path(os.path.relpath((root / path).resolve(), cwd.resolve())).as_posix()

    return replace(metrics, data={shown(path): value for path, value in metrics.data.items()})


def _precision(config: ConfigFile) -> int:
    return config.config.metrics.precision if config.explicit else DEFAULT_PRECISION
