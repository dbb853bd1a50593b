"""`mlci check`: run the steps the config enables, in order, and gather one Report.

Each step fills its part of the Report from the workspace. A step that meets bad input records a
Problem and the remaining steps still run, so nothing computed is lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from mlci.errors import MlciError
from mlci.pipeline.context import CheckContext
from mlci.pipeline.steps import datasets, diff, dvc, gates, history, log, model, train
from mlci.report.model import Partial, Problem, Report


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
    "history": history.run,
    "dvc": dvc.run,
    "log": log.run,
}


# A step that reads what another step put in the report: with only the first selected, the
# other runs too, but its results stay out of this report (the report holding it has them).
NEEDS: dict[str, tuple[str, ...]] = {"gates": ("model",)}
# What each step fills in, to leave out of a report that does not hold the step.
FILLS: dict[str, tuple[str, ...]] = {
    "train": ("train",),
    "diff": ("diff",),
    "model": ("model", "curves"),
    "dvc": ("data_changes",),
    "history": ("history",),
    "log": ("mlflow_run",),
}


def check_parts(context: CheckContext) -> list[str]:
    """Every part of this check, in the order it runs them: a step, or one dataset
    (`datasets:NAME`) of the datasets step."""
    parts: list[str] = []
    for name in STEPS:
        if name != "datasets":
            parts.append(name)
            continue
        for dataset in context.config.config.datasets if context.config.explicit else ():
            part = f"datasets:{dataset.display_name}"
            if part not in parts:
                parts.append(part)
    return parts


def select_parts(every: Sequence[str], only: Sequence[str], skip: Sequence[str]) -> list[str]:
    """The parts `--only` and `--skip` leave, in the order of `every`. A bare group name
    (`datasets`, `projects`) stands for each of its parts."""

    def expand(option: str, names: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for name in names:
            matched = [p for p in every if p == name or p.split(":", 1)[0] == name]
            if not matched:
                raise MlciError(
                    f"{option} {name!r}: no such part of this check; its parts are: "
                    + (", ".join(every) or "none")
                )
            found.update(matched)
        return found

    chosen = expand("--only", only) if only else set(every)
    chosen -= expand("--skip", skip)
    return [part for part in every if part in chosen]


def run_check(context: CheckContext, parts: Sequence[str] | None = None) -> Report:
    """Run the check (the `parts` of it, from `select_parts`; all of it by default) and return
    the Report. A report of some parts says which it holds (`report.partial`)."""
    options = context.config.config.report
    report = Report(
        title=options.title,
        report_id=options.id,
        config=str(context.config.path) if context.config.path else None,
        head_sha=head_sha(context),
    )
    every = check_parts(context)
    held = list(every) if parts is None else [part for part in every if part in set(parts)]
    steps = {part.split(":", 1)[0] for part in held}
    needed = {need for step in steps for need in NEEDS.get(step, ())} - steps
    if parts is not None:
        report.partial = Partial(parts=held, of=every)
        context.only_datasets = frozenset(
            part.split(":", 1)[1] for part in held if part.startswith("datasets:")
        )
    try:
        context.require_named_revisions()
    except MlciError as error:
        report.problems.append(
            Problem(check="base", message=str(error), path=error.path, line=error.line)
        )
    for name in STEPS:
        if name not in steps and name not in needed:
            continue
        try:
            STEPS[name](context, report)
        except MlciError as error:
            if any(problem.message == str(error) for problem in report.problems):
                continue  # said once (a missing named revision, met again by each step)
            report.problems.append(
                Problem(check=name, message=str(error), path=error.path, line=error.line)
            )
    for name in needed:  # ran for another step only: held by another report
        for attribute in FILLS.get(name, ()):
            setattr(report, attribute, [] if attribute == "data_changes" else None)
        report.problems = [problem for problem in report.problems if problem.check != name]
    return report


def head_sha(context: CheckContext) -> str | None:
    """The commit checked out, when the workspace is a git repository."""
    try:
        out = context.git.run("rev-parse", "--verify", "-q", "HEAD", check=False)
    except MlciError:
        return None
    sha = out.decode(errors="replace").strip()
    return sha or None
