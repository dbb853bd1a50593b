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
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mlci.errors import InputFileError, MlciError

if TYPE_CHECKING:
    from mlci.sources.dvc_yaml import DvcDeclarations

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
class FoundPredictions:
    path: str
    """A per-example predictions file with the columns the significance gate reads."""


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
    dvc: bool = False
    """A DVC project: metrics and params come from its dvc.yaml files."""
    params: list[str] = field(default_factory=list)
    """Params files for `metrics.params` (params.yaml outside DVC projects)."""
    predictions: FoundPredictions | None = None
    requirements: str | None = None
    """The requirements file the workflow installs before training."""
    dvc_remote: str | None = None
    """The scheme of the default DVC remote (s3, gs, azure, ...), when one is configured."""
    calls_mlci: bool = False
    """Training runs `mlci evaluate`, so mlci is installed before training."""
    notes: list[str] = field(default_factory=list)
    """What the user should know (metrics that could not be read, ...)."""

    @property
    def remote_secrets(self) -> tuple[str, ...]:
        """The secrets the workflow passes to `dvc pull` for this repository's remote."""
        return DVC_REMOTE_SECRETS.get(self.dvc_remote or "", ()) if self.dvc else ()


def plan_starter(
    root: Path,
    *,
    infer_schemas: bool = True,
    workflow: bool = True,
    train_command: str | None = None,
) -> Starter:
    """Everything `mlci init` would write in `root`, without writing it."""
    from mlci.sources.metrics import dvc_declarations

    declared = dvc_declarations(root)
    datasets = [FoundDataset(path) for path in find_data_files(root, declared)]
    if infer_schemas:
        taken: set[str] = set()
        for dataset in datasets:
            _attach_schema(root, dataset, taken)
    notes: list[str] = []
    metrics = find_metric_files(root, declared, notes)
    predictions = find_predictions(root, declared)
    gates = suggest_gates(metrics, predictions)
    command = train_command if train_command is not None else guess_train_command(root)
    extras = []
    requirements = find_requirements(root)
    training_calls_mlci = calls_mlci(root) and not _installs_mlci(root, requirements)
    if training_calls_mlci:
        extras.append("sklearn")  # `mlci evaluate`; it brings mlci[data] too
    elif datasets or (predictions and any("significance:" in gate for gate in gates)):
        extras.append("data")
    if declared is not None:
        extras.append("dvc")
    starter = Starter(
        root,
        datasets,
        metrics,
        gates,
        command or None,
        extras,
        dvc=declared is not None,
        params=["params.yaml"] if declared is None and (root / "params.yaml").is_file() else [],
        predictions=predictions,
        requirements=requirements,
        dvc_remote=dvc_remote_scheme(root) if declared is not None else None,
        calls_mlci=training_calls_mlci,
        notes=notes,
    )
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


def find_data_files(root: Path, declared: DvcDeclarations | None = None) -> list[str]:
    """Data files in the repository: never what a DVC stage produces; what stages read first,
    then those under a `data`-like directory."""
    outs = declared.outs if declared else []
    deps = declared.deps if declared else []
    found = [
        path
        for path in _walk(root)
        if _data_suffix(path)
        and "prediction" not in path.rsplit("/", 1)[-1].lower()
        and not _under(path, outs)
    ]
    found.sort(
        key=lambda path: (not _under(path, deps), not _in_data_dir(path), path.count("/"), path)
    )
    return found[:MAX_DATASETS]


def find_metric_files(
    root: Path, declared: DvcDeclarations | None = None, notes: list[str] | None = None
) -> list[FoundMetrics]:
    """Metric files the dvc.yaml files declare (read as `dvc metrics show` reads them, from the
    DVC cache when they are inside an output), then other files named like metrics."""
    from mlci.sources.metric_files import flatten, parse_metrics_text

    found: list[FoundMetrics] = []
    if declared is not None:
        from mlci.sources.metrics import FileSource, load_metrics

        current = load_metrics(FileSource(root), None)
        for missing in current.unavailable:
            if notes is not None:
                notes.append(f"{missing.message(current.label)}: {missing.hint}")
        for path in declared.metrics:
            entry = FoundMetrics(path, from_dvc=True)
            entry.values = _numbers(flatten(current.data.get(path, {})))
            found.append(entry)
    taken = set(declared.metrics if declared else []) | set(declared.outs if declared else [])
    named = [
        path
        for path in _walk(root)
        if path.lower().endswith(METRIC_SUFFIXES)
        and METRIC_NAME.search(path.rsplit("/", 1)[-1])
        and path.rsplit("/", 1)[-1] not in NOT_METRICS
        and path not in taken
        and not (declared and _under(path, declared.outs))
    ]
    for path in sorted(named, key=lambda p: (p.count("/"), p)):
        try:
            values = _numbers(flatten(parse_metrics_text((root / path).read_bytes(), path)))
        except (MlciError, OSError):
            continue  # named like metrics but not a metrics file
        if values:
            found.append(FoundMetrics(path, values))
    return found


def find_predictions(
    root: Path, declared: DvcDeclarations | None = None
) -> FoundPredictions | None:
    """A committed per-example predictions CSV with `id`, `target` and `prediction` columns
    (what `mlci evaluate --predictions` writes), for a significance gate."""
    outs = declared.outs if declared else []
    for path in _walk(root):
        name = path.rsplit("/", 1)[-1].lower()
        if "prediction" not in name or not name.endswith((".csv", ".tsv")) or _under(path, outs):
            continue
        try:
            with (root / path).open(encoding="utf-8", errors="replace") as handle:
                header = handle.readline().strip()
        except OSError:
            continue
        columns = {column.strip() for column in re.split(r"[,\t]", header)}
        if {"id", "target", "prediction"} <= columns:
            return FoundPredictions(path)
    return None


def suggest_gates(
    metrics: list[FoundMetrics], predictions: FoundPredictions | None = None
) -> list[str]:
    """A gate per metric this repository has whose direction is known, with limits that leave
    room below (above) the current value, and a significance test on the first metric the
    predictions file can test."""
    from mlci.checks.direction import infer_direction

    counts: dict[str, int] = {}
    for entry in metrics:
        for name in entry.values:
            counts[name] = counts.get(name, 0) + 1
    gates: list[str] = []
    seen: set[tuple[str, str]] = set()
    tested = predictions is None
    for entry in metrics:
        # Held-out metrics first: `avg_prec.test` before `avg_prec.train`.
        for name, value in sorted(entry.values.items(), key=lambda item: _on_training(item[0])):
            direction = infer_direction(name)
            if direction is None or (entry.path, name) in seen or not math.isfinite(value):
                continue
            seen.add((entry.path, name))
            lines = [f"- metric: {_yaml_scalar(name)}  # now {value:g}"]
            if counts[name] > 1:
                lines.append(f"  path: {_yaml_scalar(entry.path)}")
            if direction == "higher":
                lines += [f"  min: {_room_below(value):g}", "  max_drop: 0.02"]
            else:
                lines.append("  max_increase_pct: 10")
            if not tested and predictions is not None and _testable(name):
                lines += ["  significance:", f"    predictions: {_yaml_scalar(predictions.path)}"]
                tested = True
            gates.append("\n".join(lines))
            if len(gates) == MAX_GATES:
                return gates
    return gates


def _on_training(name: str) -> bool:
    return any(part in ("train", "training") for part in re.split(r"[^a-z0-9]+", name.lower()))


def _room_below(value: float) -> float:
    """A floor 5% of the value (at least 0.01) below it, rounded down to 2 decimals: the gate
    holds the current model and fails a clear drop, not noise."""
    margin = max(abs(value) * 0.05, 0.01)
    return math.floor((value - margin) * 100) / 100


def _testable(name: str) -> bool:
    try:
        from mlci.checks.stats import statistic_for
    except ImportError:  # pragma: no cover - numpy comes with mlci[data]
        return False
    return statistic_for(name) is not None


def _numbers(values: Mapping[str, object]) -> dict[str, float]:
    return {
        name: float(value)
        for name, value in values.items()
        if isinstance(value, int | float) and not isinstance(value, bool) and name
    }


def _under(path: str, directories: list[str]) -> bool:
    return any(path == top or path.startswith(top.rstrip("/") + "/") for top in directories)


REQUIREMENTS = ("requirements.txt", "src/requirements.txt", "requirements/main.txt")


def find_requirements(root: Path) -> str | None:
    """The requirements file training needs: at the top, in src/, or the only one found."""
    for candidate in REQUIREMENTS:
        if (root / candidate).is_file():
            return candidate
    found = [
        path
        for path in _walk(root)
        if re.fullmatch(r"requirements[\w.-]*\.txt", path.rsplit("/", 1)[-1])
        and "dev" not in path.rsplit("/", 1)[-1]
        and "test" not in path.rsplit("/", 1)[-1]
    ]
    return min(found, key=lambda path: (path.count("/"), path)) if found else None


def dvc_remote_scheme(root: Path) -> str | None:
    """The URL scheme of the default DVC remote (`s3`, `gs`, `azure`, ... or `local`)."""
    from mlci.sources.dvc_cache import dvc_config

    config = dvc_config(root)
    name = config.get("core", {}).get("remote")
    url = config.get(f'remote "{name}"', {}).get("url", "") if name else ""
    if not url:
        return None
    return url.split("://", 1)[0].lower() if "://" in url else "local"


def _installs_mlci(root: Path, requirements: str | None) -> bool:
    if requirements is None:
        return False
    try:
        text = (root / requirements).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return re.search(r"^\s*mlci\b", text, re.MULTILINE) is not None


def calls_mlci(root: Path) -> bool:
    """Whether training runs mlci (`mlci evaluate` in a script, dvc.yaml or Makefile)."""
    for path in _walk(root):
        name = path.rsplit("/", 1)[-1]
        if not (name.endswith((".py", ".sh")) or name in ("dvc.yaml", "Makefile")):
            continue
        try:
            text = (root / path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if re.search(r"\bmlci\b[\"', ]+evaluate|\bmlci\.cli\b", text):
            return True
    return False


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
    own = [entry for entry in starter.metrics if not entry.from_dvc]
    if starter.dvc:
        declared = [entry.path for entry in starter.metrics if entry.from_dvc]
        lines.append("# Metrics and params come from dvc.yaml, as `dvc metrics diff` reads them")
        lines.append(f"# (every dvc.yaml in the repository){':' if declared else '.'}")
        lines += [f"#   {path}" for path in declared]
    if own or starter.params:
        lines.append("metrics:")
        if own:
            lines.append("  files:")
            lines += [f"    - {_yaml_scalar(entry.path)}" for entry in own]
        if starter.params:
            lines.append("  params:")
            lines += [f"    - {_yaml_scalar(path)}" for path in starter.params]
    elif not starter.dvc:
        lines += [
            "# No metrics files found: point mlci at the JSON/YAML/TOML file training writes.",
            "metrics:",
            "  files: []  # e.g. [metrics.json]",
        ]
    lines += [
        "",
        "# Pull requests are compared with their merge-base: mlci reads the same metrics (and",
        "# predictions) files there, so commit them (or track them with DVC and push), or compare",
        '# with a snapshot directory or MLflow instead (docs/gates.md, "Baselines").',
        "",
        "# Gates decide whether a pull request passes. Uncomment the ones you want; the limits",
        "# leave room below the current metrics, so noise does not fail a pull request.",
    ]
    if starter.gates:
        lines.append("# gates:")
        for gate in starter.gates:
            lines += [f"#   {line}" for line in gate.splitlines()]
    else:
        lines += ["# gates:", "#   - metric: accuracy", "#     min: 0.9", "#     max_drop: 0.02"]
    return "\n".join(lines) + "\n"


# DVC remote URL scheme -> the pip extra of DVC that reads it.
DVC_REMOTE_EXTRAS = {
    "s3": "s3",
    "gs": "gs",
    "azure": "azure",
    "gdrive": "gdrive",
    "ssh": "ssh",
    "hdfs": "hdfs",
    "webdav": "webdav",
    "webdavs": "webdav",
    "oss": "oss",
}
# DVC remote URL scheme -> the secrets the reusable workflow passes to `dvc pull`.
DVC_REMOTE_SECRETS = {
    "s3": ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
    "gs": ("GCP_CREDENTIALS",),
    "azure": ("AZURE_STORAGE_CONNECTION_STRING",),
}


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
    if starter.requirements is None:
        lines.append("      # requirements: requirements.txt")
    elif starter.requirements != "requirements.txt":
        lines.append(f"      requirements: {_yaml_scalar(starter.requirements)}")
    if starter.dvc:
        scheme = starter.dvc_remote
        extra = DVC_REMOTE_EXTRAS.get(scheme or "")
        lines.append(f"      dvc: {_yaml_scalar(f'dvc[{extra}]' if extra else 'dvc')}")
        if scheme is not None:
            lines.append("      dvc-pull: true  # the data and outputs from the DVC remote")
    if starter.remote_secrets:
        lines.append("    secrets:  # the DVC remote's credentials (Settings > Secrets > Actions)")
        lines += [f"      {name}: ${{{{ secrets.{name} }}}}" for name in starter.remote_secrets]
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
    """Regular files under `root` (relative, sorted), skipping hidden and tooling directories,
    and what is no file to read (a symlink loop or to nowhere, a device such as /dev/zero)."""
    found: list[str] = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(
            name for name in subdirs if not name.startswith(".") and name not in SKIPPED_DIRS
        )
        relative = Path(directory).relative_to(root).as_posix()
        prefix = "" if relative == "." else f"{relative}/"
        found.extend(
            f"{prefix}{name}"
            for name in sorted(files)
            if not name.startswith(".") and _regular_file(os.path.join(directory, name))
        )
    return found


def _regular_file(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


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
