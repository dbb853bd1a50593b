"""`mlci diff` against `dvc metrics diff` on the same repository (target: at least 5x faster).

A real git + DVC repository with 3 metrics files (JSON, YAML, TOML) and 200 metrics, two commits.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    if not (BIN / "dvc").exists():
        sys.exit("dvc is not installed next to this Python: pip install 'mlci[dvc]'")
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        build_repo(repo)
        env = {"DVC_NO_ANALYTICS": "1"}
        commands = {
            "dvc metrics diff --json": [
                str(BIN / "dvc"),
                "metrics",
                "diff",
                "HEAD~1",
                "HEAD",
                "--json",
            ],
            "mlci diff --json": [str(BIN / "mlci"), "diff", "HEAD~1", "HEAD", "--json"],
            "dvc metrics diff --md": [
                str(BIN / "dvc"),
                "metrics",
                "diff",
                "HEAD~1",
                "HEAD",
                "--md",
            ],
            "mlci diff --md": [str(BIN / "mlci"), "diff", "HEAD~1", "HEAD", "--md"],
        }
        # The same with an mlci.yaml, which mlci then loads and validates (msgspec).
        (repo / "bench-mlci.yaml").write_text("version: 1\nmetrics:\n  precision: 5\n")
        for fmt in ("--json", "--md"):
            commands[f"mlci diff {fmt}, with mlci.yaml"] = [
                str(BIN / "mlci"),
                "-c",
                "bench-mlci.yaml",
                "diff",
                "HEAD~1",
                "HEAD",
                fmt,
            ]
        outputs = {
            name: subprocess.run(
                command, cwd=repo, capture_output=True, text=True, check=True
            ).stdout
            for name, command in commands.items()
            if "--json" in name
        }
        theirs = json.loads(outputs["dvc metrics diff --json"])
        metrics = sum(len(values) for values in theirs.values())
        for name, output in outputs.items():
            if json.loads(output) != theirs:
                sys.exit(f"{name} prints other JSON: the benchmark compares like with like only")
        timings = time_interleaved(commands, runs=args.runs, cwd=repo, env=env)
        shutil.rmtree(repo)
    by_name = {timing.name: timing for timing in timings}
    print(
        f"3 metrics files, {metrics} changed metrics; "
        f"median of {args.runs} runs ({machine_line()}):\n"
    )
    print("| command | median | speed-up |")
    print("| --- | ---: | ---: |")
    for fmt in ("--json", "--md"):
        dvc = by_name[f"dvc metrics diff {fmt}"]
        print(f"| `{dvc.name}` | {dvc.median * 1000:.0f} ms | |")
        for mlci in (by_name[f"mlci diff {fmt}"], by_name[f"mlci diff {fmt}, with mlci.yaml"]):
            name, _, config = mlci.name.partition(", ")
            shown = f"`{name}`" + (f", {config}" if config else "")
            speedup = dvc.median / mlci.median
            print(f"| {shown} | {mlci.median * 1000:.0f} ms | {speedup:.1f}x |")


if __name__ == "__main__":
    main()
