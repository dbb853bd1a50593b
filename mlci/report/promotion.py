"""Text, markdown (job summary) and JSON views of a Promotion; none computes anything."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from mlci.report.markdown_text import escape_markdown, markdown_table
from mlci.report.render import plain_table
from mlci.report.tables import Table, gate_table

if TYPE_CHECKING:
    from mlci.integrations.promote import Promotion


def promotion_to_dict(promotion: Promotion) -> dict[str, Any]:
    data = asdict(promotion)
    return {"exit_code": promotion.exit_code, **data}


def _version(value: str | None) -> str:
    return f"version {value}" if value is not None else "nobody"


def promotion_headline(promotion: Promotion, target: str | None = None) -> str:
    """One line saying what happened; `target` replaces `model@alias` (already escaped)."""
    target = target or f"{promotion.model}@{promotion.alias}"
    if promotion.action == "refused":
        failed = sum(1 for gate in promotion.gates if gate.status == "failed")
        return (
            f"REFUSED: {target} stays at {_version(promotion.previous)}; "
            f"{failed} gate{'s' if failed != 1 else ''} failed (--force overrides)"
        )
    if promotion.action == "unchanged":
        return f"UNCHANGED: {target} already points at {_version(promotion.version)}"
    verb = "ROLLED BACK" if promotion.action == "rolled back" else "PROMOTED"
    text = f"{verb}: {target} → {_version(promotion.version)} (was {_version(promotion.previous)})"
    if promotion.registered:
        text += f"; registered from run {promotion.run_id}"
    if promotion.forced:
        text += "; FORCED past failing gates"
    return text


def summary_table(promotion: Promotion) -> Table:
    table = Table(
        title="Promotion",
        headers=["Model", "Alias", "Version", "Previous holder", "Run", "Action"],
    )
    table.rows.append(
        [
            promotion.model,
            promotion.alias,
            promotion.version or "-",
            promotion.previous or "-",
            promotion.run_id or "-",
            promotion.action + (" (forced)" if promotion.forced else ""),
        ]
    )
    return table


def render_promotion_text(promotion: Promotion, precision: int = 5) -> str:
    body = promotion_headline(promotion) + "\n"
    if promotion.gates:
        body += "\n" + plain_table(gate_table(promotion.gates, precision))
    return body


def _markdown_headline(promotion: Promotion) -> str:
    """The headline, escaped, with `model@alias` kept readable: an `@` right after the model
    name starts no mention, so it needs no zero-width space (copy-pasting it then works)."""
    target = f"{escape_markdown(promotion.model)}@{escape_markdown(promotion.alias)}"
    # The rest of the headline is mlci's words, versions and a run id.
    return escape_markdown(promotion_headline(promotion, "TARGET")).replace("TARGET", target, 1)


def render_promotion_markdown(promotion: Promotion, precision: int = 5) -> str:
    lines = [
        f"### mlci promote: {_markdown_headline(promotion)}",
        "",
        markdown_table(summary_table(promotion)),
    ]
    if promotion.gates:
        lines += ["", "#### Gates", "", markdown_table(gate_table(promotion.gates, precision))]
    return "\n".join(lines) + "\n"


def render_promotion_json(promotion: Promotion, precision: int = 5) -> str:
    from mlci.report.model import _json_safe

    return json.dumps(_json_safe(promotion_to_dict(promotion)), indent=2) + "\n"


PROMOTION_RENDERERS = {
    "text": render_promotion_text,
    "markdown": render_promotion_markdown,
    "json": render_promotion_json,
}
