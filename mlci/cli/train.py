"""`mlci train`: run the training command only when its inputs changed since a cached run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from mlci.cli.state import CliState, choice_format_option, pass_state


@click.command()
@click.option("--force", is_flag=True, help="Run the command even when outputs are cached.")
@click.option(
    "--plan",
    is_flag=True,
    help="Only say what would happen: the inputs hash, the cache entry, run or restore.",
)
@click.option(
    "--if-present",
    is_flag=True,
    help="Do nothing (exit 0) when mlci.yaml declares no `train:` section.",
)
@choice_format_option("text", "json")
@pass_state
def train(state: CliState, force: bool, plan: bool, if_present: bool, output_format: str) -> int:
    """Run the `train:` command of mlci.yaml only when its inputs changed.

    The inputs hash covers the declared inputs (git blob ids of their content), the command and
    the Python version. When outputs for that hash are cached (`train.cache_dir`), they are
    restored instead of training; otherwise the command runs and its outputs are cached. In a
    DVC repository, `dvc repro --pull --allow-missing` decides instead. Exits 1 when the
    command fails.
    """
    from mlci.training.run import uses_dvc

    config = state.config(required=not if_present)
    settings = config.config.train if config.explicit else None
    if settings is None and if_present:
        _emit(
            output_format,
            {"declared": False},
            "mlci train: no `train:` in mlci.yaml: nothing to do",
        )
        return 0
    as_json = output_format == "json"
    if plan:
        return _plan(config, as_json, force=force)
    from mlci.training.train import train_project

    # With --format json, stdout carries only the JSON: the command's own output goes to stderr.
    outcome = train_project(config, force=force, echo=lambda line: click.echo(line, err=as_json))
    record = outcome.record
    data: dict[str, Any] = {
        "declared": True,
        "engine": outcome.engine,
        "skipped": outcome.skipped,
        "inputs_hash": record.inputs_hash,
        "commit": record.commit,
        "seconds": record.seconds,
    }
    if outcome.skipped:
        since = f" since {record.commit[:12]}" if record.commit else ""
        text = f"mlci train: restored the outputs: training skipped, inputs unchanged{since}"
        if outcome.engine == "dvc":
            text = f"mlci train: dvc repro ran no stage: training skipped, inputs unchanged{since}"
    else:
        took = f" in {record.seconds:.1f} s" if record.seconds is not None else ""
        text = f"mlci train: ran `{record.command}`{took} (inputs {record.inputs_hash[:12]})"
    if settings is not None and not uses_dvc(config, settings):
        _warn_undeclared(settings.command, config.root, record.inputs)
    _emit(output_format, data, text)
    return 0


def _plan(config: Any, as_json: bool, *, force: bool) -> int:
    from mlci.training.run import plan_training, train_settings, uses_dvc

    settings = train_settings(config)
    if uses_dvc(config, settings):
        data: dict[str, Any] = {"declared": True, "engine": "dvc", "action": "dvc repro"}
        _emit("json" if as_json else "text", data, "mlci train --plan: dvc repro decides")
        return 0
    plan = plan_training(config)
    entry = plan.cache.entry(plan.inputs_hash).resolve()
    data = {
        "declared": True,
        "engine": "mlci",
        "action": "run" if force else plan.action,
        "inputs_hash": plan.inputs_hash,
        "cache_key": f"mlci-train-{plan.inputs_hash}",
        "cache_path": str(entry),
        "inputs": [item.path for item in plan.inputs.files],
    }
    verb = "run the command" if data["action"] == "run" else "restore the cached outputs"
    text = f"mlci train --plan: would {verb} (inputs {plan.inputs_hash[:12]}, cache {entry})"
    _emit("json" if as_json else "text", data, text)
    return 0


def _warn_undeclared(command: str, root: Path, inputs: list[str]) -> None:
    from mlci.training.imports import undeclared_imports

    missing = undeclared_imports(command, root, inputs)
    if missing:
        click.echo(
            "mlci: warning: the training script imports tracked files that train.inputs does "
            f"not cover (a change to them will not retrain): {', '.join(missing)}",
            err=True,
        )


def _emit(output_format: str, data: dict[str, Any], text: str) -> None:
    click.echo(json.dumps(data) if output_format == "json" else text)
