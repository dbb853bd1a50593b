"""`mlci dvc`: the DVC-tracked data a change touches, and tracked files at any revision."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from mlci.cli.state import CliState, choice_format_option, pass_state


@click.group(name="dvc")
def dvc_group() -> None:
    """DVC-tracked data: what changed against the base, and files at a revision."""


@dvc_group.command()
@click.argument("a_rev", required=False)
@click.argument("b_rev", required=False)
@choice_format_option("text", "markdown", "json")
@pass_state
def changes(state: CliState, a_rev: str | None, b_rev: str | None, output_format: str) -> int:
    """List DVC-tracked data and stage dependencies whose hashes differ between A_REV and B_REV.

    A_REV defaults to the merge-base with the base branch, B_REV to the work tree. Reads the
    hashes in .dvc files and dvc.lock with git; needs no DVC installation and no data.
    """
    from dataclasses import asdict

    from mlci.integrations.dvc import data_changes
    from mlci.pipeline.context import CheckContext
    from mlci.report.tables import data_change_table

    config = state.config(required=False)
    context = CheckContext(config=config, base_override=a_rev, head_override=b_rev)
    git = context.git
    base = context.base_revision().sha
    head = git.resolve(b_rev) if b_rev else None
    found = data_changes(git, base, head, git.relative(config.root))
    if output_format == "json":
        click.echo(json.dumps([asdict(change) for change in found], indent=2))
        return 0
    table = data_change_table(found)
    if output_format == "markdown":
        from mlci.report.markdown_text import markdown_table

        click.echo(markdown_table(table))
    elif found:
        from mlci.report.render import plain_table

        click.echo(plain_table(table).split("\n", 1)[1], nl=False)
    return 0


@dvc_group.command()
@click.argument("path")
@click.option("--rev", metavar="REV", help="Git revision (default: the work tree).")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Write to this file or directory instead of stdout.",
)
@click.option(
    "--repo",
    "repo",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="DVC repository root (default: found upwards from the current directory).",
)
def get(path: str, rev: str | None, output: Path | None, repo: Path | None) -> int:
    """Print (or save with -o) PATH as it was at --rev, from the DVC cache or remote, without
    checking anything out. PATH is relative to the DVC repository root; with -o it may be a
    tracked directory. Needs mlci[dvc]."""
    from mlci.errors import InputFileError
    from mlci.integrations.dvc import fetch_at_revision, find_dvc_root, open_at_revision

    root = repo or find_dvc_root(Path.cwd())
    if root is None:
        raise InputFileError(
            f"no DVC repository at {Path.cwd()} or above", hint="run `dvc init`, or pass --repo DIR"
        )
    if output is not None:
        fetch_at_revision(root, path, rev, output)
        return 0
    sys.stdout.flush()
    stdout = sys.stdout.buffer
    with open_at_revision(root, path, rev) as handle:
        while chunk := handle.read(1 << 20):
            stdout.write(chunk)
    stdout.flush()
    return 0
