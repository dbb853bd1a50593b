"""Benchmark `mlci validate` against pandera's API and pandera's own CLI, on pandas and polars.

    python benchmarks/validate.py                 # 1M and 10M rows, 3 runs each (slow)
    python benchmarks/validate.py --rows 1000000 --repeat 3

Synthetic data (10 columns: ints, floats, a nullable float, two categoricals, two string
patterns, a bool, a nullable string) is generated once into benchmarks/.data/ (git-ignored) as
CSV and Parquet, with a few hundred failing rows, and as a CSV where every row is valid. Every
case runs in a fresh process, as a user runs it: the `mlci` console script with its default text
output (the JSON report, for the phase times, goes to a file with -o); wall time includes
interpreter start and imports, peak RSS comes from wait4() of that process. Medians.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data"
PYTHON = sys.executable
BIN = Path(sys.executable).parent


def paths_for(rows: int) -> dict[str, Path]:
    tag = f"{rows // 1_000_000}M" if rows % 1_000_000 == 0 else str(rows)
    return {
        "csv": DATA / f"synthetic-{tag}.csv",
        "good_csv": DATA / f"synthetic-{tag}-valid.csv",
        "parquet": DATA / f"synthetic-{tag}.parquet",
        "pandas_schema": DATA / "schema-pandas.yaml",
        "polars_schema": DATA / "schema-polars.yaml",
    }


def generate(rows: int) -> None:
    """CSV + Parquet of `rows` rows, and a pandas and a polars schema for them.

    Runs in its own process, so the measuring parent stays small: a child's peak RSS starts
    from its parent's at fork.
    """
    import numpy as np
    import pandera.pandas as pa
    import pandera.polars as pap
    import polars as pl
    from pandera.io import polars_io

    DATA.mkdir(exist_ok=True)
    (DATA / ".gitignore").write_text("*\n")
    paths = paths_for(rows)
    cities = ["paris", "oslo", "lima", "cairo", "perth"]
    segments = ["a", "b", "c"]
    pandas_schema = pa.DataFrameSchema(
        {
            "id": pa.Column("int64", pa.Check.ge(0)),
            "amount": pa.Column("float64", pa.Check.in_range(0, 10_000)),
            "quantity": pa.Column("int64", [pa.Check.ge(0), pa.Check.le(1000)]),
            "score": pa.Column("float64", pa.Check.in_range(0, 1), nullable=True),
            "city": pa.Column("str", pa.Check.isin(cities)),
            "segment": pa.Column("str", pa.Check.isin(segments)),
            "code": pa.Column("str", pa.Check.str_matches(r"^[A-Z]{2}-\d{4}$")),
            "email": pa.Column("str", pa.Check.str_matches(r"^[a-z]+\d*@example\.com$")),
            "flag": pa.Column("bool"),
            "note": pa.Column("str", pa.Check.str_length(1, 20), nullable=True),
        },
        name="synthetic",
    )
    polars_schema = pap.DataFrameSchema(
        {
            "id": pap.Column(pl.Int64, pap.Check.ge(0)),
            "amount": pap.Column(pl.Float64, pap.Check.in_range(0, 10_000)),
            "quantity": pap.Column(pl.Int64, [pap.Check.ge(0), pap.Check.le(1000)]),
            "score": pap.Column(pl.Float64, pap.Check.in_range(0, 1), nullable=True),
            "city": pap.Column(pl.String, pap.Check.isin(cities)),
            "segment": pap.Column(pl.String, pap.Check.isin(segments)),
            "code": pap.Column(pl.String, pap.Check.str_matches(r"^[A-Z]{2}-\d{4}$")),
            "email": pap.Column(pl.String, pap.Check.str_matches(r"^[a-z]+\d*@example\.com$")),
            "flag": pap.Column(pl.Boolean),
            "note": pap.Column(pl.String, pap.Check.str_length(1, 20), nullable=True),
        },
        name="synthetic",
    )
    pandas_schema.to_yaml(paths["pandas_schema"])
    polars_io.to_yaml(polars_schema, paths["polars_schema"])
    if paths["csv"].exists() and paths["parquet"].exists() and paths["good_csv"].exists():
        return
    rng = np.random.default_rng(0)
    parts = []
    step = 1_000_000
    for start in range(0, rows, step):
        n = min(step, rows - start)
        score = rng.uniform(0, 1, n)
        score[rng.random(n) < 0.05] = np.nan
        note = pl.Series("note", ["ok note"] * n, dtype=pl.String)
        note = note.scatter(np.flatnonzero(rng.random(n) < 0.3), None)
        frame = pl.DataFrame(
            {
                "id": np.arange(start, start + n),
                "amount": rng.uniform(0, 9000, n).round(2),
                "quantity": rng.integers(0, 1000, n),
                "score": score,
                "city": rng.choice(cities, n),
                "segment": rng.choice(segments, n),
                "code": [f"AB-{v:04d}" for v in rng.integers(0, 9999, n)],
                "email": [f"user{v}@example.com" for v in rng.integers(0, 99999, n)],
                "flag": rng.random(n) < 0.5,
                "note": note,
            },
            nan_to_null=True,
        )
        parts.append(frame)
    data = pl.concat(parts)
    data.write_csv(paths["good_csv"])
    # A few hundred failures, so the reporting path is measured too.
    bad = rng.choice(rows, 300, replace=False)
    data = (
        data.with_row_index("_r")
        .with_columns(
            pl.when(pl.col("_r").is_in(bad[:100].tolist()))
            .then(pl.lit(-5.0))
            .otherwise(pl.col("amount"))
            .alias("amount"),
            pl.when(pl.col("_r").is_in(bad[100:200].tolist()))
            .then(pl.lit("atlantis"))
            .otherwise(pl.col("city"))
            .alias("city"),
            pl.when(pl.col("_r").is_in(bad[200:].tolist()))
            .then(pl.lit("bad-code"))
            .otherwise(pl.col("code"))
            .alias("code"),
        )
        .drop("_r")
    )
    data.write_csv(paths["csv"])
    data.write_parquet(paths["parquet"])


API = {
    "pandas": """
import sys, pandas as pd
from pandera.io import pandas_io
from pandera.errors import SchemaErrors
schema = pandas_io.from_yaml(sys.argv[2])
path = sys.argv[1]
frame = pd.read_parquet(path) if path.endswith('.parquet') else pd.read_csv(path)
try:
    schema.validate(frame, lazy=True)
except SchemaErrors as errors:
    print(len(errors.failure_cases))
""",
    "polars": """
import sys, polars as pl
from pandera.io import polars_io
from pandera.errors import SchemaErrors
schema = polars_io.from_yaml(sys.argv[2])
path = sys.argv[1]
frame = pl.read_parquet(path) if path.endswith('.parquet') else pl.read_csv(path)
try:
    schema.validate(frame, lazy=True)
except SchemaErrors as errors:
    print(len(errors.failure_cases))
""",
}


@dataclass
class Run:
    wall: float
    """Seconds, whole process."""
    cpu: float
    """User + system CPU seconds of the process: what it cost, whatever else the machine ran."""
    rss: float
    """Peak resident set, MiB."""
    code: int
    phases: dict[str, float]
    """mlci's own `seconds` (read, validate) from its JSON report; empty for the peers."""


REPORT = Path(tempfile.gettempdir()) / f"mlci-benchmark-{os.getpid()}.json"
"""Where `mlci validate -o` writes its JSON report (read for the phase times)."""


def measure(command: list[str]) -> Run:
    """One fresh process: wall time, peak RSS and exit code, and mlci's phase times."""
    REPORT.unlink(missing_ok=True)
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
    phases: dict[str, float] = {}
    if str(REPORT) in command and REPORT.exists():
        phases = json.loads(REPORT.read_text())["datasets"][0].get("seconds", {})
    cpu = usage.ru_utime + usage.ru_stime
    return Run(wall, cpu, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), phases)


def cases(paths: dict[str, Path], chunksize: int) -> list[tuple[str, str, str, list[str]]]:
    """(group, engine, tool, command) for every measured run."""
    mlci = [str(BIN / "mlci")]  # the console script, as a user runs it
    pandera_cli = str(BIN / "pandera")
    good = str(paths["good_csv"])
    # pandera's CLI needs `typer` (pandera[cli]); without it, it fails at once: leave it out.
    pandera_cli_works = bool(shutil.which(pandera_cli)) and (
        subprocess.run([pandera_cli, "--help"], capture_output=True, check=False).returncode == 0
    )
    # The case of the issue: valid data, the command as typed, against a four-line script.
    out = [
        (
            "valid csv / pandas",
            "pandas",
            "pandera API",
            [PYTHON, "-c", API["pandas"], good, str(paths["pandas_schema"])],
        ),
        (
            "valid csv / pandas",
            "pandas",
            "mlci validate",
            [*mlci, "validate", good, "--schema", str(paths["pandas_schema"])],
        ),
    ]
    for fmt in ("csv", "parquet"):
        data = str(paths[fmt])
        for engine in ("pandas", "polars"):
            schema = str(paths[f"{engine}_schema"])
            group = f"{fmt} / {engine}"
            out.append((group, engine, "pandera API", [PYTHON, "-c", API[engine], data, schema]))
            out.append(
                (
                    group,
                    engine,
                    "mlci validate",
                    [*mlci, "validate", data, "-s", schema, "--engine", engine, "-o", str(REPORT)],
                )
            )
            if pandera_cli_works:
                out.append(
                    (
                        group,
                        engine,
                        "pandera validate (CLI)",
                        [pandera_cli, "validate", "-s", schema, "-d", data],
                    )
                )
    out.append(
        (
            "csv / pandas, chunked",
            "pandas",
            f"mlci validate --chunksize {chunksize}",
            [
                *mlci,
                "validate",
                str(paths["csv"]),
                "-s",
                str(paths["pandas_schema"]),
                "--chunksize",
                str(chunksize),
                "-o",
                str(REPORT),
            ],
        )
    )
    return out


def import_times(command: list[str]) -> dict[str, int]:
    """`python -X importtime` of one run: each module's own import time, microseconds."""
    done = subprocess.run(
        [PYTHON, "-X", "importtime", *command], capture_output=True, text=True, check=True
    )
    times = {}
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "cumulative" not in line:
            own, _total, name = (part.strip() for part in line[len("import time:") :].split("|"))
            times[name] = int(own)
    return times


def import_cost(paths: dict[str, Path], repeat: int) -> None:
    """What `mlci validate` imports beyond the four-line script, on a 200-row file (so that
    imports are most of the run): per module, the fastest of `repeat` runs."""
    tiny = DATA / "valid-200.csv"
    with paths["good_csv"].open() as source, tiny.open("w") as out:
        out.writelines(line for _, line in zip(range(201), source, strict=False))
    schema = str(paths["pandas_schema"])
    script = ["-c", API["pandas"], str(tiny), schema]
    mlci = [str(BIN / "mlci"), "validate", str(tiny), "--schema", schema]
    best: dict[str, dict[str, int]] = {"script": {}, "mlci": {}}
    for _ in range(repeat):
        for name, command in (("script", script), ("mlci", mlci)):
            for module, own in import_times(command).items():
                best[name][module] = min(own, best[name].get(module, own))
    extra = {m: t for m, t in best["mlci"].items() if m not in best["script"]}
    total = {name: sum(times.values()) / 1000 for name, times in best.items()}
    print(
        f"### Imports (`python -X importtime`, fastest of {repeat} per module, 200 rows)\n\n"
        f"script {total['script']:.0f} ms, mlci validate {total['mlci']:.0f} ms; modules only "
        f"mlci loads: {len(extra)}, {sum(extra.values()) / 1000:.0f} ms:\n"
    )
    print("| module | own import time (ms) |\n| --- | ---: |")
    for module in sorted(extra, key=extra.__getitem__, reverse=True)[:12]:
        print(f"| {module} | {extra[module] / 1000:.1f} |")
    print(flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, action="append", help="rows (repeatable)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chunksize", type=int, default=200_000)
    parser.add_argument("--generate", type=int, help=argparse.SUPPRESS)
    parser.add_argument(
        "--imports", action="store_true", help="only what mlci validate imports beyond pandera"
    )
    args = parser.parse_args()
    if args.generate:
        generate(args.generate)
        return
    if args.imports:
        rows = (args.rows or [1_000_000])[0]
        subprocess.run([PYTHON, __file__, "--generate", str(rows)], check=True)
        import_cost(paths_for(rows), args.repeat)
        return
    sizes = args.rows or [1_000_000, 10_000_000]
    print(f"load average before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)\n")
    for rows in sizes:
        subprocess.run([PYTHON, __file__, "--generate", str(rows)], check=True)
        paths = paths_for(rows)
        print(
            f"### {rows:,} rows x 10 columns (CSV {paths['csv'].stat().st_size / 2**20:.0f} MiB, "
            f"Parquet {paths['parquet'].stat().st_size / 2**20:.0f} MiB), median of {args.repeat}\n"
        )
        print(
            "| data / engine | tool | wall (s) | CPU (s) | peak RSS (MiB) | exit "
            "| vs pandera API (wall) | vs pandera API (CPU) |"
        )
        print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        api_wall: dict[str, float] = {}
        api_cpu: dict[str, float] = {}
        walls: dict[tuple[str, str], float] = {}
        rss: dict[tuple[str, str], float] = {}
        planned = cases(paths, args.chunksize)
        # Interleaved: run 1 of every case, then run 2, ..., so load hits every tool alike.
        results: dict[int, list[Run]] = {i: [] for i in range(len(planned))}
        for _ in range(args.repeat):
            for index, (_group, _engine, _tool, command) in enumerate(planned):
                results[index].append(measure(command))
        phases: dict[str, dict[str, float]] = {}
        for index, (group, _engine, tool, _command) in enumerate(planned):
            runs = results[index]
            wall = statistics.median(run.wall for run in runs)
            cpu = statistics.median(run.cpu for run in runs)
            peak = statistics.median(run.rss for run in runs)
            code = runs[-1].code
            walls[(group, tool)] = wall
            rss[(group, tool)] = peak
            if tool == "mlci validate" and not group.startswith("valid"):
                reported = [run.phases for run in runs if run.phases]
                if len(reported) < len(runs):
                    sys.exit(f"{group}: mlci validate wrote no JSON report (exit {code})")
                phases[group] = {
                    name: statistics.median(seconds[name] for seconds in reported)
                    for name in ("read", "validate")
                }
            if tool == "pandera API":
                api_wall[group], api_cpu[group] = wall, cpu
            versus = versus_cpu = ""
            if tool != "pandera API" and group in api_wall:
                versus = f"{wall / api_wall[group]:.3f}x"
                versus_cpu = f"{cpu / api_cpu[group]:.3f}x"
            print(
                f"| {group} | {tool} | {wall:.2f} | {cpu:.2f} | {peak:.0f} | {code} | {versus} "
                f"| {versus_cpu} |",
                flush=True,
            )
        print("\nInside mlci validate (its report's `seconds`, medians):\n")
        print("| data | engine | read (s) | validate (s) |")
        print("| --- | --- | ---: | ---: |")
        for group, seconds in phases.items():
            fmt, engine = group.split(" / ")
            print(f"| {fmt} | {engine} | {seconds['read']:.2f} | {seconds['validate']:.2f} |")
        ratio = walls[("csv / pandas", "mlci validate")] / walls[("csv / polars", "mlci validate")]
        ratio_pq = (
            walls[("parquet / pandas", "mlci validate")]
            / walls[("parquet / polars", "mlci validate")]
        )
        chunked = next(v for (g, _t), v in rss.items() if g == "csv / pandas, chunked")
        whole = rss[("csv / pandas", "mlci validate")]
        validation = {
            fmt: phases[f"{fmt} / pandas"]["validate"] / phases[f"{fmt} / polars"]["validate"]
            for fmt in ("csv", "parquet")
        }
        print(
            f"\npolars vs pandas (mlci validate): {ratio:.1f}x faster on CSV, {ratio_pq:.1f}x on "
            f"Parquet, whole process; validation alone {validation['csv']:.1f}x on CSV, "
            f"{validation['parquet']:.1f}x on Parquet; chunked CSV peak RSS {chunked:.0f} MiB = "
            f"{chunked / whole:.2f} of the "
            f"whole-file load ({whole:.0f} MiB). Load average now: {os.getloadavg()[0]:.2f}\n",
            flush=True,
        )


if __name__ == "__main__":
    main()
