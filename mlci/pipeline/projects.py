"""Several models in one repository: `mlci check --all` runs the check of every project (a
directory with its own mlci.yaml) and gathers their reports into one; `--changed` runs only the
projects that something changed under, against the base (or everything, when a shared path
changed), and lists the others as not run."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mlci.config_file import CONFIG_NAMES, ConfigFile, config_in
from mlci.errors import ConfigError, MlciError
from mlci.pipeline.context import CheckContext
from mlci.report.model import Partial, ProjectResult, Report
from mlci.sources.git import Git

RunProject = Callable[[ConfigFile], Report]
"""Runs one project's check (the CLI passes run_check with its options)."""


@dataclass(frozen=True)
class Project:
    path: str
    """Relative to the root config's directory, `/`-separated."""
    config: Path


def find_projects(root: ConfigFile, git: Git | None = None) -> list[Project]:
    """The projects the root mlci.yaml lists, or every other mlci.yaml git knows of below it."""
    settings = root.config if root.explicit else None
    base = root.root
    listed = list(settings.projects) if settings else []
    if not listed:
        listed = _discover(base, git if git is not None else Git(base))
    projects = []
    for index, name in enumerate(listed):
        directory = base / name
        config = config_in(directory)
        if config is None:
            raise ConfigError(
                f"projects[{index}] {name!r} has no mlci.yaml",
                path=root.path,
                hint="each project is a directory with its own mlci.yaml",
            )
        projects.append(Project(path=Path(name).as_posix().rstrip("/"), config=config))
    if not projects:
        raise ConfigError(
            f"no projects under {base}: no `projects:` in the root mlci.yaml and no other "
            "mlci.yaml below it",
            path=root.path,
            hint="list the model directories under `projects:`",
        )
    return projects


def _discover(base: Path, git: Git) -> list[str]:
    try:
        listed = git.run("ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", ".")
    except MlciError:
        listed = b"\0".join(str(p.relative_to(base)).encode() for p in base.rglob("*"))
    found = set()
    for name in listed.decode("utf-8", "surrogateescape").split("\0"):
        path = Path(name)
        if path.name in CONFIG_NAMES and len(path.parts) > 1:
            found.add(path.parent.as_posix())
    return sorted(found)


def changed_files(context: CheckContext) -> set[str]:
    """Files that differ between the base and the work tree (committed or not, and new ones),
    relative to the root config's directory."""
    git = context.git
    base = context.base_revision().sha
    names = git.run("diff", "--name-only", "-z", "--relative", base, "--", ".")
    names += b"\0" + git.run("ls-files", "-z", "--others", "--exclude-standard", "--", ".")
    return {n for n in names.decode("utf-8", "surrogateescape").split("\0") if n}


_GLOB_PARTS = {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}


def glob_pattern(pattern: str) -> re.Pattern[str]:
    """A path glob (`*` within a name, `**` across directories) as a regex; a plain path also
    matches everything below it."""
    parts = re.split(r"(\*\*/?|\*|\?)", pattern.strip("/"))
    regex = "".join(_GLOB_PARTS.get(part, re.escape(part)) for part in parts)
    return re.compile(rf"{regex}(?:/.*)?")


def affected(project: str, changed: Iterable[str], shared: Sequence[str]) -> str | None:
    """Why the project must run (the first file that says so), or None."""
    patterns = [glob_pattern(item) for item in shared]
    for name in sorted(changed):
        if name == project or name.startswith(project + "/"):
            return name
        if any(pattern.fullmatch(name) for pattern in patterns):
            return name
    return None


@dataclass(frozen=True)
class ProjectPlan:
    """Which projects a check of the repository runs: all, or (`--changed`) those with a
    change under them against the base."""

    base: str | None
    """The base the changes were found against (`--changed` only)."""
    projects: list[Project]
    reasons: dict[str, str | None]
    """Project path -> the first changed file that makes it run, or None when it does not
    run (`--changed`); empty without `--changed`."""
    changed_only: bool

    def runs(self, project: Project) -> bool:
        return not self.changed_only or self.reasons.get(project.path) is not None


def plan_projects(
    root: ConfigFile, *, changed_only: bool = False, base_override: str | None = None
) -> ProjectPlan:
    context = CheckContext(config=root, base_override=base_override)
    projects = find_projects(root, context.git)
    if not changed_only:
        return ProjectPlan(base=None, projects=projects, reasons={}, changed_only=False)
    changed = changed_files(context)
    shared = root.config.shared_paths if root.explicit else []
    return ProjectPlan(
        base=context.base_revision().label,
        projects=projects,
        reasons={p.path: affected(p.path, changed, shared) for p in projects},
        changed_only=True,
    )


def project_part(project: Project) -> str:
    """The project as a part of the repository's check (`--only projects:PATH`)."""
    return f"projects:{project.path}"


def check_projects(
    root: ConfigFile,
    run_project: RunProject,
    *,
    changed_only: bool = False,
    base_override: str | None = None,
    only: Sequence[str] = (),
    skip: Sequence[str] = (),
) -> Report:
    """One report holding each project's, in the order the projects are listed; with `only`
    or `skip` (`projects:PATH`), the report of those projects alone (`report.partial`)."""
    from mlci.pipeline.run import head_sha, select_parts

    options = root.config.report
    report = Report(
        title=options.title,
        report_id=options.id,
        config=str(root.path) if root.path else None,
        head_sha=head_sha(CheckContext(config=root)),
    )
    plan = plan_projects(root, changed_only=changed_only, base_override=base_override)
    every = [project_part(project) for project in plan.projects]
    held = every
    if only or skip:
        held = select_parts(every, only, skip)
        report.partial = Partial(parts=held, of=every)
    report.base = plan.base
    for project in plan.projects:
        if project_part(project) not in held:
            continue
        if not plan.runs(project):
            report.projects.append(
                ProjectResult(
                    path=project.path,
                    status="unchanged",
                    reason=f"not run: nothing under it changed against {report.base}",
                )
            )
            continue
        try:
            from mlci.config import load_config

            result = run_project(load_config(project.config))
        except MlciError as error:
            report.projects.append(
                ProjectResult(path=project.path, status="error", reason=str(error))
            )
            continue
        result.title = (
            project.path if result.title == "mlci report" else f"{result.title} ({project.path})"
        )
        report.projects.append(
            ProjectResult(path=project.path, status=result.status, report=result)
        )
    return report
