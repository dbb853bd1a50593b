"""The fanned-out train-on-PR workflow (`shards:`): a planning job that only reads, shard
jobs that neither comment nor write a job summary, one merge job that posts; the single-job
workflow stays as it was when `shards` is empty."""

from __future__ import annotations

from test_workflows import WORKFLOWS, load


def test_shards_fan_out_and_one_job_merges() -> None:
    workflow = load(WORKFLOWS / "train-on-pr.yml")
    assert workflow["on"]["workflow_call"]["inputs"]["shards"]["default"] == ""
    plan, shards, merge = (workflow["jobs"][name] for name in ("plan", "mlci", "merge"))
    assert plan["permissions"] == {"contents": "read"}
    assert plan["if"] == "inputs.shards != ''"
    assert shards["needs"] == "plan"
    assert shards["strategy"]["fail-fast"] is False
    # Without shards: one job, named as before (branch protection keeps its required check).
    assert '"name":"train and check","key":""' in shards["strategy"]["matrix"]["shard"]
    assert shards["name"] == "${{ matrix.shard.name }}"
    check = next(step for step in shards["steps"] if step.get("id") == "mlci")
    assert check["with"]["comment"] == "${{ inputs.shards == '' && inputs.comment || 'false' }}"
    assert check["with"]["args"] == "${{ inputs.args }} ${{ matrix.shard.args }}"
    assert merge["needs"] == ["plan", "mlci"]
    assert merge["permissions"] == {"contents": "read", "pull-requests": "write"}
    steps = {step["name"]: step for step in merge["steps"]}
    assert steps["Merge the reports"]["with"]["command"] == "report"
    assert steps["Merge the reports"]["with"]["args"].startswith("merge ")
    assert steps["Merge the reports"]["with"]["comment"] == "${{ inputs.comment }}"
    assert "Upload the comment for the workflow_run half" in steps  # fork-safe, as before
    assert steps["Download the partial reports"]["with"]["pattern"] == (
        "mlci-part-${{ inputs.report-id || 'default' }}-*"
    )
    for name in ("passed", "exit-code", "comment-url", "summary"):
        value = workflow["on"]["workflow_call"]["outputs"][name]["value"]
        assert value == f"${{{{ jobs.merge.outputs.{name} || jobs.mlci.outputs.{name} }}}}"
