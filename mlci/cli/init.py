"""`mlci init`: a starter mlci.yaml, inferred schemas and a workflow for an existing ML repo."""

from __future__ import annotations

import os
from pathlib import Path

import click


@click.command()
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
@click.option(
    "--no-schemas",
    "infer_schemas",
    is_flag=True,
    flag_value=False,
    default=True,
    help="Do not infer pandera schemas for the data files found.",
)
@click.option(
    "--no-workflow",
    "workflow",
    is_flag=True,
    flag_value=False,
    default=True,
    help="Do not write .github/workflows/mlci.yml.",
)
@click.option(
    "--train-command",
    metavar="CMD",
    default=None,
    help="The command that trains (default: dvc repro, python train.py, ... as found).",
)
def init(force: bool, infer_schemas: bool, workflow: bool, train_command: str | None) -> int:
    """Set up mlci in the current repository: write mlci.yaml (with the datasets, schemas
    and metrics files found, gates as commented suggestions) and a GitHub workflow that
    runs it on every pull request. Existing files are kept unless --force.
    """
    from mlci.starter import plan_starter, write_starter

    root = Path.cwd()
    starter = plan_starter(
        root, infer_schemas=infer_schemas, workflow=workflow, train_command=train_command
    )
    written = write_starter(starter, force=force)
    for path in written:
        click.echo(f"wrote {os.path.relpath(path, root)}")
    with_schema = sum(1 for dataset in starter.datasets if dataset.schema)
    click.echo(
        f"found {len(starter.datasets)} data file(s) ({with_schema} with an inferred schema), "
        f"{len(starter.metrics)} metrics file(s); {len(starter.gates)} gate(s) suggested"
    )
    for dataset in starter.datasets:
        if dataset.note:
            click.echo(f"  {dataset.path}: no schema ({dataset.note})")
    for note in starter.notes:
        click.echo(f"  note: {note}")
    steps = ["review mlci.yaml: uncomment the gates you want"]
    if with_schema:
        steps.append(
            "tighten the inferred schemas in schemas/ (ranges, allowed values, unique ids)"
        )
    steps.append("run `mlci check` to see the report")
    if workflow:
        if not starter.train_command:
            steps.append("set train-command in .github/workflows/mlci.yml")
        if starter.remote_secrets:
            steps.append(
                "add the DVC remote's credentials as repository secrets (Settings > Secrets "
                f"and variables > Actions): {', '.join(starter.remote_secrets)}"
            )
        steps.append("commit, push and open a pull request: mlci comments on it")
    click.echo("next:")
    for number, step in enumerate(steps, 1):
        click.echo(f"  {number}. {step}")
    return 0
