"""The history record's JSON and the sticky comment's pushes block: written by mlci, read back
strictly (anything else is refused, never trusted as markup)."""

from __future__ import annotations

import base64
import json

import pytest

from mlci.errors import HistoryError
from mlci.github.pushes import (
    MAX_BLOCK,
    MAX_PUSHES,
    MalformedPushes,
    after_push,
    pushes_block,
    read_pushes,
)
from mlci.report.model import PushMetrics
from mlci.sources.history import (
    HistoryRecord,
    RecordedMetric,
    RecordedParam,
    git_failure,
    parse_record,
    record_to_json,
)

SHA = "0123456789abcdef" * 2 + "01234567"


def a_record() -> HistoryRecord:
    return HistoryRecord(
        commit=SHA,
        parents=("f" * 40, "e" * 40),
        recorded_at="2026-11-30T21:04:05Z",
        report_id="churn",
        metrics=(
            RecordedMetric("metrics.json", "accuracy", 0.93, "higher", True),
            RecordedMetric("eval/metrics.json", "loss|<b>", None, "lower", False),
        ),
        params=(RecordedParam("params.yaml", "train.lr", 0.1), RecordedParam("p", "n", None)),
        mlci_version="1.2.3",
    )


def test_a_record_round_trips() -> None:
    record = a_record()
    text = record_to_json(record)
    assert parse_record(text, "x") == record
    data = json.loads(text)
    assert data["schema_version"] == 1
    assert list(data) == [
        "schema_version",
        "commit",
        "parents",
        "recorded_at",
        "report_id",
        "mlci_version",
        "metrics",
        "params",
    ]


def _with(**changes: object) -> bytes:
    data = json.loads(record_to_json(a_record()))
    data.update(changes)
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[]", "not a JSON object"),
        (b"{", "not valid JSON"),
        (b'{"schema_version": 1, "commit": NaN}', "not valid JSON"),
        (_with(schema_version="1"), "schema_version is missing"),
        (_with(commit="abc"), "commit is not a full commit sha"),
        (_with(parents=["HEAD"]), "parents is not a list of commit shas"),
        (_with(recorded_at="yesterday"), "recorded_at is not a UTC time"),
        (_with(report_id="../x"), "report_id is not a report id"),
        (_with(metrics={"a": 1}), "metrics is not a list"),
        (_with(metrics=[{"path": "m", "name": "a", "value": "1"}]), "not a number"),
        (_with(metrics=[{"path": "m", "name": "a", "value": True}]), "not a number"),
        (_with(metrics=[{"path": "m", "name": "", "value": 1}]), "a name is not text"),
        (_with(metrics=[{"path": "m", "name": "a", "value": 1, "direction": "up"}]), "direction"),
        (_with(params=[{"path": "m", "name": "a", "value": {"x": 1}}]), "param's value"),
        (b" " * 1_000_001, "larger than 1,000,000 bytes"),
    ],
)
def test_a_record_that_is_not_mlci_s_is_refused(content: bytes, message: str) -> None:
    with pytest.raises(HistoryError) as caught:
        parse_record(content, "mlci-history:default/x.json")
    assert caught.value.message.startswith("history record mlci-history:default/x.json: ")
    assert message in caught.value.message


def test_a_newer_record_asks_for_an_upgrade() -> None:
    with pytest.raises(HistoryError) as caught:
        parse_record(_with(schema_version=2), "r")
    assert "newer than this mlci's 1" in caught.value.message
    assert caught.value.hint == "upgrade mlci (pip install -U mlci)"


def test_pushes_round_trip_and_stay_bounded() -> None:
    pushes = [PushMetrics(f"{index:040x}", {"accuracy": index / 100}) for index in range(30)]
    block = pushes_block(pushes)
    kept = read_pushes(f"<!-- mlci:report id=default -->\nbody\n\n{block}\n")
    assert [push.commit for push in kept] == [push.commit for push in pushes[-MAX_PUSHES:]]
    wide = {f"metric {index} " + "x" * 180: 0.5 for index in range(20)}
    many = [PushMetrics(f"{index:040x}", wide) for index in range(20)]
    block = pushes_block(many)
    assert len(block) <= MAX_BLOCK + 40
    assert read_pushes(block)[-1].commit == many[-1].commit
    assert after_push(kept, kept[-1].commit, {"accuracy": float("nan")})[-1].values == {
        "accuracy": None
    }


def _block(data: object) -> str:
    encoded = base64.urlsafe_b64encode(json.dumps(data).encode()).decode()
    return f"<!-- mlci:pushes v1 {encoded} -->"


@pytest.mark.parametrize(
    "block",
    [
        "<!-- mlci:pushes v1 !!! -->",
        "<!-- mlci:pushes v1 " + "A" * 20_000 + " -->",
        _block([]),
        _block({"pushes": [], "extra": 1}),
        _block({"pushes": [{"commit": "HEAD", "values": []}]}),
        _block({"pushes": [{"commit": "a" * 40, "values": [["x", "1"]]}]}),
        _block({"pushes": [{"commit": "a" * 40, "values": [["x", 1], ["x", 2]]}]}),
        _block({"pushes": [{"commit": "a" * 40, "values": [["", 1]]}]}),
        _block({"pushes": [{"commit": "a" * 40, "values": [["x", 1, 2]]}]}),
        _block({"pushes": [{"commit": "a" * 40, "values": []}] * 21}),
        "<!-- mlci:pushes v1 " + base64.urlsafe_b64encode(b"[NaN]").decode() + " -->",
    ],
)
def test_a_block_that_is_not_mlci_s_is_refused(block: str) -> None:
    with pytest.raises(MalformedPushes):
        read_pushes(f"<!-- mlci:report id=default -->\nbody\n{block}\n")


def test_no_block_is_no_pushes() -> None:
    assert read_pushes("<!-- mlci:report id=default -->\nno block here") == []


@pytest.mark.parametrize(
    ("output", "said"),
    [
        # GitHub refusing the token: what the server said, not git's generic last line.
        (
            "remote: Permission to acme/iris.git denied to github-actions[bot].\n"
            "fatal: unable to access 'https://github.com/acme/iris.git/': The requested URL "
            "returned error: 403\n",
            "Permission to acme/iris.git denied to github-actions[bot].",
        ),
        (
            "fatal: unable to access 'https://github.com/acme/iris.git/': The requested URL "
            "returned error: 403\n",
            "unable to access 'https://github.com/acme/iris.git/': The requested URL returned "
            "error: 403",
        ),
        # A ruleset: the remote's lines (padded with spaces by git) and the rejection reason.
        (
            "remote: error: GH013: Repository rule violations found for refs/heads/mlci-history."
            "        \nremote:         \nTo https://github.com/acme/iris.git\n"
            "!\tabc:refs/heads/mlci-history\t[remote rejected] (push declined due to repository "
            "rule violations)\nDone\nerror: failed to push some refs\n",
            "error: GH013: Repository rule violations found for refs/heads/mlci-history. "
            "(push declined due to repository rule violations)",
        ),
        (
            "error: src refspec x does not match any\nerror: failed to push some refs\n",
            "src refspec x does not match any",
        ),
        ("", "unknown error"),
        # Control characters become '?', and the line is cut at 300 characters.
        ("remote: ::error::x\x1b[31m" + "y" * 400, ("::error::x?[31m" + "y" * 400)[:299] + "…"),
    ],
)
def test_a_failed_fetch_or_push_says_the_line_that_explains(output: str, said: str) -> None:
    assert git_failure(output) == said
