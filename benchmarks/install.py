"""Install time of a CI job's Python packages: pip vs uv (PyPI's `uv`), cold and warm cache.

    python benchmarks/install.py --runs 3

Each run makes a fresh virtual environment and installs what the train-on-PR job installs for
the iris example: its requirements (scikit-learn, pandas, joblib) and mlci[sklearn] from this
checkout. "cold" starts from an empty download cache (once per installer), "warm" from the cache
the cold run left, as a job does after actions/cache restored it; warm runs are interleaved and
the median is reported. Both installers read PyPI itself (the machine's pip.conf is ignored).
Needs `uv` on PATH or in this Python (`pip install uv`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import machine_line

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ["scikit-learn", "pandas", "joblib"]


def uv_executable() -> str:
    found = shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))
    if found is None:
        raise SystemExit("uv is not installed: pip install uv")
    return found


def install(installer: str, scratch: Path, requirements: Path) -> float:
    venv = scratch / f"venv-{installer}"
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    python = venv / "bin" / "python"
    spec = f"{ROOT}[sklearn]"
    if installer == "pip":
        command = [python, "-m", "pip", "install", "-q", "-r", requirements, spec]
    else:
        command = [
            uv_executable(),
            "pip",
            "install",
            "-q",
            "--python",
            python,
            "-r",
            requirements,
            spec,
        ]
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PIP_", "UV_"))}
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_CACHE_DIR=str(scratch / "pip-cache"),
        UV_CACHE_DIR=str(scratch / "uv-cache"),
        UV_NO_CONFIG="1",
    )
    start = time.perf_counter()
    subprocess.run([str(part) for part in command], check=True, env=env)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlci-install-bench-") as directory:
        scratch = Path(directory)
        requirements = scratch / "requirements.txt"
        requirements.write_text("\n".join(REQUIREMENTS) + "\n")
        cold = {name: install(name, scratch, requirements) for name in ("pip", "uv")}
        warm: dict[str, list[float]] = {"pip": [], "uv": []}
        for _ in range(args.runs):
            for name in warm:
                warm[name].append(install(name, scratch, requirements))
    print(machine_line())
    print()
    print("| installer | cold cache (s) | warm cache, median (s) | warm runs (s) |")
    print("| --- | ---: | ---: | --- |")
    for name in ("pip", "uv"):
        runs = ", ".join(f"{value:.1f}" for value in warm[name])
        print(f"| {name} | {cold[name]:.1f} | {statistics.median(warm[name]):.1f} | {runs} |")
    ratio = statistics.median(warm["pip"]) / statistics.median(warm["uv"])
    print(f"\nwarm: uv is {ratio:.1f}x faster than pip; cold: {cold['pip'] / cold['uv']:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
