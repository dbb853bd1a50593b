"""`mlci diff --json` against `dvc metrics diff --json` / `dvc params diff --json` on real DVC
projects, over every pair of consecutive commits and a sample of non-adjacent pairs.

Takes paths to local git clones (for example of iterative's example-get-started,
example-get-started-experiments, demo-bank-customer-churn, example-pokemon-classifier,
example-dvc-experiments and vscode-dvc-demo) and never touches the network: each clone is copied
to a temporary directory with all of its refs, and its DVC remote is overridden in
`.dvc/config.local` by an empty local directory, so neither tool reaches a remote. For each pair
(A, B) it runs, with and without `--all`:

    dvc metrics diff --json A B      mlci diff --json A B
    dvc params diff --json A B       mlci diff --params --json A B

Both run in this process through their own command-line entry points (`dvc.cli.main`, and
mlci's handler over its click group: what the `dvc` and `mlci` commands call), which saves their
start-up on each of thousands of calls; `--subprocess` runs the two commands instead. A
comparison where DVC says it "failed to load" a revision (a file inside a cached output whose
data is in no cache) is counted apart: there DVC itself does not have the answer.

    python benchmarks/dvc_parity.py CLONE [CLONE ...] [--sample 40] [--seed 17] [--out FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import unittest.mock
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
KINDS = ("metrics", "params")


@dataclass
class Comparison:
    repo: str
    a_rev: str
    b_rev: str
    adjacent: bool
    kind: str
    all: bool
    outcome: str
    """same | different | dvc-failed-same | dvc-failed-different | both-refused | mlci-refused |
    dvc-refused"""
    dvc: Any = None
    mlci: Any = None
    detail: str = ""


@dataclass
class Totals:
    pairs: int = 0
    adjacent_pairs: int = 0
    comparisons: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    pairs_dvc_failed: int = 0
    pairs_different: int = 0
    nonempty: int = 0


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


def copy_clone(source: Path, into: Path, offline_remote: Path) -> Path:
    """A private copy of the clone `source` (its git directory as it is: a snapshot may lack
    some large blobs, which a fetch would refuse), its work tree reset to its HEAD, whose DVC
    remote is an empty local directory."""
    source = source.resolve()
    target = into / source.name
    shutil.copytree(source, target, symlinks=True)
    _git(target, "reset", "-q", "--hard")
    if (target / ".dvc").is_dir():
        offline_remote.mkdir(exist_ok=True)
        (target / ".dvc" / "config.local").write_text(
            "[core]\n    remote = parity-offline\n    analytics = false\n"
            f"['remote \"parity-offline\"']\n    url = {offline_remote}\n"
        )
    return target


def revision_pairs(repo: Path, sample: int, rng: random.Random) -> list[tuple[str, str, bool]]:
    """(parent, child) for every commit and parent reachable from any ref, then `sample` random
    non-adjacent pairs."""
    pairs: list[tuple[str, str, bool]] = []
    commits: list[str] = []
    for line in _git(repo, "rev-list", "--all", "--parents").splitlines():
        child, *parents = line.split()
        commits.append(child)
        pairs.extend((parent, child, True) for parent in parents)
    seen = {frozenset((a, b)) for a, b, _ in pairs}
    commits.sort()
    wanted = len(pairs) + sample
    for _ in range(100 * sample):
        if len(pairs) >= wanted or len(commits) < 2:
            break
        a, b = rng.sample(commits, 2)
        if frozenset((a, b)) not in seen:
            seen.add(frozenset((a, b)))
            pairs.append((a, b, False))
    return pairs


def run_dvc(repo: Path, args: list[str], subprocess_: bool) -> tuple[int, str, str]:
    if subprocess_:
        done = subprocess.run(
            [str(BIN / "dvc"), *args], cwd=repo, capture_output=True, text=True, env=_env()
        )
        return done.returncode, done.stdout, done.stderr
    from dvc.cli import main
    from dvc.ui import ui

    # The command prints its JSON through a rich console bound to the real stdout: take the
    # data it is given instead (what it prints is `json.dumps` of it).
    printed: list[str] = []
    err = io.StringIO()
    cwd = Path.cwd()
    os.chdir(repo)
    try:
        with (
            contextlib.redirect_stderr(err),
            unittest.mock.patch.object(
                ui, "write_json", lambda data, **_: printed.append(json.dumps(data))
            ),
        ):
            code = main(args)
    finally:
        os.chdir(cwd)
    return code, "".join(printed), err.getvalue()


def run_mlci(repo: Path, args: list[str], subprocess_: bool) -> tuple[int, str, str]:
    if subprocess_:
        done = subprocess.run(
            [str(BIN / "mlci"), *args], cwd=repo, capture_output=True, text=True, env=_env()
        )
        return done.returncode, done.stdout, done.stderr
    from click.testing import CliRunner

    from mlci.cli.handler import run
    from mlci.cli.main import cli

    cwd = Path.cwd()
    os.chdir(repo)
    try:
        with CliRunner().isolation() as (stdout, stderr, _):
            code = run(cli, args)  # what the `mlci` console script calls
            out, err = stdout.getvalue(), stderr.getvalue()
    finally:
        os.chdir(cwd)
    return code, out.decode(), err.decode()


def _env() -> dict[str, str]:
    return {**os.environ, "DVC_NO_ANALYTICS": "1", "GITHUB_ACTIONS": ""}


def compare(
    repo: Path, a: str, b: str, adjacent: bool, kind: str, with_all: bool, subprocess_: bool
) -> Comparison:
    flags = ["--json"] + (["--all"] if with_all else [])
    dvc_code, dvc_out, dvc_err = run_dvc(repo, [kind, "diff", *flags, a, b], subprocess_)
    mlci_args = ["diff", *(["--params"] if kind == "params" else []), *flags, a, b]
    mlci_code, mlci_out, mlci_err = run_mlci(repo, mlci_args, subprocess_)
    comparison = Comparison(repo.name, a, b, adjacent, kind, with_all, "")
    failed = "failed to load" in dvc_err
    if dvc_code != 0 or mlci_code != 0:
        comparison.outcome = (
            "both-refused" if dvc_code and mlci_code else
            "dvc-refused" if dvc_code else "mlci-refused"
        )  # fmt: skip
        comparison.detail = (
            (dvc_err.strip().splitlines() or [""])[-1][:300]
            + " | "
            + (mlci_err.strip().splitlines() or [""])[-1][:300]
        )
        return comparison
    comparison.dvc = json.loads(dvc_out or "{}")
    comparison.mlci = json.loads(mlci_out or "{}")
    same = comparison.dvc == comparison.mlci
    comparison.outcome = ("dvc-failed-" if failed else "") + ("same" if same else "different")
    if failed:
        comparison.detail = dvc_err.strip()[:300]
    return comparison


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clones", nargs="+", type=Path)
    parser.add_argument("--sample", type=int, default=40, help="non-adjacent pairs per repository")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--out", type=Path, help="write every comparison here (JSON lines)")
    parser.add_argument(
        "--subprocess", action="store_true", help="run the `dvc` and `mlci` commands"
    )
    args = parser.parse_args()
    if not (BIN / "dvc").exists() or not (BIN / "mlci").exists():
        sys.exit("run from a venv with mlci and dvc: pip install -e '.[dvc]'")
    import dvc

    os.environ.update({"DVC_NO_ANALYTICS": "1", "GITHUB_ACTIONS": ""})
    totals: dict[str, Totals] = {}
    started = time.monotonic()
    out = args.out.open("w") if args.out else None
    with tempfile.TemporaryDirectory(prefix="mlci-dvc-parity-") as tmp:
        os.environ["DVC_SITE_CACHE_DIR"] = str(Path(tmp) / "dvc-site-cache")
        for source in args.clones:
            repo = copy_clone(source, Path(tmp), Path(tmp) / "offline-remote")
            total = totals.setdefault(repo.name, Totals())
            for a, b, adjacent in revision_pairs(repo, args.sample, random.Random(args.seed)):
                total.pairs += 1
                total.adjacent_pairs += adjacent
                pair_outcomes = []
                for kind in KINDS:
                    for with_all in (False, True):
                        result = compare(repo, a, b, adjacent, kind, with_all, args.subprocess)
                        total.comparisons += 1
                        total.outcomes[result.outcome] += 1
                        total.nonempty += bool(result.dvc)
                        pair_outcomes.append(result.outcome)
                        if out:
                            out.write(json.dumps(asdict(result)) + "\n")
                        if result.outcome not in ("same", "dvc-failed-same"):
                            print(
                                f"{repo.name} {a[:8]}..{b[:8]} {kind}"
                                f"{' --all' if with_all else ''}: {result.outcome}"
                                f" {result.detail}",
                                file=sys.stderr,
                            )
                total.pairs_dvc_failed += any(o.startswith("dvc-failed") for o in pair_outcomes)
                total.pairs_different += any(o.endswith("different") for o in pair_outcomes)
            print(f"{repo.name}: done ({time.monotonic() - started:.0f} s)", file=sys.stderr)
    if out:
        out.close()
    _print_table(totals, dvc.__version__)


def _print_table(totals: dict[str, Totals], dvc_version: str) -> None:
    columns = (
        "same", "different", "dvc-failed-same", "dvc-failed-different",
        "both-refused", "dvc-refused", "mlci-refused",
    )  # fmt: skip
    print(f"DVC {dvc_version}; 4 comparisons per pair (metrics, params; with and without --all)\n")
    print(
        "| repository | pairs (adjacent) | comparisons | non-empty | "
        + " | ".join(columns)
        + " | pairs DVC failed to load |"
    )
    print("| --- | ---: | ---: | ---: | " + " | ".join("---:" for _ in columns) + " | ---: |")
    grand = Totals()
    for name, total in [*totals.items(), ("**all**", grand)]:
        if total is not grand:
            grand.pairs += total.pairs
            grand.adjacent_pairs += total.adjacent_pairs
            grand.comparisons += total.comparisons
            grand.nonempty += total.nonempty
            grand.outcomes.update(total.outcomes)
            grand.pairs_dvc_failed += total.pairs_dvc_failed
        print(
            f"| {name} | {total.pairs} ({total.adjacent_pairs}) | {total.comparisons} | "
            f"{total.nonempty} | "
            + " | ".join(str(total.outcomes[column]) for column in columns)
            + f" | {total.pairs_dvc_failed} |"
        )


if __name__ == "__main__":
    main()
