"""The merge of partial reports (`mlci/report/merge.py`) on values: the worst verdict wins, the
order of the inputs does not matter, a merged report merges to itself, and reports that cannot
be parts of one check are refused naming the files. Also: a JSON report reads back unchanged."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from mlci.report.load import read_report
from mlci.report.merge import NamedReport, ReportsDisagree, merge_reports
from mlci.report.metric_change import MetricChange
from mlci.report.model import (
    DatasetResult,
    GateResult,
    MetricsDiff,
    Partial,
    Problem,
    ProjectResult,
    Report,
    report_to_dict,
)

EVERY = ["train", "datasets:a", "datasets:b", "diff", "gates"]
SHA = "1" * 40


def shard(*parts: str, **fields: object) -> Report:
    return Report(title="t", head_sha=SHA, partial=Partial(parts=list(parts), of=EVERY), **fields)  # type: ignore[arg-type]


def dataset(name: str, status: str = "valid") -> DatasetResult:
    return DatasetResult(name=name, path=f"{name}.csv", schema="s.yaml", status=status)  # type: ignore[arg-type]


def gate(metric: str, status: str) -> GateResult:
    return GateResult(metric=metric, rule="min", status=status, reason="")  # type: ignore[arg-type]


def shards() -> list[NamedReport]:
    return [
        NamedReport("a.json", shard("datasets:a", datasets=[dataset("a", "invalid")])),
        NamedReport("b.json", shard("datasets:b", datasets=[dataset("b")])),
        NamedReport(
            "rest.json",
            shard(
                "train",
                "diff",
                "gates",
                base="main",
                diff=MetricsDiff(
                    base="main",
                    head="workspace",
                    metrics=[MetricChange("m.json", "acc", 0.8, float("nan"))],
                ),
                gates=[gate("acc", "passed")],
            ),
        ),
    ]


def as_dict(report: Report) -> dict[str, object]:
    return json.loads(json.dumps(report_to_dict(report)))  # type: ignore[no-any-return]


def test_the_parts_make_the_whole_with_the_worst_verdict() -> None:
    merged = merge_reports(shards())
    assert merged.partial is None
    assert [d.name for d in merged.datasets] == ["a", "b"]
    assert merged.base == "main"
    assert merged.head_sha == SHA
    assert merged.status == "failed"
    assert merged.exit_code == 1
    assert merged.counts()["gates"]["passed"] == 1


def test_the_order_of_the_reports_does_not_matter() -> None:
    results = {
        json.dumps(as_dict(merge_reports(list(order))))
        for order in itertools.permutations(shards())
    }
    assert len(results) == 1


def test_a_merged_report_merges_to_itself() -> None:
    merged = merge_reports(shards())
    assert as_dict(merge_reports([NamedReport("merged.json", merged)])) == as_dict(merged)
    # in steps: (a + b) + rest is a + b + rest
    a, b, rest = shards()
    first = merge_reports([a, b])
    assert first.partial == Partial(parts=["datasets:a", "datasets:b"], of=EVERY)
    assert [p.message for p in first.problems] == [
        "no report holds the parts 'train', 'diff', 'gates': their job did not run or did not "
        "upload its report"
    ]
    assert as_dict(merge_reports([NamedReport("ab.json", first), rest])) == as_dict(merged)


def test_a_problem_in_any_part_makes_the_merge_an_error() -> None:
    a, b, rest = shards()
    b.report.problems.append(Problem(check="datasets", message="b.csv: not found"))
    merged = merge_reports([a, b, rest])
    assert merged.exit_code == 2
    assert [p.message for p in merged.problems] == ["b.csv: not found"]


def test_reports_that_cannot_be_one_check_are_refused() -> None:
    a, _b, rest = shards()
    with pytest.raises(ReportsDisagree, match=r"a.json and again.json both hold the part"):
        merge_reports([a, NamedReport("again.json", a.report), rest])
    other = shard("datasets:b")
    other.head_sha = "2" * 40
    with pytest.raises(ReportsDisagree, match=r"their head_sha differ \('111111111111'"):
        merge_reports([a, NamedReport("other.json", other)])
    other = shard("datasets:b")
    other.partial = Partial(parts=["datasets:b"], of=["datasets:b"])
    with pytest.raises(ReportsDisagree, match="their check has other parts"):
        merge_reports([a, NamedReport("other.json", other)])
    whole = Report(title="t", head_sha=SHA)
    with pytest.raises(ReportsDisagree, match=r"whole\.json holds the whole check"):
        merge_reports([NamedReport("whole.json", whole), a])
    other = shard("datasets:b")
    other.report_id = "nightly"
    with pytest.raises(ReportsDisagree, match="their report_id differ"):
        merge_reports([a, NamedReport("other.json", other)])


def test_projects_merge_in_the_listed_order() -> None:
    every = ["projects:a", "projects:b", "projects:c"]

    def root(path: str, status: str) -> NamedReport:
        report = Report(title="repo", partial=Partial(parts=[f"projects:{path}"], of=every))
        inner = Report(title=path, gates=[gate("x", "failed" if status == "failed" else "passed")])
        result = ProjectResult(path=path, status=status, report=inner)  # type: ignore[arg-type]
        if status == "unchanged":
            result = ProjectResult(path=path, status="unchanged", reason="not run: unchanged")
        report.projects.append(result)
        return NamedReport(f"{path}.json", report)

    merged = merge_reports([root("c", "unchanged"), root("b", "failed"), root("a", "passed")])
    assert [(p.path, p.status) for p in merged.projects] == [
        ("a", "passed"),
        ("b", "failed"),
        ("c", "unchanged"),
    ]
    assert merged.exit_code == 1
    assert merged.counts()["gates"] == {"passed": 1, "failed": 1, "warned": 0, "skipped": 0}


def test_a_json_report_reads_back_as_it_was_written(tmp_path: Path) -> None:
    merged = merge_reports(shards())
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report_to_dict(merged)))
    again = read_report(path)
    assert as_dict(again) == as_dict(merged)
    change = again.diff.metrics[0]  # type: ignore[union-attr]
    assert isinstance(change.new, float)  # "NaN" in the file, a float again
