"""`mlci config`: the JSON Schema of mlci.yaml and the resolved config."""

from __future__ import annotations

import json

import click

from mlci.cli.state import CliState, choice_format_option, pass_state


@click.group()
def config() -> None:
    """Inspect mlci.yaml: its JSON Schema and the config as mlci resolves it."""


@config.command()
def schema() -> None:
    """Print the JSON Schema of mlci.yaml (for editors and check-jsonschema)."""
    from mlci.config import json_schema

    click.echo(json.dumps(json_schema(), indent=2))


@config.command()
@choice_format_option("yaml", "json")
@pass_state
def show(state: CliState, output_format: str) -> None:
    """Validate mlci.yaml and print it with every default filled in."""
    import yaml

    from mlci.config import to_builtins

    loaded = state.config()
    data = to_builtins(loaded.config)
    if output_format == "json":
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(f"# {loaded.path}")
        click.echo(yaml.safe_dump(data, sort_keys=False), nl=False)


@config.command()
@click.option("--missing", is_flag=True, help="Only those not installed here.")
@pass_state
def extras(state: CliState, missing: bool) -> None:
    """Print the mlci extras the config needs, comma-separated (the action installs them)."""
    from mlci.pipeline.extras import missing_extras, needed_extras

    needed = needed_extras(state.config(required=False))
    click.echo(",".join(missing_extras(needed) if missing else needed))
