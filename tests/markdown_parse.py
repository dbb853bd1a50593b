"""Reading a rendered comment back as GitHub does: markdown-it-py with tables and HTML on."""

from __future__ import annotations

import re
from typing import Any

from markdown_it import MarkdownIt

GFM = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def cell_text(inline: Any) -> str:
    parts = []
    for child in inline.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
    return "".join(parts)


def parse_tables(body: str) -> list[list[list[str]]]:
    """Every table of the rendered markdown as rows of cell texts (header row first)."""
    tables: list[list[list[str]]] = []
    row: list[str] | None = None
    for token in GFM.parse(body):
        if token.type == "table_open":
            tables.append([])
        elif token.type == "tr_open":
            row = []
        elif token.type == "inline" and row is not None:
            row.append(cell_text(token))
        elif token.type == "tr_close" and row is not None:
            tables[-1].append(row)
            row = None
    return tables


_MLCI_HIDDEN = re.compile(
    r"<!-- mlci:report id=[A-Za-z0-9_.\-]{1,64} -->|<!-- mlci:pushes v1 [A-Za-z0-9_-]+=* -->"
)
"""The hidden lines mlci writes: the comment's marker and its earlier pushes (base64url)."""


def html_tags(body: str) -> set[str]:
    """The raw HTML the comment holds (outside the hidden marker)."""
    found = set()
    for token in GFM.parse(body):
        if token.type == "html_block":
            for line in token.content.splitlines():
                found.update(_tags(line))
        for child in token.children or []:
            if child.type == "html_inline":
                found.add(child.content)
    return {tag for tag in found if not _MLCI_HIDDEN.fullmatch(tag)}


def _tags(line: str) -> list[str]:
    return re.findall(r"<!--.*?-->|</?[A-Za-z][^>]*>", line)
