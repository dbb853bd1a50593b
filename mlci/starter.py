"""What `mlci init` writes into an existing ML repository: mlci.yaml, schemas, a workflow.

`plan_starter` looks at the repository (data files, metrics files, dvc.yaml, a training script)
and returns the files to write; `write_starter` writes them, refusing to overwrite any existing
file unless forced. Neither prints.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from mlci.errors import InputFileError, MlciError

DATA_SUFFIXES = (".csv", ".tsv", ".parquet", ".jsonl")
METRIC_SUFFIXES = (".json", ".yaml", ".yml", ".toml")
# Names that hold metrics by convention (metrics.json, eval_scores.yaml, results.toml, ...).
METRIC_NAME = re.compile(r"(metric|score|eval|result)", re.IGNORECASE)
# Directories never searched: tooling, environments, caches, and committed baseline snapshots.
SKIPPED_DIRS = frozenset(
    {
        "node_modules",
        "venv",
        "env",
        "site-packages",
        "__pycache__",
        "mlruns",
        "mlartifacts",
        "baseline",
        "baselines",
        "build",
        "dist",
    }
)
# Files that look like metrics by name but are configuration.
NOT_METRICS = frozenset(
    {"mlci.yaml", "mlci.yml", "dvc.yaml", "dvc.lock", "params.yaml", "package.json"}
)
MAX_DATASETS = 20
MAX_GATES = 8
# Schema inference reads the whole file; larger files get a note instead.
MAX_INFER_BYTES = 200 * 1024 * 1024
WORKFLOW_PATH = ".github/workflows/mlci.yml"
# The reusable workflow the starter workflow calls (docs/github-action.md).
TRAIN_ON_PR = "mlci/mlci/.github/workflows/train-on-pr.yml@v1"


@dataclass
class FoundDataset:
    path: str
    """Relative to the repository root, with forward slashes."""
    schema: str | None = None
    """Where the inferred schema is written (relative), when inference worked."""
    schema_text: str | None = None
    note: str | None = None
    """Why there is no schema."""

    @property
    def name(self) -> str:
        return _stem(self.path)


@dataclass
class FoundMetrics:
    path: str
    values: dict[str, float] = field(default_factory=dict)
    """Numeric metrics in the file now (dotted names), for the gate suggestions."""
    from_dvc: bool = False


@dataclass
class StarterFile:
    path: str
    """Relative to the repository root."""
    text: str


@dataclass
class Starter:
    root: Path
    datasets: list[FoundDataset]
    metrics: list[FoundMetrics]
    gates: list[str]
    """Suggested gates, each a YAML list item, written commented out."""
    train_command: str | None
    extras: list[str]
    files: list[StarterFile] = field(default_factory=list)


def plan_starter(
    root: Path,
    *,
    infer_schemas: bool = True,
    workflow: bool = True,
    train_command: str | None = None,
) -> Starter:
    """Everything `mlci init` would write in `root`, without writing it."""
    datasets = [FoundDataset(path) for path in find_data_files(root)]
    if infer_schemas:
        taken: set[str] = set()
        for dataset in datasets:
            _attach_schema(root, dataset, taken)
    metrics = find_metric_files(root)
    gates = suggest_gates(metrics)
    command = train_command if train_command is not None else guess_train_command(root)
    extras = []
    if datasets:
        extras.append("data")
    if (root / "dvc.yaml").is_file():
        extras.append("dvc")
    starter = Starter(root, datasets, metrics, gates, command or None, extras)
    starter.files.append(StarterFile("mlci.yaml", render_config(starter)))
    for dataset in datasets:
        if dataset.schema and dataset.schema_text is not None:
            starter.files.append(StarterFile(dataset.schema, dataset.schema_text))
    if workflow:
        starter.files.append(StarterFile(WORKFLOW_PATH, render_workflow(starter)))
    return starter


def write_starter(starter: Starter, *, force: bool = False) -> list[Path]:
    """Write the starter files; without `force`, refuse (writing nothing) if any exists."""
    targets = [starter.root / item.path for item in starter.files]
    existing = [
        item.path for item, target in zip(starter.files, targets, strict=True) if target.exists()
    ]
    if existing and not force:
        raise MlciError(
            f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''}",
            hint="pass --force to overwrite",
        )
    for item, target in zip(starter.files, targets, strict=True):
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(item.text, encoding="utf-8")
        except OSError as exc:
            raise InputFileError(f"cannot write: {exc.strerror}", path=target) from None
    return targets


def find_data_files(root: Path) -> list[str]:
    """Data files in the repository, those under a `data`-like directory first."""
    found = [
        path
        for path in _walk(root)
        if _data_suffix(path) and "prediction" not in path.rsplit("/", 1)[-1].lower()
    ]
    found.sort(key=lambda path: (not _in_data_dir(path), path.count("/"), path))
    return found[:MAX_DATASETS]


def find_metric_files(root: Path) -> list[FoundMetrics]:
    """Metric files declared in dvc.yaml, then those named like metrics."""
    from mlci.sources.metric_files import flatten, parse_metrics_text

    declared: list[str] = []
    dvc_yaml = root / "dvc.yaml"
    if dvc_yaml.is_file():
        from mlci.sources.dvc_yaml import parse_dvc_yaml

        declared = parse_dvc_yaml(dvc_yaml.read_bytes(), "dvc.yaml").metrics
    named = [
        path
        for path in _walk(root)
        if path.lower().endswith(METRIC_SUFFIXES)
        and METRIC_NAME.search(path.rsplit("/", 1)[-1])
        and path.rsplit("/", 1)[-1] not in NOT_METRICS
        and path not in declared
    ]
    found: list[FoundMetrics] = []
    for path in [*declared, *sorted(named, key=lambda p: (p.count("/"), p))]:
        entry = FoundMetrics(path, from_dvc=path in declared)
        file = root / path
        if file.is_file():
            try:
                values = flatten(parse_metrics_text(file.read_bytes(), path))
            except MlciError:
                if not entry.from_dvc:
                    continue  # named like metrics but not a metrics file
                values = {}
            entry.values = {
                name: float(value)
                for name, value in values.items()
                if isinstance(value, int | float) and not isinstance(value, bool) and name
            }
            if not entry.values and not entry.from_dvc:
                continue
        found.append(entry)
    return found


def suggest_gates(metrics: list[FoundMetrics]) -> list[str]:
    """A gate per metric whose direction is known, around its current value."""
    from mlci.checks.direction import infer_direction

    gates: list[str] = []
    seen: set[str] = set()
    for entry in metrics:
        for name, value in entry.values.items():
            direction = infer_direction(name)
            if direction is None or name in seen or not math.isfinite(value):
                continue
            seen.add(name)
            metric = _yaml_scalar(name)
            if direction == "higher":
                floor = math.floor(value * 100) / 100
                gates.append(
                    f"- metric: {metric}  # now {value:g}\n  min: {floor:g}\n  max_drop: 0.01"
                )
            else:
                gates.append(f"- metric: {metric}  # now {value:g}\n  max_increase_pct: 5")
            if len(gates) == MAX_GATES:
                return gates
    return gates


def guess_train_command(root: Path) -> str:
    if (root / "dvc.yaml").is_file():
        return "dvc repro"
    for script in ("train.py", "src/train.py", "scripts/train.py"):
        if (root / script).is_file():
            return f"python {script}"
    makefile = root / "Makefile"
    if makefile.is_file() and re.search(r"^train:", makefile.read_text(errors="replace"), re.M):
        return "make train"
    return ""


def infer_schema_text(path: Path) -> str:
    """The schema `mlci schema infer PATH` writes (needs mlci[data])."""
    from mlci.integrations.pandera_schemas import infer_schema, to_yaml
    from mlci.sources.data_files import open_data_file, read_frame

    frame = read_frame(open_data_file(path))
    return str(to_yaml(infer_schema(frame)))


def render_config(starter: Starter) -> str:
    lines = [
        "# mlci config, written by `mlci init`: review it, then run `mlci check`.",
        "# Reference: https://github.com/mlci/mlci#configuration",
        "version: 1",
        "",
    ]
    if starter.datasets:
        lines.append("datasets:")
        for dataset in starter.datasets:
            lines.append(f"  - name: {_yaml_scalar(dataset.name)}")
            lines.append(f"    path: {_yaml_scalar(dataset.path)}")
            if dataset.schema:
                lines.append(
                    f"    schema: {_yaml_scalar(dataset.schema)}"
                    "  # inferred by `mlci schema infer`: tighten it"
                )
            elif dataset.note:
                lines.append(f"    # schema: none yet ({dataset.note})")
    else:
        lines += [
            "# No data files found. Validate a dataset against a pandera schema with:",
            "# datasets:",
            "#   - path: data/train.csv",
            "#     schema: schemas/train.yaml  # mlci schema infer data/train.csv -o ...",
        ]
    lines.append("")
    if starter.metrics:
        lines += ["metrics:", "  files:"]
        for entry in starter.metrics:
            comment = "  # declared in dvc.yaml" if entry.from_dvc else ""
            lines.append(f"    - {_yaml_scalar(entry.path)}{comment}")
    else:
        lines += [
            "# No metrics files found: point mlci at the JSON/YAML/TOML file training writes.",
            "metrics:",
            "  files: []  # e.g. [metrics.json]",
        ]
    lines += [
        "",
        "# Gates decide whether a pull request passes. Uncomment the ones you want; the values",
        "# are suggestions around the current metrics.",
    ]
    if starter.gates:
        lines.append("# gates:")
        for gate in starter.gates:
            lines += [f"#   {line}" for line in gate.splitlines()]
    else:
        lines += ["# gates:", "#   - metric: accuracy", "#     min: 0.9", "#     max_drop: 0.01"]
    return "\n".join(lines) + "\n"


def render_workflow(starter: Starter) -> str:
    lines = [
        "# mlci: train on every pull request, check data and gates, diff the metrics against the",
        "# merge-base, and keep one sticky comment. Docs: "
        "https://github.com/mlci/mlci/blob/main/docs/github-action.md",
        "name: mlci",
        "",
        "on:",
        "  pull_request:",
        "  merge_group: # a merge queue runs the gates on the queued merge, without commenting",
        "",
        "permissions: {}",
        "",
        "# A new push to a pull request cancels the run of the push before it.",
        "concurrency:",
        "  group: mlci-${{ github.event.pull_request.number || github.ref }}",
        "  cancel-in-progress: true",
        "",
        "jobs:",
        "  mlci:",
        "    permissions:",
        "      contents: read",
        "      pull-requests: write # the sticky mlci comment",
        f"    uses: {TRAIN_ON_PR}",
        "    with:",
    ]
    if starter.train_command:
        lines.append(f"      train-command: {_yaml_scalar(starter.train_command)}")
    else:
        lines.append(
            "      # train-command: python train.py  # the command that writes the metrics"
        )
    if starter.extras:
        lines.append(f"      extras: {','.join(starter.extras)}")
    lines.append("      # requirements: requirements.txt")
    return "\n".join(lines) + "\n"


def _attach_schema(root: Path, dataset: FoundDataset, taken: set[str]) -> None:
    file = root / dataset.path
    if file.stat().st_size > MAX_INFER_BYTES:
        dataset.note = f"over {MAX_INFER_BYTES // 2**20} MB: run `mlci schema infer` on a sample"
        return
    try:
        dataset.schema_text = infer_schema_text(file)
    except MlciError as error:
        dataset.note = error.hint or error.message
        return
    stem = dataset.name
    candidate = f"schemas/{stem}.yaml"
    if candidate in taken:
        parent = dataset.path.rsplit("/", 2)[-2] if "/" in dataset.path else "root"
        candidate = f"schemas/{parent}-{stem}.yaml"
    taken.add(candidate)
    dataset.schema = candidate


def _walk(root: Path) -> list[str]:
    """Files under `root` (relative, sorted), skipping hidden and tooling directories."""
    found: list[str] = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(
            name for name in subdirs if not name.startswith(".") and name not in SKIPPED_DIRS
        )
        relative = Path(directory).relative_to(root).as_posix()
        prefix = "" if relative == "." else f"{relative}/"
        found.extend(f"{prefix}{name}" for name in sorted(files) if not name.startswith("."))
    return found


def _data_suffix(path: str) -> bool:
    lowered = path.lower()
    if lowered.endswith(".gz"):
        lowered = lowered[:-3]
    return lowered.endswith(DATA_SUFFIXES)


def _in_data_dir(path: str) -> bool:
    return any(part.lower() in ("data", "datasets", "dataset") for part in path.split("/")[:-1])


def _stem(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    if name.lower().endswith(".gz"):
        name = name[:-3]
    return name.rsplit(".", 1)[0] if "." in name else name


def _yaml_scalar(text: str) -> str:
    """`text` as a YAML scalar: plain when that reads back the same, else JSON-quoted."""
    if re.fullmatch(r"[A-Za-z0-9_./@+-][A-Za-z0-9_./@+ -]*", text) and not text.endswith(" "):
        import yaml

        if yaml.safe_load(text) == text:
            return text
    return json.dumps(text)
