"""`mlci promote`: move a registry alias to a run's model version when the gates pass; roll back."""

from __future__ import annotations

import os
from pathlib import Path

import click

from mlci.cli.state import CliState, choice_format_option, pass_state


@click.command()
@click.option(
    "--model",
    "model",
    metavar="NAME",
    help="Registered model (default: mlflow.registered_model in mlci.yaml).",
)
@click.option(
    "--run",
    "run_id",
    metavar="RUN_ID",
    help="Promote the model of this run (registered first if needed).",
)
@click.option("--version", "version", metavar="N", help="Promote this existing model version.")
@click.option(
    "--alias",
    metavar="ALIAS",
    help="The alias to move (default: mlflow.alias in mlci.yaml, else champion).",
)
@click.option(
    "--rollback", is_flag=True, help="Move the alias back to the version that held it before."
)
@click.option(
    "--force",
    is_flag=True,
    help="Promote even when a gate fails (the version is tagged mlci.forced).",
)
@click.option(
    "--artifact-path",
    default="model",
    show_default=True,
    help="Where the model sits in the run's artifacts, when registering from a run.",
)
@click.option(
    "--tracking-uri",
    metavar="URI",
    help="MLflow tracking URI (default: mlci.yaml, then MLFLOW_TRACKING_URI).",
)
@choice_format_option("text", "markdown", "json")
@pass_state
def promote(
    state: CliState,
    model: str | None,
    run_id: str | None,
    version: str | None,
    alias: str | None,
    rollback: bool,
    force: bool,
    artifact_path: str,
    tracking_uri: str | None,
    output_format: str,
) -> int:
    """Point a registered model's alias (champion) at a new version, guarded by the gates.

    \b
      mlci promote --model churn --run RUN_ID --alias champion
      mlci promote --model churn --version 3
      mlci promote --rollback --model churn --alias champion

    Gates in mlci.yaml compare the candidate run's metrics with the current holder's; a failing
    gate refuses the promotion (exit 1) unless --force. The previous holder is recorded in the
    registered model's tags, which --rollback reads. In GitHub Actions the result is also
    written to the job summary.
    """
    from mlci.errors import MlciError
    from mlci.integrations.mlflow import open_tracking, tracking_uri_for
    from mlci.integrations.promote import promote as promote_model
    from mlci.integrations.promote import rollback as rollback_alias
    from mlci.pipeline.promotion import config_gate_check
    from mlci.report.promotion import PROMOTION_RENDERERS, render_promotion_markdown
    from mlci.sources.git import Git

    config = state.config(required=False)
    options = config.config.mlflow
    name = model or options.registered_model
    if not name:
        raise MlciError(
            "no model given", hint="pass --model NAME, or set mlflow.registered_model in mlci.yaml"
        )
    chosen_alias = alias or options.alias
    if rollback:
        if run_id or version or force:
            raise MlciError("--rollback takes no --run, --version or --force")
    elif (run_id is None) == (version is None):
        raise MlciError("pass exactly one of --run RUN_ID or --version N (or --rollback)")
    env = dict(os.environ)
    uri = tracking_uri or tracking_uri_for(config, env, Git(config.root))
    with open_tracking(uri) as tracking:
        if rollback:
            result = rollback_alias(tracking, model=name, alias=chosen_alias)
        else:
            result = promote_model(
                tracking,
                model=name,
                alias=chosen_alias,
                run_id=run_id,
                version=version,
                gate_check=config_gate_check(config, tracking, model=name, alias=chosen_alias),
                force=force,
                artifact_path=artifact_path,
            )
    precision = config.config.metrics.precision
    click.echo(PROMOTION_RENDERERS[output_format](result, precision), nl=False)
    summary = env.get("GITHUB_STEP_SUMMARY")
    if summary:
        from mlci.github.actions import append_step_summary

        append_step_summary(Path(summary), render_promotion_markdown(result, precision) + "\n")
    return result.exit_code
