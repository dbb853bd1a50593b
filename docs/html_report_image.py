"""Make docs/images/html-report.png: the binary example's HTML report as headless Chromium draws it.

    python docs/html_report_image.py

Copies examples/breast_cancer to a tmp dir, trains it, runs `mlci check --html report.html`
there, opens the page in Debian's chromium through Playwright (the browser the tests use,
`.ci/render-tools.sh` installs it) and saves the top of the page, shrunk to a small palette PNG.
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
WIDTH, HEIGHT = 900, 1500
"""The viewport: the summary, the gates, the metrics and the first charts."""


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
        shot = Path(scratch) / "shot.png"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
            )
            try:
                page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
                page.goto((work / "report.html").as_uri(), wait_until="load")
                page.screenshot(path=str(shot))
            finally:
                browser.close()
        image = Image.open(shot).convert("RGB")
        image = image.resize((WIDTH * 2 // 3, HEIGHT * 2 // 3), Image.Resampling.LANCZOS)
        TARGET.parent.mkdir(parents=True, exist_ok=True)
        image.quantize(colors=64).save(TARGET, optimize=True)
    print(f"wrote {TARGET.relative_to(ROOT)} ({TARGET.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
