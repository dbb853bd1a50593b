"""Markdown that is safe to post: users' text made inert, and GitHub tables of it.

Apart from the report renderer so that `mlci diff --md` and other one-table commands load only this.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlci.report.tables import Table

_SPECIAL = re.compile(r"([\\`*_\[\]#|~$])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NEWLINES = re.compile(r"\r\n|\r|\n|\t|\u2028|\u2029")
_GH_REFERENCE = re.compile(r"(?i)\b(gh)-(\d)")
_WWW = re.compile(r"(?i)\bwww\.")
_INERT = re.compile(
    r"[^\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029&<>\\`*_\[\]#|~$@:]*"
)
"""Text that `escape_markdown` leaves as it is: none of the characters it changes or acts on
(most table cells are numbers, so they skip the substitutions)."""
_ZWSP = "\u200b"


class Safe(str):
    """Markdown built by mlci itself: the template environment does not escape it again."""

    __slots__ = ()


def escape_markdown(text: object) -> str:
    """Text from users' files, made inert in a GitHub comment: no HTML, no table breaks,
    no @-mentions, #123 or URL links, no emphasis, code, math or links; one line."""
    value = str(text)
    if _INERT.fullmatch(value) and not _WWW.search(value) and not _GH_REFERENCE.search(value):
        return value
    value = _NEWLINES.sub(" ", value)
    value = _CONTROL.sub("", value)
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = _SPECIAL.sub(r"\\\1", value)
    # A zero-width space after `@`, `#` and `:` stops mentions, issue references and autolinks,
    # which GitHub finds in the rendered text (where a backslash escape is already gone).
    value = value.replace("@", "@" + _ZWSP)
    value = value.replace("\\#", "\\#" + _ZWSP)
    value = value.replace("://", ":" + _ZWSP + "//")
    value = _GH_REFERENCE.sub(r"\1-" + _ZWSP + r"\2", value)
    return _WWW.sub("www" + _ZWSP + ".", value)


def escape_html_text(text: object) -> str:
    """Text from users' files inside raw HTML (`<summary>`), where GitHub does not read markdown
    escapes: HTML-escaped, one line, and with the same mention and link breakers."""
    value = _CONTROL.sub("", _NEWLINES.sub(" ", str(text)))
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = value.replace("@", "@" + _ZWSP).replace("#", "#" + _ZWSP)
    value = value.replace("://", ":" + _ZWSP + "//")
    value = _GH_REFERENCE.sub(r"\1-" + _ZWSP + r"\2", value)
    return _WWW.sub("www" + _ZWSP + ".", value)


def shorten(text: object, limit: int | None) -> str:
    """`text` cut to at most `limit` characters, marked with an ellipsis when cut."""
    value = str(text)
    if limit is None or len(value) <= limit:
        return value
    return value[: max(limit - 1, 0)] + "…"


def code(text: object, limit: int | None = 80) -> Safe:
    """`text` as an inline code span that nothing inside can close (not for table cells)."""
    value = _CONTROL.sub("", _NEWLINES.sub(" ", shorten(text, limit)))
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") or not value.strip() else ""
    return Safe(f"{fence}{pad}{value}{pad}{fence}")


def markdown_table(table: Table, cell_limit: int | None = None) -> str:
    """A GitHub table; every cell is escaped (unless it is `Safe`) and cut to `cell_limit`."""

    def cell(value: object) -> str:
        if isinstance(value, Safe):
            return value
        return escape_markdown(shorten(value, cell_limit))

    align = [
        "---:" if index in table.align_right else ":---" for index in range(len(table.headers))
    ]
    lines = [
        "| " + " | ".join(cell(header) for header in table.headers) + " |",
        "| " + " | ".join(align) + " |",
    ]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in table.rows]
    return "\n".join(lines)
