"""`mlci schema infer` and `mlci schema diff`: start a schema from data; see how one changed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import click

from mlci.cli.state import CliState, choice_format_option, pass_state, write_output

_FORMATS = ("csv", "tsv", "parquet", "json", "jsonl")


@click.group()
def schema() -> None:
    """Infer a pandera schema from data, or diff two schemas."""


@schema.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the schema to FILE (.yaml/.yml, or .json); default: print YAML.",
)
@click.option("--data-format", type=click.Choice(_FORMATS), default=None, help="Format of DATA.")
@click.option(
    "--engine",
    type=click.Choice(["pandas", "polars", "spark"]),
    default="pandas",
    show_default=True,
    help="Infer a pandas, polars or PySpark schema (spark reads DATA, a file or a directory "
    "of Parquet files, with Spark).",
)
@click.option("--encoding", default="utf-8", show_default=True, help="Text encoding of DATA.")
@pass_state
def infer(
    state: CliState,
    data: Path,
    output: Path | None,
    data_format: str | None,
    engine: str,
    encoding: str,
) -> int:
    """Infer a starting pandera schema from DATA: dtypes, nullability and value ranges.

    The schema is written in pandera's own format (`DataFrameSchema.to_yaml()`), which
    `mlci validate` and pandera read. Review it: tighten ranges, add `isin`, mark ids `unique`.
    """
    from mlci.integrations.pandera_schemas import infer_schema, serialize, to_yaml
    from mlci.sources.data_files import open_data_file, read_frame

    if engine == "spark":
        inferred = _infer_spark(state, data, data_format, encoding)
    else:
        data_file = open_data_file(data, data_format, encoding)
        frame = read_frame(data_file, "polars" if engine == "polars" else "pandas")
        inferred = infer_schema(frame, "polars" if engine == "polars" else "pandas")
    if output is not None and output.suffix.lower() == ".json":
        text = json.dumps(serialize(inferred), indent=2) + "\n"
    else:
        text = to_yaml(inferred)
    if output is None:
        click.echo(text, nl=False)
    else:
        write_output(output, text)
        click.echo(f"wrote {output} ({len(inferred.columns)} columns)", err=True)
    return 0


def _infer_spark(state: CliState, data: Path, data_format: str | None, encoding: str) -> Any:
    from mlci.config import default_config
    from mlci.integrations.pandera_schemas import infer_schema
    from mlci.integrations.spark_session import SparkSettings, spark_session
    from mlci.sources.spark_data import read_spark, spark_source

    config = state.config(required=False) if state.config_path else default_config()
    source = spark_source(Path.cwd(), str(data), None, data_format)
    session = spark_session(SparkSettings.from_config(config.config.spark))
    return infer_schema(read_spark(session, source, encoding=encoding), "spark")


@schema.command("diff")
@click.argument("old")
@click.argument("new")
@choice_format_option("text", "markdown", "json")
@click.option(
    "--engine",
    type=click.Choice(["pandas", "polars"]),
    default="pandas",
    show_default=True,
    help="Read both schemas for this engine (dtype names differ).",
)
@click.option("--fail-on-breaking", is_flag=True, help="Exit 1 when a change is breaking.")
@pass_state
def diff_command(
    state: CliState, old: str, new: str, output_format: str, engine: str, fail_on_breaking: bool
) -> int:
    """Compare schema OLD with schema NEW; class every change as breaking or compatible.

    Each of OLD and NEW is a YAML/JSON file, `module:attribute`, or `REV:path` (the file at a
    git revision; the path is relative to the repository top unless it starts with ./).
    Breaking: a column removed, a dtype changed, nullable turned off, a check added or
    tightened, a column newly required. Compatible: an optional column added, a check loosened.
    """
    from mlci.checks.schema_diff import describe, diff_schemas, load_for_diff

    chosen_engine: Literal["pandas", "polars"] = "polars" if engine == "polars" else "pandas"
    old_schema = load_for_diff(old, Path.cwd(), chosen_engine)
    new_schema = load_for_diff(new, Path.cwd(), chosen_engine)
    changes = diff_schemas(describe(old_schema.schema), describe(new_schema.schema))
    breaking = sum(change.breaking for change in changes)
    if output_format == "json":
        body = {
            "old": old,
            "new": new,
            "breaking": breaking,
            "compatible": len(changes) - breaking,
            "changes": [change.to_dict() for change in changes],
        }
        click.echo(json.dumps(body, indent=2, default=str))
    else:
        from mlci.report.tables import Table

        table = Table(
            title=f"Schema changes {old} → {new}: {breaking} breaking, "
            f"{len(changes) - breaking} compatible",
            headers=["Column", "Change", "Kind"],
        )
        for change in changes:
            table.rows.append(
                [
                    change.column or "(schema)",
                    change.detail,
                    "BREAKING" if change.breaking else "compatible",
                ]
            )
        if output_format == "markdown":
            from mlci.report.markdown_text import markdown_table

            click.echo(f"#### {table.title}\n\n" + markdown_table(table))
        elif changes:
            from mlci.report.render import plain_table

            click.echo(plain_table(table), nl=False)
        else:
            click.echo(f"no schema changes {old} → {new}")
    return 1 if fail_on_breaking and breaking else 0
