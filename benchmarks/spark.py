"""The Spark engine: data larger than the memory Spark is given, and Spark vs polars vs pandas.

    python benchmarks/spark.py                       # 30M rows (memory) and 10M rows (engines)
    python benchmarks/spark.py --big 30000000 --rows 10000000

1. Memory: a partitioned Parquet dataset of `--big` rows validated by `mlci validate --engine
   spark` with `spark.driver.memory=1g` (local[2]), and the same rows (one Parquet file) by the
   pandas engine.
2. Engines: `--rows` rows (one Parquet file) validated by `mlci validate` with `--engine spark`
   (local[2]), `polars` and `pandas`.

Every case runs the `mlci` console script in a fresh process, as a user runs it, with the same
pandera YAML schema (8 columns: range, isin, regex and nullability checks; a few thousand
failing rows). Wall time includes interpreter, JVM start and imports. Peak memory is the peak of
the summed RSS of the whole process tree (mlci and the JVM it starts), sampled every 0.1 s with
psutil. The data is generated into a temporary directory and removed at the end; it is never
committed. Run it once on a quiet machine; the load average is printed with the numbers.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
CHUNK = 1_000_000

SCHEMA = """\
schema_type: dataframe
columns:
  id: {dtype: int64, nullable: false}
  amount:
    dtype: float64
    nullable: false
    checks: {ge: 0.0}
  score:
    dtype: float64
    nullable: true
    checks: {in_range: {min_value: 0.0, max_value: 1.0}}
  visits:
    dtype: int64
    checks: {in_range: {min_value: 0, max_value: 1000}}
  city:
    dtype: str
    checks: {isin: [paris, oslo, lima, rome, kyiv]}
  plan:
    dtype: str
    checks: {isin: [free, pro, team]}
  code:
    dtype: str
    checks: {str_matches: '^AB-[0-9]{4}$'}
  active: {dtype: bool}
"""


def chunk(start: int, rows: int, seed: int) -> Any:
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    amount = rng.normal(100, 20, rows).round(2)
    amount[rng.choice(rows, 30, replace=False)] = -1.0
    score = rng.uniform(0, 1, rows).round(4)
    score[rng.choice(rows, rows // 50, replace=False)] = np.nan
    city = rng.choice(["paris", "oslo", "lima", "rome", "kyiv"], rows).astype(object)
    city[rng.choice(rows, 20, replace=False)] = "atlantis"
    codes = rng.integers(0, 9999, rows)
    code = np.char.add("AB-", np.char.zfill(codes.astype(str), 4)).astype(object)
    code[rng.choice(rows, 10, replace=False)] = "bad"
    return pa.table(
        {
            "id": pa.array(np.arange(start, start + rows, dtype=np.int64)),
            "amount": pa.array(amount),
            "score": pa.array(score, from_pandas=True),
            "visits": pa.array(rng.integers(0, 500, rows)),
            "city": pa.array(city),
            "plan": pa.array(rng.choice(["free", "pro", "team"], rows).astype(object)),
            "code": pa.array(code),
            "active": pa.array(rng.random(rows) < 0.5),
        }
    )


def generate(directory: Path, rows: int, *, partitioned: bool) -> tuple[Path, Path | None]:
    """One Parquet file of `rows` rows (row groups of CHUNK), and the same rows as a
    partitioned directory (`part=N/`, one file per CHUNK) when asked."""
    import pyarrow.parquet as pq

    single = directory / f"data-{rows}.parquet"
    parts = directory / f"data-{rows}-partitioned" if partitioned else None
    writer = None
    for index, start in enumerate(range(0, rows, CHUNK)):
        table = chunk(start, min(CHUNK, rows - start), seed=index)
        if writer is None:
            writer = pq.ParquetWriter(single, table.schema)
        writer.write_table(table, row_group_size=CHUNK)
        if parts is not None:
            target = parts / f"part={index % 10}"
            target.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, target / f"chunk-{index:04d}.parquet")
    assert writer is not None
    writer.close()
    return single, parts


def run_measured(command: list[str], cwd: Path) -> dict[str, Any]:
    """Wall time, exit code and the peak summed RSS of the process tree."""
    import psutil

    peak = 0
    done = threading.Event()
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    root = psutil.Process(process.pid)

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            try:
                tree = [root, *root.children(recursive=True)]
                total = 0
                for item in tree:
                    with contextlib.suppress(psutil.Error):
                        total += item.memory_info().rss
                peak = max(peak, total)
            except psutil.Error:
                pass
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    result: dict[str, Any] = {
        "wall": wall,
        "peak_mib": peak / 2**20,
        "exit": process.returncode,
        "error": stderr.strip().splitlines()[-1] if process.returncode not in (0, 1) else "",
    }
    try:
        report = json.loads(stdout)
        dataset = report["datasets"][0]
        result["rows"] = dataset.get("rows")
        result["failing"] = {
            f"{f['column']}:{f['check']}": f["failing"] for f in dataset["failures"]
        }
    except (json.JSONDecodeError, KeyError, IndexError):
        result["rows"] = None
    return result


def mlci_validate(data: Path, engine: str) -> list[str]:
    return [
        str(BIN / "mlci"),
        "validate",
        str(data),
        "--schema",
        "schema.yaml",
        "--engine",
        engine,
        "--format",
        "json",
    ]


def spark_config(work: Path, memory: str) -> None:
    (work / "mlci.yaml").write_text(
        textwrap.dedent(
            f"""\
            spark:
              master: local[2]
              conf:
                spark.driver.memory: {memory}
                spark.sql.shuffle.partitions: "4"
                spark.local.dir: {work / "spark-local"}
            """
        )
    )


def row(name: str, result: dict[str, Any]) -> str:
    note = result["error"] or ("valid" if result["exit"] == 0 else "invalid, as generated")
    return (
        f"| {name} | {result['wall']:.1f} | {result['peak_mib']:.0f} | {result['exit']} | "
        f"{result.get('rows') or ''} | {note} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big", type=int, default=30_000_000)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--skip-big", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mlci-spark-bench-"))
    try:
        (work / "schema.yaml").write_text(SCHEMA)
        header = "| case | wall (s) | peak RSS of the process tree (MiB) | exit | rows | note |"
        rule = "| --- | ---: | ---: | ---: | ---: | --- |"
        print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start", flush=True)
        results: dict[str, dict[str, Any]] = {}
        if not args.skip_big:
            single, parts = generate(work, args.big, partitioned=True)
            assert parts is not None
            size = sum(p.stat().st_size for p in parts.rglob("*.parquet")) / 2**20
            print(f"\n{args.big:,} rows: partitioned Parquet {size:.0f} MiB on disk", flush=True)
            spark_config(work, "1g")
            results["big spark"] = run_measured(mlci_validate(parts, "spark"), work)
            (work / "mlci.yaml").unlink()
            results["big pandas"] = run_measured(mlci_validate(single, "pandas"), work)
            print(header, rule, sep="\n")
            print(row(f"spark local[2], driver memory 1g, {args.big:,} rows", results["big spark"]))
            print(row(f"pandas, {args.big:,} rows (one Parquet file)", results["big pandas"]))
            print(f"load average after: {os.getloadavg()[0]:.2f}", flush=True)
            shutil.rmtree(parts)
            single.unlink()
        single, _ = generate(work, args.rows, partitioned=False)
        spark_config(work, "2g")
        results["spark"] = run_measured(mlci_validate(single, "spark"), work)
        (work / "mlci.yaml").unlink()
        results["polars"] = run_measured(mlci_validate(single, "polars"), work)
        results["pandas"] = run_measured(mlci_validate(single, "pandas"), work)
        print(f"\n{args.rows:,} rows, one Parquet file", flush=True)
        print(header, rule, sep="\n")
        for engine in ("spark", "polars", "pandas"):
            label = "spark local[2] (driver memory 2g)" if engine == "spark" else engine
            print(row(label, results[engine]))
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        verdicts = {name: r.get("failing") for name, r in results.items()}
        print("\nfailing rows per check:", json.dumps(verdicts, indent=1, sort_keys=True))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
