"""The action and the workflows keep training cheap: outputs cached by the inputs hash (restored
before the requirements are installed, saved only after a run that trained), downloads cached
before anything is installed, a light promote job, merge queues and concurrency in the template.
(act runs all of it in tests/e2e/test_workflows_act_train.py.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    data["on"] = data.pop(True)  # YAML 1.1 reads the key `on` as True
    return data  # type: ignore[no-any-return]


def action_steps() -> dict[str, dict[str, Any]]:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    return {step["name"]: step for step in action["runs"]["steps"]}


def test_action_caches_downloads_before_installing_anything() -> None:
    names = list(action_steps())
    assert names.index("Cache downloads") < names.index("Install mlci")
    assert names.index("Install mlci") < names.index("Install requirements")
    key = action_steps()["Cache downloads"]["with"]["key"]
    for part in ("installer", "runner.os", "python-version", "version", "extras-key", "hashFiles"):
        assert part in key, part


def test_action_restores_training_outputs_by_the_inputs_hash_and_saves_only_a_new_run() -> None:
    steps = action_steps()
    names = list(steps)
    restore, save = steps["Restore the training outputs"], steps["Save the training outputs"]
    assert restore["uses"].startswith("actions/cache/restore@")
    assert save["uses"].startswith("actions/cache/save@")
    assert restore["with"] == save["with"]
    assert restore["with"]["key"] == "${{ runner.os }}-${{ steps.plan.outputs.cache-key }}"
    assert (
        names.index("Plan training")
        < names.index("Restore the training outputs")
        < names.index("Install requirements")
        < names.index("Run mlci")
        < names.index("Save the training outputs")
    )
    # Requirements only when training will run; saved only when it did.
    assert "steps.outputs-cache.outputs.cache-hit != 'true'" in steps["Install requirements"]["if"]
    assert "steps.run.outputs.train-skipped == 'false'" in save["if"]
    assert "steps.outputs-cache.outputs.cache-hit != 'true'" in save["if"]


def test_reusable_workflows_train_through_the_action() -> None:
    for name, job in (("train-on-pr.yml", "mlci"), ("deploy-on-merge.yml", "gates")):
        steps = load(ROOT / ".github" / "workflows" / name)["jobs"][job]["steps"]
        train = next(step for step in steps if step.get("id") == "train")
        assert train["uses"] == "mlci/mlci@v1"
        assert train["with"]["command"] == "train"
        assert train["with"]["args"] == "--if-present"
        assert train["with"]["requirements"] == "${{ inputs.requirements }}"
        legacy = next(step for step in steps if "train-command" in step.get("if", ""))
        assert "steps.train.outputs.train-declared != 'true'" in legacy["if"]


def test_promote_job_installs_only_what_promotion_needs() -> None:
    workflow = load(ROOT / ".github" / "workflows" / "deploy-on-merge.yml")
    assert workflow["on"]["workflow_call"]["inputs"]["promote-extras"]["default"] == "mlflow"
    [promote] = [s for s in workflow["jobs"]["promote"]["steps"] if s.get("id") == "promote"]
    assert promote["with"]["extras"] == "${{ inputs.promote-extras }}"
    assert "requirements" not in promote["with"]


def test_pull_request_template_runs_in_merge_queues_and_cancels_older_pushes() -> None:
    template = load(ROOT / "workflow-templates" / "mlci.yml")
    assert "merge_group" in template["on"]
    assert template["concurrency"] == {
        "group": "mlci-${{ github.event.pull_request.number || github.ref }}",
        "cancel-in-progress": True,
    }
