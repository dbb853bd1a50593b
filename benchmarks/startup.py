"""How much `mlci --help` adds to a bare Python start (target: under 150 ms).

python benchmarks/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from timing import machine_line, time_interleaved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        timings = time_interleaved(
            {
                "python -c pass": [sys.executable, "-c", "pass"],
                "python -m mlci --help": [sys.executable, "-m", "mlci", "--help"],
                "python -m mlci --version": [sys.executable, "-m", "mlci", "--version"],
            },
            runs=args.runs,
            cwd=Path(tmp),
        )
    bare = timings[0].median
    print(f"Start-up, median of {args.runs} runs ({machine_line()}):\n")
    print("| command | median | over bare Python |")
    print("| --- | ---: | ---: |")
    for timing in timings:
        print(
            f"| `{timing.name}` | {timing.median * 1000:.0f} ms "
            f"| {(timing.median - bare) * 1000:+.0f} ms |"
        )


if __name__ == "__main__":
    main()
