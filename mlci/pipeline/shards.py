"""The jobs of a check fanned out across CI: one job per shard (a part of the check, or a
project of the repository), and one for the rest, so that the partial reports together hold
every part exactly once and `mlci report merge` makes the whole report of them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from mlci.config_file import ConfigFile
from mlci.errors import MlciError
from mlci.pipeline.context import CheckContext
from mlci.pipeline.projects import plan_projects, project_part
from mlci.pipeline.run import check_parts, select_parts

CHANGED_PROJECTS = "changed-projects"
ALL_PROJECTS = "all-projects"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class ShardJob:
    name: str
    """What the job checks, for its title."""
    key: str
    """Unique among the jobs, and safe in an artifact name (letters, digits, `.`, `_`, `-`)."""
    args: list[str]
    """The arguments of its `mlci check`."""
    train: bool
    """Whether the job trains first: a job of datasets only does not (a dataset that training
    writes belongs in the rest)."""


@dataclass(frozen=True)
class ShardPlan:
    jobs: list[ShardJob]
    """The jobs of the matrix (none when no project changed)."""
    unchanged: list[str] | None = None
    """For projects: the `mlci check` arguments of the report that lists the projects not run
    (unchanged) and runs nothing: cheap enough for the planning job itself, so a pull request
    that touches one project runs one job."""


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _plain(name: str, what: str) -> str:
    """A name that reaches the jobs' command lines (and so their logs), where a line break could
    start a workflow command and `##[` is one anywhere in a line: refused, never passed on."""
    if _CONTROL.search(name) or "##[" in name:
        raise MlciError(
            f"{what} {name!r} cannot name a job: it holds a control character or `##[`",
            hint="rename it, or check it in the job of the rest",
        )
    return name


def _key(index: int, name: str) -> str:
    return f"{index}-{_UNSAFE.sub('-', name).strip('-')[:60]}"


def plan_shards(
    config: ConfigFile, shards: Sequence[str], *, base_override: str | None = None
) -> ShardPlan:
    """A job per shard and one for the parts no shard names. `shards` are parts of the check
    (`datasets:NAME`, `gates`, a bare `datasets`), or one of `changed-projects` (a job per
    project with a change under it) and `all-projects` (a job per project)."""
    if not shards:
        raise MlciError("no shards given", hint="name parts of the check, or changed-projects")
    if CHANGED_PROJECTS in shards or ALL_PROJECTS in shards:
        if len(shards) > 1:
            raise MlciError(
                f"{CHANGED_PROJECTS} and {ALL_PROJECTS} stand alone: a job per project",
                hint="give one of them, or parts of the check",
            )
        return _project_jobs(config, changed=shards[0] == CHANGED_PROJECTS, base=base_override)
    every = check_parts(CheckContext(config=config))
    jobs: list[ShardJob] = []
    taken: dict[str, str] = {}
    for index, shard in enumerate(shards, 1):
        for part in select_parts(every, [shard], []):
            _plain(part, "the part")
            if part in taken:
                raise MlciError(
                    f"shard {shard!r} repeats the part {part!r} of shard {taken[part]!r}",
                    hint="name each part in one shard",
                )
            taken[part] = shard
        jobs.append(
            ShardJob(
                name=shard,
                key=_key(index, shard),
                args=["--only", shard, "--no-summary"],
                train=not shard.startswith("datasets"),
            )
        )
    if any(part not in taken for part in every):
        skips = [arg for shard in shards for arg in ("--skip", shard)]
        jobs.append(
            ShardJob(name="the rest", key="rest", args=[*skips, "--no-summary"], train=True)
        )
    return ShardPlan(jobs=jobs)


def _project_jobs(config: ConfigFile, *, changed: bool, base: str | None) -> ShardPlan:
    plan = plan_projects(config, changed_only=changed, base_override=base)
    mode = "--changed" if changed else "--all"
    base_args = ["--base", base] if base else []
    jobs = []
    for project in plan.projects:
        _plain(project.path, "the project")
    running = [project for project in plan.projects if plan.runs(project)]
    for index, project in enumerate(running, 1):
        part = project_part(project)
        jobs.append(
            ShardJob(
                name=project.path,
                key=_key(index, project.path),
                args=[mode, *base_args, "--only", part, "--no-summary"],
                train=True,
            )
        )
    unchanged = None
    if len(running) < len(plan.projects):
        skips = [arg for project in running for arg in ("--skip", project_part(project))]
        unchanged = [mode, *base_args, *skips, "--no-summary"]
    return ShardPlan(jobs=jobs, unchanged=unchanged)
