"""`mlci check`: run the steps the config enables, in order, and gather one Report.

Each step fills its part of the Report from the workspace. A step that meets bad input records a
Problem and the remaining steps still run, so nothing computed is lost.
"""

from __future__ import annotations

from typing import Protocol

from mlci.errors import MlciError
from mlci.pipeline.context import CheckContext
from mlci.pipeline.steps import datasets, diff, dvc, gates, log, model, train
from mlci.report.model import Problem, Report


class Step(Protocol):
    """One step of `mlci check`: reads the workspace, adds to the report; raises MlciError for
    bad input (recorded as a Problem of the step)."""

    def __call__(self, context: CheckContext, report: Report, /) -> None: ...


# The order in which `mlci check` runs its steps; a new step is a module in pipeline/steps/
# and one line here.
STEPS: dict[str, Step] = {
    "train": train.run,
    "datasets": datasets.run,
    "diff": diff.run,
    "model": model.run,
    "gates": gates.run,
    "dvc": dvc.run,
    "log": log.run,
}


def run_check(context: CheckContext, steps: list[str] | None = None) -> Report:
    """Run `steps` (names of STEPS; all of them by default) and return the Report."""
    options = context.config.config.report
    report = Report(
        title=options.title,
        report_id=options.id,
        config=str(context.config.path) if context.config.path else None,
    )
    for name in steps if steps is not None else STEPS:
        try:
            STEPS[name](context, report)
        except MlciError as error:
            report.problems.append(
                Problem(check=name, message=str(error), path=error.path, line=error.line)
            )
    return report
