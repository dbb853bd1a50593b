"""The Actions environment is read in one place: its GITHUB_* variables as a mapping, and the
event payload parsed at most once however many readers ask for it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlci.errors import InputFileError
from mlci.github.settings import load_settings
from mlci.integrations.provenance import detect_provenance
from mlci.sources.github_event import ActionsEnvironment, actions_environment


def test_the_payload_is_parsed_once_for_every_reader(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps({"pull_request": {"number": 7, "head": {"sha": "a" * 40, "ref": "feature"}}})
    )
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": "o/r",
        "HOME": "/nowhere",
    }
    actions = actions_environment(env)
    assert dict(actions) == {k: v for k, v in env.items() if k.startswith("GITHUB_")}
    assert actions.in_actions
    assert actions.event()["pull_request"]["number"] == 7
    event.unlink()  # every later reader gets the payload already parsed
    assert actions_environment(actions) is actions
    assert load_settings(actions).pr_number == 7
    provenance = detect_provenance(actions, None)
    assert (provenance.commit, provenance.branch, provenance.pull_request) == (
        "a" * 40,
        "feature",
        7,
    )


def test_a_broken_payload_is_an_error_naming_it_each_time_it_is_asked(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text("{not json")
    actions = ActionsEnvironment({"GITHUB_EVENT_PATH": str(event)})
    for _ in range(2):
        with pytest.raises(InputFileError, match="GitHub event payload is not valid JSON"):
            actions.event()
    assert ActionsEnvironment({}).event() == {}
