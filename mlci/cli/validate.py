"""`mlci validate`: data files against a pandera schema, or every dataset in mlci.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from mlci.cli.state import CliState, format_option, output_option, pass_state

_FORMATS = ("csv", "tsv", "parquet", "json", "jsonl")


@click.command()
@click.argument("data", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "-s",
    "--schema",
    metavar="SCHEMA",
    help="A pandera schema: YAML/JSON as pandera writes it, or module:attribute "
    "(a DataFrameSchema or DataFrameModel). Required with DATA.",
)
@format_option("text", "markdown", "json")
@output_option
@click.option(
    "--max-failures",
    type=click.IntRange(0),
    default=None,
    help="Failure cases kept per failing check (default 20).",
)
@click.option(
    "--data-format",
    type=click.Choice(_FORMATS),
    default=None,
    help="Read DATA as this format instead of guessing from the extension.",
)
@click.option(
    "--engine",
    type=click.Choice(["pandas", "polars", "spark"]),
    default=None,
    help="Dataframe library pandera validates with (default: pandas; spark: pandera's PySpark "
    "backend on the session of mlci.yaml's `spark:`, else local[*]).",
)
@click.option(
    "--table",
    "tables",
    metavar="DB.NAME",
    multiple=True,
    help="Validate this table of the Spark catalog (implies --engine spark).",
)
@click.option(
    "--chunksize",
    type=click.IntRange(1),
    default=None,
    help="Validate CSV/TSV/JSON Lines/Parquet in chunks of N rows, in bounded memory.",
)
@click.option("--encoding", default=None, help="Text encoding of DATA (default: utf-8).")
@pass_state
def validate(
    state: CliState,
    data: tuple[Path, ...],
    schema: str | None,
    output_format: str | None,
    output: Path | None,
    max_failures: int | None,
    data_format: str | None,
    engine: str | None,
    chunksize: int | None,
    encoding: str | None,
    tables: tuple[str, ...],
) -> int:
    """Validate DATA files against a pandera schema, reporting every failing check at once.

    Without DATA, validates every dataset in mlci.yaml (options given here override the
    config's). Exits 0 when all data is valid, 1 when a check failed, 2 on bad input.
    """
    from mlci.checks.datasets import add_runs, validate_dataset
    from mlci.cli.output import emit_report
    from mlci.config import Dataset, default_config
    from mlci.report.model import Report

    overrides: dict[str, Any] = {
        "format": data_format,
        "engine": engine,
        "chunksize": chunksize,
        "max_failures": max_failures,
        "encoding": encoding,
    }
    overrides = {key: value for key, value in overrides.items() if value is not None}
    if tables:
        if engine not in (None, "spark"):
            raise click.UsageError("--table is read by the Spark engine, not --engine " + engine)
        overrides["engine"] = "spark"
    if data or tables:
        if schema is None:
            raise click.UsageError("give the schema of DATA with --schema SCHEMA")
        config = state.config(required=False) if state.config_path else default_config()
        root = Path.cwd()
        datasets = [Dataset(path=str(path), schema=schema, **overrides) for path in data]
        datasets += [Dataset(table=table, schema=schema, **overrides) for table in tables]
    else:
        config = state.config()
        root = config.root
        datasets = [_override(dataset, schema, overrides) for dataset in config.config.datasets]
        if not datasets:
            raise click.UsageError(
                "no DATA given and mlci.yaml has no `datasets:`; "
                "run `mlci validate DATA --schema SCHEMA`"
            )
    from mlci.cli.progress import progress_bar

    report = Report(title="mlci validate", report_id=config.config.report.id)
    with progress_bar() as progress:
        for dataset in datasets:
            runs = validate_dataset(dataset, root, progress=progress, spark=config.config.spark)
            add_runs(report, runs, "validate")
    emit_report(report, config, output_format, output)
    return report.exit_code


def _override(dataset: Any, schema: str | None, overrides: dict[str, Any]) -> Any:
    import msgspec

    changes = dict(overrides)
    if schema is not None:
        changes["schema"] = schema
    return msgspec.structs.replace(dataset, **changes) if changes else dataset
