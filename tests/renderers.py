"""The real renderers for the tests (a pytest plugin: `pytest_plugins` in conftest.py).

- `mermaid`: Mermaid's own parser, in one node process per test session that parses every block
  the tests hand it, in each Mermaid release `.ci/render-tools.sh` installed (the newest and the
  10.9 line). A chart that GitHub's Mermaid cannot parse is a bug, so the tests assert on it.
- `chromium`: Debian's chromium, headless, driven by Playwright's Python client with
  `executable_path` (Playwright never downloads a browser here). `open_page` loads a file and
  returns what a user's browser would have done: console messages, page errors, requests.

On CI (`CI=true`) a missing tool fails the tests that need it; elsewhere they are skipped with
the command that installs it. Processes are stopped by their pid, never by name.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
NPM_MODULES = Path(
    os.environ.get("MLCI_RENDER_MODULES", REPO / ".ci" / ".npm-render" / "node_modules")
)
MERMAID_PACKAGES = ("mermaid", "mermaid10")
CHROMIUM = os.environ.get("MLCI_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTALL = "bash .ci/render-tools.sh"
ON_CI = os.environ.get("CI") == "true"
"""Read once at start-up: the tests' isolated environment removes CI before each test."""
_FENCE = re.compile(r"^```mermaid\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _missing(what: str) -> None:
    message = f"{what} is not installed: run `{INSTALL}`"
    if ON_CI:
        pytest.fail(message)
    pytest.skip(message)


def mermaid_blocks(markdown: str) -> list[str]:
    """The text of every ```mermaid block in `markdown`."""
    return _FENCE.findall(markdown)


class MermaidParser:
    """A node process running Mermaid's parser over JSON lines."""

    def __init__(self, process: subprocess.Popen[str], versions: list[str]) -> None:
        self.process = process
        self.versions = versions

    def errors(self, text: str) -> dict[str, str]:
        """Each Mermaid release's parse error for `text` (empty when all accept it)."""
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(json.dumps({"text": text}) + "\n")
        self.process.stdin.flush()
        answer: dict[str, str | None] = json.loads(self.process.stdout.readline())
        return {name: error for name, error in answer.items() if error is not None}

    def assert_parses(self, markdown: str, *, at_least: int = 1) -> list[str]:
        """Every Mermaid block of `markdown` parses in every release; returns the blocks."""
        blocks = mermaid_blocks(markdown)
        assert len(blocks) >= at_least, f"expected {at_least}+ mermaid blocks, found {len(blocks)}"
        for block in blocks:
            errors = self.errors(block)
            assert not errors, f"Mermaid rejects this block:\n{block}\n{errors}"
        return blocks


@pytest.fixture(scope="session")
def mermaid() -> Iterator[MermaidParser]:
    node = shutil.which("node")
    if node is None or not all(
        (NPM_MODULES / name).is_dir() for name in (*MERMAID_PACKAGES, "jsdom")
    ):
        _missing("Mermaid's parser (node, mermaid, jsdom)")
    process = subprocess.Popen(
        [
            node,
            str(Path(__file__).with_name("mermaid_parse.mjs")),
            str(NPM_MODULES),
            *MERMAID_PACKAGES,
        ],  # type: ignore[list-item]
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready = json.loads(process.stdout.readline() or "{}").get("ready")
        assert ready, "Mermaid's parser did not start"
        yield MermaidParser(process, ready)
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


@dataclass
class PageVisit:
    """What opening a page did."""

    console: list[tuple[str, str]] = field(default_factory=list)
    """(type, text) of every console message."""
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    """Every URL the page asked for, the page itself excepted."""
    page: Any = None

    @property
    def console_errors(self) -> list[str]:
        return [text for kind, text in self.console if kind in ("error", "warning")]


class Chromium:
    """A headless Chromium; `visit` gives each page a fresh context (no shared state)."""

    def __init__(self, browser: Any) -> None:
        self.browser = browser

    def render_mermaid(self, blocks: list[str]) -> list[str | None]:
        """Draw each block with Mermaid's own browser bundle, as GitHub's viewer does: None
        for each block drawn as an SVG, else the error. Mermaid comes from the local npm folder
        (`page.add_script_tag(path=...)`), never from the network."""
        bundle = NPM_MODULES / "mermaid" / "dist" / "mermaid.min.js"
        if not bundle.is_file():
            _missing("Mermaid's browser bundle")
        context = self.browser.new_context()
        try:
            page = context.new_page()
            page.set_content("<!doctype html><html><body></body></html>")
            page.add_script_tag(path=str(bundle))
            return list(
                page.evaluate(
                    """async (blocks) => {
                        mermaid.initialize({ startOnLoad: false });
                        const errors = [];
                        for (const [index, text] of blocks.entries()) {
                            try {
                                const { svg } = await mermaid.render(`chart${index}`, text);
                                errors.push(svg.includes("<svg") ? null : "no svg");
                            } catch (error) {
                                errors.push(String(error?.message ?? error));
                            }
                        }
                        return errors;
                    }""",
                    blocks,
                )
            )
        finally:
            context.close()

    @contextlib.contextmanager
    def visit(self, path: Path, *, width: int = 1100, dark: bool = False) -> Iterator[PageVisit]:
        context = self.browser.new_context(
            viewport={"width": width, "height": 900},
            color_scheme="dark" if dark else "light",
            java_script_enabled=True,
        )
        page = context.new_page()
        visit = PageVisit(page=page)
        url = path.resolve().as_uri()
        page.on("console", lambda message: visit.console.append((message.type, message.text)))
        page.on("pageerror", lambda error: visit.page_errors.append(str(error)))
        page.on(
            "request", lambda request: request.url != url and visit.requests.append(request.url)
        )
        try:
            page.goto(url, wait_until="load")
            yield visit
        finally:
            context.close()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Chromium]:
    if not Path(CHROMIUM).is_file():
        _missing(f"chromium ({CHROMIUM})")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright's Python client (pip install playwright)")
    # Playwright starts the browser with a fresh profile in a tmp dir of its own and ends that
    # process (by its pid) on close.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield Chromium(browser)
        finally:
            browser.close()
