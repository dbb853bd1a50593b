"""This pull request's earlier pushes, kept in its sticky comment: a hidden data block that mlci
writes under the comment's marker and reads back when it updates the comment, so a reviewer sees
that the latest push undid the previous push's gain.

The block is `<!-- mlci:pushes v1 BASE64URL -->`, the base64url of a small JSON object. Base64
cannot end the HTML comment, so nothing in it shows. Anyone who can edit the comment can edit
the block: it is read strictly (size, shape, types), anything else is ignored, and the names in
it are rendered as escaped text like every other name.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Mapping

from mlci.report.model import PushMetrics

MAX_PUSHES = 20
MAX_METRICS = 20
MAX_NAME = 200
MAX_BLOCK = 16_000
_BLOCK = re.compile(r"^<!-- mlci:pushes v1 ([A-Za-z0-9_-]{1,16000}={0,2}) -->$", re.M)
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


class MalformedPushes(ValueError):
    """The block is there but is not one mlci wrote."""


def read_pushes(body: str) -> list[PushMetrics]:
    """The pushes the block in `body` holds, oldest first; [] when there is none; raises
    MalformedPushes when there is one that is not mlci's."""
    match = _BLOCK.search(body)
    if match is None:
        if "<!-- mlci:pushes" in body:
            raise MalformedPushes("the pushes block is not base64url of at most 16,000 bytes")
        return []
    try:
        raw = json.loads(base64.urlsafe_b64decode(match[1]), parse_constant=_refuse)
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise MalformedPushes(f"the pushes block is not JSON ({error})") from None
    if not isinstance(raw, dict) or set(raw) != {"pushes"} or not isinstance(raw["pushes"], list):
        raise MalformedPushes("the pushes block is not an object with a list of pushes")
    if len(raw["pushes"]) > MAX_PUSHES:
        raise MalformedPushes(f"the pushes block holds more than {MAX_PUSHES} pushes")
    return [_push(item) for item in raw["pushes"]]


def _refuse(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _push(item: object) -> PushMetrics:
    if not isinstance(item, dict) or set(item) != {"commit", "values"}:
        raise MalformedPushes("a push is not an object with a commit and values")
    commit, values = item["commit"], item["values"]
    if not isinstance(commit, str) or not _SHA.fullmatch(commit):
        raise MalformedPushes("a push's commit is not a commit sha")
    if not isinstance(values, list) or len(values) > MAX_METRICS:
        raise MalformedPushes(f"a push's values are not a list of at most {MAX_METRICS}")
    found: dict[str, float | None] = {}
    for pair in values:
        if not (isinstance(pair, list) and len(pair) == 2):
            raise MalformedPushes("a push's value is not a [name, value] pair")
        name, value = pair
        if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME or name in found:
            raise MalformedPushes("a metric name is not text of at most 200 characters, once")
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise MalformedPushes("the value of a metric is not a finite number")
        found[name] = None if value is None else float(value)
    return PushMetrics(commit=commit, values=found)


def pushes_block(pushes: list[PushMetrics]) -> str:
    """The block for `pushes` (the newest MAX_PUSHES that fit in MAX_BLOCK)."""
    kept = pushes[-MAX_PUSHES:]
    while True:
        data = {
            "pushes": [
                {
                    "commit": push.commit,
                    "values": [
                        [name[:MAX_NAME], value]
                        for name, value in list(push.values.items())[:MAX_METRICS]
                    ],
                }
                for push in kept
            ]
        }
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        encoded = base64.urlsafe_b64encode(text.encode()).decode()
        if len(encoded) <= MAX_BLOCK or not kept:
            return f"<!-- mlci:pushes v1 {encoded} -->"
        kept = kept[1:]


def after_push(
    previous: list[PushMetrics], commit: str, values: Mapping[str, float | None]
) -> list[PushMetrics]:
    """The pushes to keep once this push is posted: the earlier ones (a re-run of this commit
    replaces its entry), then this one."""
    clean = {
        name: value if value is None or math.isfinite(value) else None
        for name, value in values.items()
    }
    return [push for push in previous if push.commit != commit] + [PushMetrics(commit, clean)]


def with_block(body: str, block: str) -> str:
    """`body` with `block` as its last line (the body is rendered with room left for it, so
    fitting the comment to GitHub's limit never cuts it)."""
    return f"{body.rstrip()}\n\n{block}\n"
