"""Make docs/images/html-report.png: the binary example's HTML report as headless Chromium draws it.

    python docs/html_report_image.py

Copies examples/breast_cancer to a tmp dir, trains it, runs `mlci check --html report.html`
there, opens the page in Debian's chromium through Playwright (the browser the tests use,
`.ci/render-tools.sh` installs it) and saves its header above its charts, shrunk to a small
palette PNG.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "breast_cancer"
TARGET = ROOT / "docs" / "images" / "html-report.png"
CHROMIUM = "/usr/bin/chromium"
WIDTH = 1100
"""Wide enough for two charts a row."""


def main() -> None:
    from PIL import Image
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch) / "example"
        shutil.copytree(EXAMPLE, work, ignore=shutil.ignore_patterns("data", "*.joblib"))
        subprocess.run([sys.executable, "train.py"], cwd=work, check=True, capture_output=True)
        done = subprocess.run(
            [sys.executable, "-m", "mlci", "check", "--html", "report.html"],
            cwd=work,
            capture_output=True,
            text=True,
        )
        if done.returncode not in (0, 1):
            sys.exit(f"mlci check failed ({done.returncode}):\n{done.stderr}")
        shots = [Path(scratch) / "header.png", Path(scratch) / "charts.png"]
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
            )
            try:
                page = browser.new_page(viewport={"width": WIDTH, "height": 900})
                page.goto((work / "report.html").as_uri(), wait_until="load")
                page.locator("header").screenshot(path=str(shots[0]))
                page.locator("#charts").screenshot(path=str(shots[1]))
            finally:
                browser.close()
        parts = [Image.open(shot).convert("RGB") for shot in shots]
        image = Image.new(
            "RGB", (max(p.width for p in parts), sum(p.height for p in parts)), "white"
        )
        top = 0
        for part in parts:
            image.paste(part, (0, top))
            top += part.height
        image = image.resize(
            (image.width * 2 // 3, image.height * 2 // 3), Image.Resampling.LANCZOS
        )
        TARGET.parent.mkdir(parents=True, exist_ok=True)
        image.quantize(colors=64).save(TARGET, optimize=True)
    print(f"wrote {TARGET.relative_to(ROOT)} ({TARGET.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
