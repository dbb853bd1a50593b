"""Timing of whole commands: medians of repeated runs, interleaved so load hits all alike."""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Timing:
    name: str
    command: Sequence[str]
    seconds: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def time_interleaved(
    commands: Mapping[str, Sequence[str]],
    *,
    runs: int,
    cwd: Path,
    warmup: int = 1,
    env: Mapping[str, str] | None = None,
) -> list[Timing]:
    """Run each command `runs` times, round-robin, after `warmup` untimed rounds."""
    timings = [Timing(name, list(command)) for name, command in commands.items()]
    # Byte-code caching on, as in any pip-installed package (the warm-up round writes the .pyc).
    full_env = {**os.environ, **(env or {})}
    full_env.pop("PYTHONDONTWRITEBYTECODE", None)
    for round_number in range(warmup + runs):
        for timing in timings:
            start = time.perf_counter()
            subprocess.run(
                timing.command,
                cwd=cwd,
                env=full_env,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            elapsed = time.perf_counter() - start
            if round_number >= warmup:
                timing.seconds.append(elapsed)
    return timings


def machine_line() -> str:
    load = os.getloadavg()
    return f"{os.cpu_count()} CPUs, load average {load[0]:.2f} at start"
