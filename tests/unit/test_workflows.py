"""The reusable workflows and the starter templates: least privilege, pinned, fork-safe, and
templates that call what exists with inputs that exist. (act runs them in test_workflows_act.py;
zizmor, actionlint and check-jsonschema audit them in .ci/workflow-checks.sh.)"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
TEMPLATES = ROOT / "workflow-templates"
REUSABLE = ("train-on-pr.yml", "deploy-on-merge.yml", "comment.yml")
ALL_FILES = sorted([*WORKFLOWS.glob("*.yml"), *TEMPLATES.glob("*.yml")])


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as True.
    data["on"] = data.pop(True)
    return data  # type: ignore[no-any-return]


def steps_of(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def _policy() -> Any:
    """.ci/permissions.py, the policy .ci/workflow-checks.sh enforces."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("permissions", ROOT / ".ci" / "permissions.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda path: path.name)
def test_least_privilege(path: Path) -> None:
    workflow = load(path)
    assert workflow["permissions"] == {}, "start from no permissions"
    assert _policy().violations(path) == []
    for name, job in workflow["jobs"].items():
        writes = {scope for scope, level in job["permissions"].items() if level == "write"}
        if "contents" in writes:
            assert (path.name, name) in {
                ("deploy-on-merge.yml", "history"),
                ("mlci-deploy.yml", "deploy"),
            }


def test_contents_write_is_refused_to_any_other_job(tmp_path: Path) -> None:
    """The policy allows `contents: write` to the history job of deploy-on-merge.yml only: the
    same job in another file, another job of that file, or a second grant all fail."""
    history = load(WORKFLOWS / "deploy-on-merge.yml")["jobs"]["history"]
    cases = {
        "deploy-on-merge.yml": {"history": history, "gates": history},
        "train-on-pr.yml": {"history": history},
        "other.yml": {"build": {"runs-on": "x", "permissions": {"contents": "write"}}},
    }
    policy = _policy()
    for file_name, jobs in cases.items():
        path = tmp_path / file_name
        path.write_text(yaml.safe_dump({"on": "push", "permissions": {}, "jobs": jobs}))
        found = policy.violations(path)
        expected = [
            name for name in jobs if (file_name, name) != ("deploy-on-merge.yml", "history")
        ]
        assert found == [f"{path}: job {name} may not have `contents: write`" for name in expected]
    done = subprocess.run(
        [sys.executable, str(ROOT / ".ci" / "permissions.py"), str(tmp_path / "other.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "job build may not have `contents: write`" in done.stdout


def test_the_history_job_only_records() -> None:
    """The one job that may write runs nothing of the repository: check out without keeping
    credentials, set up Python, get the gates job's report, `mlci history record`."""
    workflow = load(WORKFLOWS / "deploy-on-merge.yml")
    job = workflow["jobs"]["history"]
    assert job["permissions"] == {"contents": "write"}
    assert job["needs"] == "gates"
    uses = [step.get("uses", "").split("@")[0] for step in job["steps"]]
    assert uses == [
        "actions/checkout",
        "actions/setup-python",
        "actions/download-artifact",
        "mlci/mlci",
    ]
    assert not any("run" in step for step in job["steps"])
    record = job["steps"][-1]["with"]
    assert record["command"] == "history"
    assert record["args"].startswith("record --report ")
    assert "concurrency" not in job, "a pending record must never be cancelled"


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda path: path.name)
def test_checkouts_keep_no_credentials(path: Path) -> None:
    for step in steps_of(load(path)):
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False


@pytest.mark.parametrize("name", REUSABLE)
def test_reusable_workflows_are_typed(name: str) -> None:
    workflow = load(WORKFLOWS / name)
    assert list(workflow["on"]) == ["workflow_call"]
    call = workflow["on"]["workflow_call"]
    for input_name, spec in call["inputs"].items():
        assert spec["type"] in ("string", "boolean", "number"), input_name
        assert spec.get("description"), input_name
    for step in steps_of(workflow):
        assert "${{" not in step.get("run", ""), f"{name}: {step.get('name')} expands in run"


def test_train_on_pr_needs_the_merge_base_and_fails_on_a_gate() -> None:
    workflow = load(WORKFLOWS / "train-on-pr.yml")
    job = workflow["jobs"]["mlci"]
    steps = {step.get("name"): step for step in job["steps"]}
    assert steps["Check out (full history, for the merge-base)"]["with"]["fetch-depth"] == 0
    assert steps["Check with mlci"]["uses"] == "mlci/mlci@v1"
    # The user's choice reaches the action (which warns only when it is false); the uploads
    # run after a failing step too.
    assert steps["Check with mlci"]["with"]["fail-on-gate"] == "${{ inputs.fail-on-gate }}"
    assert steps["Upload the report"]["if"].startswith("${{ !cancelled()")
    assert steps["Say why the job failed"]["if"] == (
        "${{ failure() && steps.mlci.outputs.exit-code == '1' }}"
    )
    assert job["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert set(workflow["on"]["workflow_call"]["outputs"]) == {
        "passed",
        "exit-code",
        "comment-url",
        "summary",
    }


def test_deploy_promotes_in_an_environment_that_never_cancels() -> None:
    workflow = load(WORKFLOWS / "deploy-on-merge.yml")
    gates, promote = workflow["jobs"]["gates"], workflow["jobs"]["promote"]
    assert promote["needs"] == "gates"
    assert promote["environment"] == "${{ inputs.environment }}"
    assert promote["concurrency"]["cancel-in-progress"] is False
    assert promote["permissions"] == {"contents": "read"}
    assert gates["permissions"] == {"contents": "read"}
    steps = {step["name"]: step for step in promote["steps"]}
    assert steps["Promote"]["with"]["command"] == "promote"
    assert "--run ${{ needs.gates.outputs.run-id }}" in steps["Promote"]["with"]["args"]


@pytest.mark.parametrize(
    ("args", "said"),
    [
        ("", "set mlflow.log: true and mlflow.model_path"),
        ("--all", "args has --all: set promote: false"),
        ("--all --strict", "args has --all: set promote: false"),
        ("--allow-empty", "set mlflow.log: true and mlflow.model_path"),
    ],
)
def test_deploy_without_a_run_to_promote_says_why(args: str, said: str) -> None:
    """The step's own script, run by bash as the runner would (`bash -e {0}`), with the args
    input in its environment: a multi-project check is told that promotion takes one run."""
    gates = load(WORKFLOWS / "deploy-on-merge.yml")["jobs"]["gates"]
    step = next(step for step in gates["steps"] if step["name"] == "Require a logged run")
    assert step["env"] == {"ARGS": "${{ inputs.args }}"}  # never expanded into the script
    done = subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        env={"ARGS": args, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout.startswith("::error title=mlci::"), done.stdout
    assert said in done.stdout, done.stdout


def test_comment_half_never_touches_the_pull_requests_code() -> None:
    workflow = load(WORKFLOWS / "comment.yml")
    job = workflow["jobs"]["comment"]
    uses = [step.get("uses", "") for step in job["steps"]]
    assert not any(use.startswith("actions/checkout@") for use in uses)
    assert job["permissions"] == {"actions": "read", "pull-requests": "write"}
    post = next(step for step in job["steps"] if step.get("uses") == "mlci/mlci@v1")
    assert post["with"]["command"] == "comment"
    assert post["with"]["args"].startswith("--from-artifact ")


def test_ci_runs_the_ci_script() -> None:
    workflow = load(WORKFLOWS / "ci.yml")
    assert [step.get("run") for step in steps_of(workflow)][-1] == "bash .ci/run"


@pytest.mark.parametrize("path", sorted(TEMPLATES.glob("*.yml")), ids=lambda path: path.name)
def test_templates_call_existing_workflows_with_declared_inputs(path: Path) -> None:
    template = load(path)
    properties = json.loads(path.with_suffix(".properties.json").read_text())
    assert set(properties) == {"name", "description", "iconName", "categories", "filePatterns"}
    assert properties["name"]
    assert properties["description"]
    assert properties["categories"]
    for pattern in properties["filePatterns"]:
        re.compile(pattern)
    branches = [
        trigger.get("branches")
        for trigger in template["on"].values()
        if isinstance(trigger, dict) and "branches" in trigger
    ]
    assert branches in ([], [["$default-branch"]])
    for job in template["jobs"].values():
        match = re.fullmatch(r"mlci/mlci/\.github/workflows/([\w-]+\.yml)@v1", job["uses"])
        assert match, job["uses"]
        called = load(WORKFLOWS / match[1])["on"]["workflow_call"]
        assert set(job.get("with", {})) <= set(called.get("inputs", {}))
        assert set(job.get("secrets", {})) <= set(called.get("secrets", {}))
        # A reusable workflow gets no more than its caller grants.
        for name, called_job in load(WORKFLOWS / match[1])["jobs"].items():
            for scope, level in called_job["permissions"].items():
                assert job["permissions"].get(scope) in (level, "write"), (name, scope)


def test_every_template_has_properties_and_the_other_way_round() -> None:
    names = {path.name.removesuffix(".yml") for path in TEMPLATES.glob("*.yml")}
    described = {path.name.removesuffix(".properties.json") for path in TEMPLATES.glob("*.json")}
    assert names == described == {"mlci", "mlci-comment", "mlci-deploy"}


def _yaml_blocks(markdown: str) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", markdown, re.S)


def test_docs_show_the_templates_verbatim() -> None:
    doc = (ROOT / "docs" / "github-action.md").read_text()
    smallest = re.search(r"<!-- smallest-workflow -->\n```yaml\n(.*?)```", doc, re.S)
    assert smallest, "docs/github-action.md lacks the smallest workflow"
    template = (TEMPLATES / "mlci.yml").read_text().replace("$default-branch", "main")
    assert smallest[1] == template
    shown = [yaml.safe_load(block) for block in _yaml_blocks(doc)]
    for name in ("mlci-comment.yml", "mlci-deploy.yml"):
        text = (TEMPLATES / name).read_text().replace("$default-branch", "main")
        assert yaml.safe_load(text) in shown, f"docs/github-action.md does not show {name}"
