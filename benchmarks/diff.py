"""`mlci diff` against `dvc metrics diff` on the same repository (target: at least 5x faster).

Two real git + DVC repositories, two commits each: `plain`, with 3 metrics files (JSON, YAML,
TOML) and 200 metrics committed to git; `cached`, DVC's example-get-started layout, where a
stage's cached output `eval/` holds metrics.json (200 metrics) and a plot, made by `dvc repro`,
so both tools read the metrics from the DVC cache by dvc.lock's hash at each revision.
Both tools compare the same two revisions; their JSON outputs are checked to be equal first.

    python benchmarks/diff.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from timing import machine_line, time_interleaved

BIN = Path(sys.executable).parent


def _metrics(rng: random.Random, count: int) -> dict[str, dict[str, float]]:
    groups: dict[str, dict[str, float]] = {}
    for index in range(count):
        groups.setdefault(f"group{index % 10}", {})[f"metric_{index}"] = round(rng.random(), 6)
    return groups


def _write(repo: Path, rng: random.Random) -> None:
    json_metrics = _metrics(rng, 80)
    (repo / "metrics.json").write_text(json.dumps(json_metrics, indent=2))
    import yaml

    (repo / "eval.yaml").write_text(yaml.safe_dump(_metrics(rng, 60)))
    toml_lines = []
    for group, values in _metrics(rng, 60).items():
        toml_lines.append(f"[{group}]")
        toml_lines += [f"{name} = {value}" for name, value in values.items()]
    (repo / "scores.toml").write_text("\n".join(toml_lines) + "\n")


def build_repo(repo: Path) -> None:
    def run(*command: str) -> None:
        subprocess.run(command, cwd=repo, check=True, capture_output=True)

    repo.mkdir()
    run("git", "init", "-q", "-b", "main")
    run("git", "config", "user.email", "bench@mlci.invalid")
    run("git", "config", "user.name", "bench")
    run(str(BIN / "dvc"), "init", "-q")
    (repo / "dvc.yaml").write_text("metrics:\n  - metrics.json\n  - eval.yaml\n  - scores.toml\n")
    _write(repo, random.Random(1))
    run("git", "add", "-A")
    run("git", "commit", "-qm", "base")
    _write(repo, random.Random(2))
    run("git", "add", "-A")
    run("git", "commit", "-qm", "head")


CACHED_STAGE = """\
import json, os, random, sys
rng = random.Random(int(open("seed.txt").read()))
os.makedirs("eval/plots", exist_ok=True)
groups = {}
for index in range(200):
    groups.setdefault(f"group{index % 10}", {})[f"metric_{index}"] = round(rng.random(), 6)
json.dump(groups, open("eval/metrics.json", "w"), indent=2)
json.dump([{"x": i, "y": rng.random()} for i in range(100)], open("eval/plots/curve.json", "w"))
"""


def build_cached_repo(repo: Path) -> None:
    """example-get-started's layout: `outs: [eval]`, `metrics: [eval/metrics.json]`."""

    def run(*command: str) -> None:
        subprocess.run(command, cwd=repo, check=True, capture_output=True)

    repo.mkdir()
    run("git", "init", "-q", "-b", "main")
    run("git", "config", "user.email", "bench@mlci.invalid")
    run("git", "config", "user.name", "bench")
    run(str(BIN / "dvc"), "init", "-q")
    (repo / "evaluate.py").write_text(CACHED_STAGE)
    (repo / "dvc.yaml").write_text(
        f"stages:\n  evaluate:\n    cmd: {sys.executable} evaluate.py\n"
        "    deps: [evaluate.py, seed.txt]\n    outs: [eval]\n"
        "metrics:\n  - eval/metrics.json\nplots:\n  - eval/plots/curve.json\n"
    )
    for seed in ("1", "2"):
        (repo / "seed.txt").write_text(seed)
        run(str(BIN / "dvc"), "repro", "-q")
        run("git", "add", "-A")
        run("git", "commit", "-qm", f"seed {seed}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    if not (BIN / "dvc").exists():
        sys.exit("dvc is not installed next to this Python: pip install 'mlci[dvc]'")
    env = {"DVC_NO_ANALYTICS": "1"}
    rows: list[tuple[str, str, float, float | None]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for layout, build in (("plain", build_repo), ("cached", build_cached_repo)):
            repo = Path(tmp) / layout
            build(repo)
            commands = _commands(repo)
            outputs = {
                name: subprocess.run(
                    command, cwd=repo, capture_output=True, text=True, check=True
                ).stdout
                for name, command in commands.items()
                if "--json" in name
            }
            theirs = json.loads(outputs["dvc metrics diff --json"])
            if not theirs:
                sys.exit(f"{layout}: dvc metrics diff shows nothing: the benchmark is broken")
            for name, output in outputs.items():
                if json.loads(output) != theirs:
                    sys.exit(f"{layout}: {name} prints other JSON than DVC: nothing to compare")
            timings = time_interleaved(commands, runs=args.runs, cwd=repo, env=env)
            by_name = {timing.name: timing for timing in timings}
            for fmt in ("--json", "--md"):
                dvc = by_name[f"dvc metrics diff {fmt}"]
                rows.append((layout, f"`{dvc.name}`", dvc.median, None))
                for mlci in (
                    by_name[f"mlci diff {fmt}"],
                    by_name[f"mlci diff {fmt}, with mlci.yaml"],
                ):
                    name, _, config = mlci.name.partition(", ")
                    shown = f"`{name}`" + (f", {config}" if config else "")
                    rows.append((layout, shown, mlci.median, dvc.median / mlci.median))
            shutil.rmtree(repo)
    print(f"200 changed metrics per repository; median of {args.runs} runs ({machine_line()}):\n")
    print("| repository | command | median | speed-up |")
    print("| --- | --- | ---: | ---: |")
    for layout, shown, median, speedup in rows:
        ratio = f"{speedup:.1f}x" if speedup is not None else ""
        print(f"| {layout} | {shown} | {median * 1000:.0f} ms | {ratio} |")


def _commands(repo: Path) -> dict[str, list[str]]:
    def dvc(fmt: str) -> list[str]:
        return [str(BIN / "dvc"), "metrics", "diff", "HEAD~1", "HEAD", fmt]

    commands = {}
    for fmt in ("--json", "--md"):
        commands[f"dvc metrics diff {fmt}"] = dvc(fmt)
        commands[f"mlci diff {fmt}"] = [str(BIN / "mlci"), "diff", "HEAD~1", "HEAD", fmt]
    # The same with an mlci.yaml, which mlci then loads and validates (msgspec).
    (repo / "bench-mlci.yaml").write_text("version: 1\nmetrics:\n  precision: 5\n")
    for fmt in ("--json", "--md"):
        commands[f"mlci diff {fmt}, with mlci.yaml"] = [
            str(BIN / "mlci"), "-c", "bench-mlci.yaml", "diff", "HEAD~1", "HEAD", fmt,
        ]  # fmt: skip
    return commands


if __name__ == "__main__":
    main()
