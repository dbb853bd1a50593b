"""Least privilege in the workflows: each starts from `permissions: {}`, each job says what it
needs, and a job may write only what this policy lists for it.

    python .ci/permissions.py FILE...   # exit 1 naming every job that asks for more

`contents: write` is allowed in one job only: the history job of deploy-on-merge.yml, which
pushes one file to the history branch (and the template job that calls that workflow, since a
called job gets no more than its caller grants). tests/unit/test_workflows.py runs it too.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

# scope -> the (file name, job) allowed to write it; None: any job (the sticky comment).
WRITES: dict[str, set[tuple[str, str]] | None] = {
    "pull-requests": None,
    "contents": {("deploy-on-merge.yml", "history"), ("mlci-deploy.yml", "deploy")},
}


def violations(path: Path) -> list[str]:
    text = path.read_text()
    workflow: dict[Any, Any] = yaml.safe_load(text)
    found = []
    if workflow.get("permissions") != {}:
        found.append(f"{path}: start from `permissions: {{}}`")
    for word in ("pull_request_target", "write-all", "read-all"):
        if word in text:
            found.append(f"{path}: {word} is not allowed")
    for name, job in (workflow.get("jobs") or {}).items():
        granted = job.get("permissions")
        if not isinstance(granted, dict):
            found.append(f"{path}: job {name} must say which permissions it needs")
            continue
        for scope, level in granted.items():
            if level not in ("read", "write"):
                found.append(f"{path}: job {name}: {scope}: {level} is not read or write")
            elif level == "write":
                allowed = WRITES.get(scope, set())
                if allowed is not None and (path.name, name) not in allowed:
                    found.append(f"{path}: job {name} may not have `{scope}: write`")
    return found


def main(paths: list[str]) -> int:
    found = [line for path in paths for line in violations(Path(path))]
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
