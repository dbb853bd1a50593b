"""A corpus of bad and hostile inputs, as a new user and an attacker would give them: each case
is real files in a real git repository and one mlci command line, and asserts the exit code,
one line on stderr naming the file, and no traceback. Cases are in the issue's order of
severity: non-finite limits, schema modules that exit, interrupted and truncated reads,
YAML bombs, then the internal errors and the lower-severity ones."""

from __future__ import annotations

import gzip
import json
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import GitRepo

GATE = "metrics:\n  files: [m.json]\ngates:\n  - metric: accuracy\n    {rule}\n"
SIGNIFICANCE = "significance: {{predictions: p.csv, {key}}}"
DRIFT = (
    "datasets:\n  - path: d.csv\n    schema: s.yaml\n    drift: {{{key}}}\n"
    "metrics:\n  files: [m.json]\n"
)
BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8)
)
DEEP_JSON = '{"a": ' * 3_000 + "1" + "}" * 3_000
SCHEMA = """\
schema_type: dataframe
version: 0.20.0
columns:
  a:
    dtype: int64
    nullable: false
    checks: null
    unique: false
    coerce: false
    required: true
    regex: false
checks: null
index: null
coerce: false
strict: false
unique: null
"""


def corrupt_gzip(text: str) -> bytes:
    """A gzip file whose deflate stream is broken in the middle (the header is fine)."""
    data = bytearray(gzip.compress(text.encode() * 50))
    data[20:40] = b"\xff" * 20
    return bytes(data)


def truncated_gzip(text: str) -> bytes:
    data = gzip.compress(text.encode() * 200)
    return data[: len(data) // 2]


@dataclass
class Case:
    id: str
    args: tuple[str, ...]
    says: str
    """What the one error line holds: the file's name (and line), and the problem."""
    files: dict[str, str | bytes] = field(default_factory=dict)
    """Written and committed as the base revision."""
    head: dict[str, str | bytes] = field(default_factory=dict)
    """Written after the commit: the pull request's work tree."""
    code: int = 2
    setup: Callable[[Path], None] | None = None
    needs: str | None = None
    env: dict[str, str] = field(default_factory=dict)


def symlink(name: str, target: str) -> Callable[[Path], None]:
    def make(root: Path) -> None:
        (root / name).unlink(missing_ok=True)
        os.symlink(target, root / name)

    return make


def symlinks(*pairs: tuple[str, str]) -> Callable[[Path], None]:
    def make(root: Path) -> None:
        for name, target in pairs:
            symlink(name, target)(root)

    return make


METRICS = {"m.json": '{"accuracy": 0.9}'}
DATA = {"d.csv": "a\n1\n2\n", "s.yaml": SCHEMA}


def significance_setting(name: str, setting: str) -> Case:
    """An accuracy gate whose `significance:` holds `setting`, which the config refuses."""
    return Case(
        f"significance-{name}",
        ("gate",),
        "mlci.yaml:5",
        files={**METRICS, "mlci.yaml": GATE.format(rule=SIGNIFICANCE.format(key=setting))},
    )


CASES = [
    # 1. non-finite limits are config errors
    *(
        Case(
            f"gate-{name}",
            ("gate",),
            f"mlci.yaml:5:{col}: gates[0].{key}",
            files={**METRICS, "mlci.yaml": GATE.format(rule=f"{key}: {value}")},
        )
        for name, key, value, col in [
            ("min-nan", "min", ".nan", 10),
            ("max-inf", "max", ".inf", 10),
            ("min-relative-change-nan", "min_relative_change", ".nan", 26),
            ("max-drop-inf", "max_drop", ".Inf", 15),
        ]
    ),
    significance_setting("tolerance-nan", "tolerance: .nan"),
    significance_setting("confidence-nan", "confidence: .nan"),
    *(
        Case(
            f"drift-{key.replace('_', '-')}-nan",
            ("validate",),
            "mlci.yaml:4",
            files={**DATA, **METRICS, "mlci.yaml": DRIFT.format(key=f"{key}: .nan")},
        )
        for key in ("max_ks", "max_psi")
    ),
    Case(
        "huge-integer-limit",
        ("gate",),
        "mlci.yaml:5",
        files={**METRICS, "mlci.yaml": GATE.format(rule="min: 1" + "0" * 400)},
    ),
    # 2. a schema module that exits at import
    *(
        Case(
            f"schema-module-{name}",
            ("validate", "d.csv", "--schema", "schemas:S"),
            "schemas",
            files={**DATA, "schemas.py": body},
            needs="pandera",
        )
        for name, body in [
            ("sys-exit-0", "import sys\nsys.exit(0)\n"),
            ("sys-exit-3", "raise SystemExit(3)\n"),
        ]
    ),
    # 3. a truncated or corrupt gzip at the base revision
    *(
        Case(
            f"csv-gz-{name}-at-base",
            ("check",),
            "d.csv.gz",
            needs="pandera",
            files={
                "d.csv.gz": broken("a\n1\n"),
                "s.yaml": SCHEMA,
                **METRICS,
                "mlci.yaml": DRIFT.replace("d.csv", "d.csv.gz").format(key="max_ks: 0.5"),
            },
            head={"d.csv.gz": gzip.compress(b"a\n1\n2\n")},
        )
        for name, broken in [("truncated", truncated_gzip), ("corrupt", corrupt_gzip)]
    ),
    # 4. YAML alias bombs
    Case("alias-bomb-config", ("gate",), "mlci.yaml", files={"mlci.yaml": BOMB}),
    Case(
        "alias-bomb-schema",
        ("validate", "d.csv", "--schema", "bomb.yaml"),
        "bomb.yaml",
        files={**DATA, "bomb.yaml": "columns:\n  " + BOMB.replace("\n", "\n  ")},
        needs="pandera",
    ),
    # 7. other internal errors on bad input
    Case(
        "config-nested-deep",
        ("gate",),
        "mlci.yaml",
        files={"mlci.yaml": "metrics: " + "[" * 3_000 + "]" * 3_000 + "\n"},
    ),
    Case(
        "metrics-json-nested-deep",
        ("diff", "--targets", "m.json"),
        "m.json",
        files=METRICS,
        head={"m.json": DEEP_JSON},
    ),
    Case(
        "metrics-toml-nested-deep",
        ("diff", "--targets", "m.toml"),
        "m.toml",
        files={"m.toml": "a = 1\n"},
        head={"m.toml": "[" + ".".join(["a"] * 3_000) + "]\nx = 1\n"},
    ),
    Case(
        "metrics-integer-over-1e308",
        ("diff", "--targets", "m.json"),
        "m.json",
        files=METRICS,
        head={"m.json": '{"accuracy": 1' + "0" * 400 + "}"},
    ),
    Case(
        "gate-on-integer-over-1e308",
        ("gate",),
        "m.json",
        code=2,
        files={**METRICS, "mlci.yaml": GATE.format(rule="max_drop: 0.1")},
        head={"m.json": '{"accuracy": 1' + "0" * 400 + "}"},
    ),
    Case(
        "metrics-symlink-loop",
        ("diff", "--targets", "loop.json"),
        "loop.json",
        setup=symlink("loop.json", "loop.json"),
    ),
    Case(
        "metrics-dev-zero",
        ("diff", "--targets", "z.json"),
        "z.json",
        setup=symlink("z.json", "/dev/zero"),
    ),
    Case(
        "config-symlink-loop",
        ("-c", "loop.yaml", "gate"),
        "loop.yaml",
        setup=symlink("loop.yaml", "loop.yaml"),
    ),
    Case(
        "config-dev-zero", ("-c", "z.yaml", "gate"), "z.yaml", setup=symlink("z.yaml", "/dev/zero")
    ),
    Case(
        "revision-with-a-space",
        ("diff", "HEAD main", "--targets", "m.json"),
        "HEAD main",
        files=METRICS,
    ),
    Case(
        "base-with-a-space",
        ("gate", "--base", "HEAD main"),
        "git revision 'HEAD main' does not exist",
        files={**METRICS, "mlci.yaml": GATE.format(rule="max_drop: 0.1")},
    ),
    *(
        Case(
            f"named-revision-missing-{name}",
            args,
            "git revision 'BADREV' does not exist",
            files={**METRICS, "mlci.yaml": GATE.format(rule="min: 0.5")},
        )
        for name, args in [
            ("gate-base", ("gate", "--base", "BADREV")),  # a min rule needs no base
            ("check-base", ("check", "--base", "BADREV")),
            ("diff-base", ("diff", "BADREV")),
            ("diff-head", ("diff", "HEAD", "BADREV")),
        ]
    ),
    Case(
        "named-revision-missing-baseline-rev",
        ("gate",),
        "mlci.yaml: baseline.rev: git revision 'BADREV' does not exist",
        files={
            **METRICS,
            "mlci.yaml": GATE.format(rule="min: 0.5") + "baseline:\n  rev: BADREV\n",
        },
    ),
    Case(
        "named-revision-missing-check-datasets-only",
        ("check", "--base", "BADREV"),
        "git revision 'BADREV' does not exist",
        needs="pandera",
        files={**DATA, "mlci.yaml": "datasets:\n  - path: d.csv\n    schema: s.yaml\n"},
    ),
    Case(
        "schema-diff-revision-with-a-space",
        ("schema", "diff", "a b:s.yaml", "s.yaml"),
        "a b",
        files=DATA,
        needs="pandera",
    ),
    *(
        Case(
            f"corrupt-{suffix}-{engine}",
            ("validate", f"d.{suffix}", "--schema", "s.yaml", "--engine", engine),
            f"d.{suffix}",
            files={**DATA, f"d.{suffix}": corrupt_gzip(text)},
            needs="pandera",
        )
        for suffix, text in [("json.gz", '[{"a": 1}]'), ("jsonl.gz", '{"a": 1}\n')]
        for engine in ("pandas", "polars")
    ),
    significance_setting("seed-negative", "seed: -1"),
    significance_setting("resamples-1e9", "resamples: 1000000000"),
    significance_setting("resamples-1e20", "resamples: 1e20"),
    Case(
        "baseline-dir-is-a-file",
        ("diff",),
        "m.json",
        files={
            **METRICS,
            "mlci.yaml": "metrics:\n  files: [m.json]\nbaseline:\n  source: files\n  dir: m.json\n",
        },
    ),
    Case(
        "template-range-too-big",
        ("check", "-o", "r.md"),
        "t.md.j2",
        files={
            **METRICS,
            "t.md.j2": "{{ range(10**9) | list }}",
            "mlci.yaml": "metrics:\n  files: [m.json]\nreport:\n  template: t.md.j2\n",
        },
    ),
    *(
        Case(
            f"{section}-remote-is-a-git-option",
            ("diff",),
            f"{section} remote '--upload-pack=touch PWNED' is not a git remote name",
            files={
                **METRICS,
                "mlci.yaml": f"metrics:\n  files: [m.json]\n{section}:\n"
                "  remote: '--upload-pack=touch PWNED'\n",
            },
        )
        for section in ("history", "baseline")
    ),
    Case(
        "config-integer-of-5000-digits",
        ("gate",),
        "mlci.yaml:5: config file is not valid YAML: Exceeds the limit (4300 digits)",
        files={**METRICS, "mlci.yaml": GATE.format(rule="min: 1" + "0" * 5_000)},
    ),
    Case(
        "schema-integer-of-5000-digits",
        ("validate", "d.csv", "--schema", "s.yaml"),
        "s.yaml:8: schema file is not valid YAML: Exceeds the limit (4300 digits)",
        needs="pandera",
        files={
            **DATA,
            "s.yaml": SCHEMA.replace(
                "    checks: null\n", "    checks:\n      ge: 1" + "0" * 5_000 + "\n", 1
            ),
        },
    ),
    Case(
        "event-integer-of-5000-digits",
        ("comment", "--body-file", "b.md", "--repo", "o/r"),
        "event.json: GitHub event payload is not valid JSON: Exceeds the limit (4300 digits)",
        files={"b.md": "hi", "event.json": '{"pull_request": {"number": 1' + "0" * 5_000 + "}}"},
        env={"GITHUB_EVENT_PATH": "event.json", "GITHUB_TOKEN": "t"},
    ),
    Case(
        "report-merge-nested-deep",
        ("report", "merge", "r.json"),
        "r.json: not a JSON report: nested too deeply",
        files={"r.json": "[" * 100_000 + "]" * 100_000},
    ),
    Case(
        "report-merge-integer-of-5000-digits",
        ("report", "merge", "r.json"),
        "r.json: not a JSON report: Exceeds the limit (4300 digits)",
        files={"r.json": '{"schema_version": 1, "title": "x", "n": 1' + "0" * 5_000 + "}"},
    ),
    Case(
        "init-with-a-symlink-loop-and-a-device",
        ("init", "--no-workflow"),
        "wrote mlci.yaml",
        code=0,
        files={"data/d.csv": "a\n1\n"},
        setup=symlinks(("data/loop.csv", "loop.csv"), ("data/zero.csv", "/dev/zero")),
    ),
    Case(
        "train-cache-dir-not-writable",
        ("train",),
        "/proc/x: cannot store the outputs in the train cache",
        files={
            **METRICS,
            "mlci.yaml": "train:\n  command: echo x > o.txt\n  inputs: [m.json]\n"
            "  outputs: [o.txt]\n  cache_dir: /proc/x\n",
        },
    ),
    Case(
        "template-the-sandbox-refuses",
        ("check", "-o", "r.md"),
        "t.md.j2: report template failed: SecurityError",
        files={
            **METRICS,
            "t.md.j2": "{{ report.__class__.__init__.__globals__ }}",
            "mlci.yaml": "metrics:\n  files: [m.json]\nreport:\n  template: t.md.j2\n",
        },
    ),
    Case(
        "mlflow-uri-unsupported-scheme",
        ("diff",),
        "gopher://",
        needs="mlflow",
        files={
            **METRICS,
            "mlci.yaml": "metrics:\n  files: [m.json]\nmlflow:\n  tracking_uri: gopher://x\n"
            "baseline:\n  source: mlflow\n  mlflow:\n    run: abc\n",
        },
    ),
    Case(
        "token-not-latin-1",
        ("comment", "--body-file", "b.md", "--repo", "o/r", "--pr", "7"),
        "GITHUB_TOKEN",
        files={"b.md": "hi"},
        env={"GITHUB_TOKEN": "ghp_✓"},
    ),
    Case(
        "event-nested-deep",
        ("comment", "--body-file", "b.md", "--repo", "o/r"),
        "event.json",
        files={"b.md": "hi", "event.json": "[" * 100_000 + "]" * 100_000},
        env={"GITHUB_EVENT_PATH": "event.json", "GITHUB_TOKEN": "t"},
    ),
    # 8. lower severity
    Case(
        "repo-dot-dot",
        ("comment", "--body-file", "b.md", "--repo", "../..", "--pr", "7"),
        "'../..' is not OWNER/NAME",
        files={"b.md": "hi"},
        env={"GITHUB_TOKEN": "t"},
    ),
    Case(
        "nul-in-config",
        ("gate",),
        "mlci.yaml:2",
        files={"mlci.yaml": "metrics:\n  files: [m.json]\x00\n", **METRICS},
    ),
    Case("diff-json-and-md", ("diff", "--json", "--md"), "--json", files=METRICS),
    *(
        Case(
            f"csv-{name}-{engine}{'-chunked' if chunked else ''}",
            ("validate", "d.csv", "--schema", "s.yaml", "--engine", engine)
            + (("--chunksize", "1") if chunked else ()),
            says,
            files={"s.yaml": SCHEMA, "d.csv": text},
            needs="pandera",
        )
        for name, text, says in [
            (
                "ragged-after-quoted-newline",
                'a,b\n1,"x\ny"\n2,3\n3,4,5\n',
                "d.csv:5: row has 3 fields, the header has 2",
            ),
            ("every-row-one-field-more", "a,b\n1,2,3\n4,5,6\n", "d.csv:2: row has 3 fields"),
            ("separator-ending-every-row", "a,b\n1,2,\n4,5,\n", "d.csv:2: row has 3 fields"),
        ]
        for engine, chunked in [("pandas", False), ("pandas", True), ("polars", False)]
    ),
    Case(
        "predictions-every-row-one-field-more",
        ("gate",),
        "p.csv:2: row has 4 fields, the header has 3",
        needs="pandas",
        files={
            "m.json": '{"mae": 0.5}',
            "mlci.yaml": GATE.replace("accuracy", "mae").format(
                rule="significance: {predictions: p.csv, base_predictions: p.csv}"
            ),
            "p.csv": "id,target,prediction\n" + "".join(f"{i},{i},1,2\n" for i in range(9)),
        },
    ),
    Case(
        "body-file-empty",
        ("comment", "--body-file", "b.md", "--repo", "o/r", "--pr", "7"),
        "b.md: comment body is empty",
        files={"b.md": "\n"},
        env={"GITHUB_TOKEN": "t"},
    ),
]


PREDICTIONS = "id,target,prediction\n" + "".join(f"{i},{i % 7},{i % 5}\n" for i in range(50))
MAE_GATE = GATE.replace("accuracy", "mae").format(
    rule="significance: {predictions: p.csv, base_predictions: b.csv, resamples: 1000}"
)


def model(kind: str) -> Callable[[Path], None]:
    """A scikit-learn model saved with joblib, and data to evaluate it on."""

    def make(root: Path) -> None:
        import joblib
        from sklearn.linear_model import LinearRegression, LogisticRegression

        x = [[i] for i in range(20)]
        if kind == "regressor":
            fitted: Any = LinearRegression().fit(x, [i * 0.5 for i in range(20)])
        else:
            fitted = LogisticRegression().fit(x, [i % 2 for i in range(20)])
        joblib.dump(fitted, root / "model.joblib")

    return make


ODD_MODEL = """\
import sys

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin


class Odd(ClassifierMixin, BaseEstimator):
    \"\"\"A classifier whose predict() returns what `kind` says.\"\"\"

    def __init__(self, kind="none"):
        self.kind = kind

    def fit(self, x, y):
        self.classes_ = np.array([0, 1])
        return self

    def predict(self, x):
        if self.kind == "exit":
            sys.exit(0)
        return {
            "none": None,
            "str": "abc",
            "generator": (i % 2 for i in range(len(x))),
            "short": [0],
            "table": np.zeros((len(x), 2)),
            "nan": np.full(len(x), np.nan),
            "proba": np.zeros(len(x), dtype=int),
        }[self.kind]

    def predict_proba(self, x):
        raise RuntimeError("boom")


class OddRegressor(RegressorMixin, Odd):
    pass


class ExitsWhenLoaded:
    def __reduce__(self):
        return (sys.exit, (0,))
"""


def odd_model(expression: str) -> Callable[[Path], None]:
    """A model file pickling `expression` (over odd_model.py, which the child imports too)."""

    def make(root: Path) -> None:
        (root / "odd_model.py").write_text(ODD_MODEL)
        subprocess.run(
            [sys.executable, "-c", f"import joblib, odd_model as m; joblib.dump({expression}, "
             "'model.joblib')"],
            cwd=root, check=True, timeout=60,
        )  # fmt: skip

    return make


EVALUATE = ("evaluate", "--model", "model.joblib", "--data", "e.csv", "--target", "y")
LABELS = "x,y\n1,0\n2,1\n"
"""e.csv for a classifier: two rows of the classes 0 and 1."""


def evaluating(
    name: str,
    says: str,
    setup: Callable[[Path], None],
    *,
    data: str = LABELS,
    args: tuple[str, ...] = (),
) -> Case:
    """`mlci evaluate` of the model.joblib that `setup` writes, on e.csv holding `data`."""
    return Case(f"evaluate-{name}", (*EVALUATE, *args), says, needs="sklearn", setup=setup,
                files={"e.csv": data})  # fmt: skip


def odd(kind: str, cls: str = "Odd") -> Callable[[Path], None]:
    """odd_model.py's `cls` whose predict() does what `kind` says."""
    return odd_model(f"m.{cls}({kind!r}).fit(None, None)")


def significance_on(name: str, p_csv: str, statistic: str = "") -> Case:
    """A significance gate on MAE whose head predictions are `p_csv`."""
    return Case(
        f"significance-{name}",
        ("gate",),
        "p.csv",
        needs="pandas",
        files={
            "m.json": '{"mae": 0.5}',
            "mlci.yaml": MAE_GATE.replace("resamples", f"{statistic}resamples"),
            "b.csv": PREDICTIONS,
            "p.csv": p_csv,
        },
    )


CASES += [
    *(
        evaluating(
            f"predict-returns-{kind}",
            f"e.csv: the model's predict() returned {says}, not one value per row (2 rows)",
            odd(kind),
        )
        for kind, says in [
            ("none", "None"),
            ("str", "a str"),
            ("generator", "a generator"),
            ("short", "an array of shape (1,)"),
            ("table", "an array of shape (2, 2)"),
        ]
    ),
    evaluating(
        "regressor-predicts-nan",
        "e.csv: the model's predict() returned 2 value(s) that are NaN or infinite",
        odd("nan", "OddRegressor"),
        data="x,y\n1,0.5\n2,1.5\n",
    ),
    evaluating(
        "predict-proba-raises",
        "e.csv: the model's predict_proba() failed on this data (boom)",
        odd("proba"),
    ),
    evaluating(
        "predict-calls-sys-exit",
        "e.csv: the model cannot predict on this data (it called sys.exit(0))",
        odd("exit"),
    ),
    evaluating(
        "model-calls-sys-exit-when-loaded",
        "model.joblib: cannot load the model (it called sys.exit(0))",
        odd_model("m.ExitsWhenLoaded()"),
    ),
    evaluating(
        "predictions-under-a-file",
        "e.csv/p.csv: cannot write predictions",
        model("classifier"),
        args=("--predictions", "e.csv/p.csv"),
    ),
    Case(
        "evaluate-predictions-in-a-missing-directory",
        ("evaluate", "--predictions", "nowhere/p.csv", "--target", "target"),
        "nowhere/p.csv: predictions file not found",
        needs="pandas",
    ),
    evaluating(
        "a-class-the-model-never-saw",
        "e.csv: column 'y' has 1 class(es) the model never saw: 2 (it knows 0, 1)",
        model("classifier"),
        data=LABELS + "3,2\n",
    ),
    significance_on("inf-prediction", PREDICTIONS.replace("\n3,3,3\n", "\n3,3,inf\n")),
    significance_on(
        "mse-overflows",
        PREDICTIONS.replace("\n3,3,3\n", "\n3,3,1e200\n"),
        statistic="statistic: mse, ",
    ),
    evaluating(
        "classification-on-a-regressor",
        "e.csv: cannot score the model's predictions against column 'y' as classification",
        model("regressor"),
        data="x,y\n1,0.5\n2,1.0\n",
        args=("--task", "classification"),
    ),
    evaluating(
        "string-labels-for-an-int-model",
        "e.csv",
        model("classifier"),
        data="x,y\n1,cat\n2,dog\n",
    ),
]


def _bounded() -> None:
    """In the child: a hang or a memory blow-up ends the case instead of the machine."""
    resource.setrlimit(resource.RLIMIT_AS, (6 * 2**30, 6 * 2**30))


def write_files(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_one_line_and_exit_2(case: Case, git_repo: GitRepo) -> None:
    if case.needs:
        pytest.importorskip(case.needs)
    write_files(git_repo.path, case.files)
    git_repo.commit("base")
    write_files(git_repo.path, case.head)
    if case.setup:
        case.setup(git_repo.path)
    env = {**os.environ}
    for name, value in case.env.items():
        env[name] = str(git_repo.path / value) if name.endswith("_PATH") else value
    done = subprocess.run(
        [sys.executable, "-m", "mlci", *case.args],
        cwd=git_repo.path, env=env, capture_output=True, text=True, timeout=60,
        preexec_fn=_bounded,
    )  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.returncode == case.code, done.stderr[-3000:] or done.stdout[-3000:]
    if case.code == 1:  # a gate that fails on it, saying why in the report
        assert case.says in done.stdout
        return
    errors = [
        line for line in done.stderr.splitlines() if line.startswith(("mlci: error", "Error"))
    ]
    if case.code == 0:  # the hostile part is passed over, saying nothing
        assert errors == [], done.stderr
        assert case.says in done.stdout + done.stderr
        return
    assert len(errors) == 1, done.stderr
    assert case.says in errors[0], errors[0]


# --- interrupts ------------------------------------------------------------------------------


def _reading(pid: int, name: str) -> bool:
    """Whether process `pid` has `name` open: it is reading the data now."""
    try:
        links = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
    except OSError:
        return False
    return any(link.endswith(name) for link in links)


_first_seen: dict[int, float] = {}


def _seen(pid: int) -> float:
    """Seconds since this was first asked for `pid` (how long it has been reading)."""
    return time.monotonic() - _first_seen.setdefault(pid, time.monotonic())


def _interrupted(args: list[str], cwd: Path, ready: Callable[[int], bool]) -> int:
    """Run mlci, send SIGINT once `ready(pid)` says it is busy, return its exit code."""
    # The `with` closes the stderr pipe and waits for the process however the body ends.
    with subprocess.Popen(
        [sys.executable, "-m", "mlci", *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        # as in a terminal: test runners start workers with SIGINT ignored, and children inherit it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    ) as process:
        try:
            deadline = time.monotonic() + 60
            while not ready(process.pid) and time.monotonic() < deadline and process.poll() is None:
                time.sleep(0.05)
            assert process.poll() is None, f"finished before the interrupt: {process.stderr.read()}"
            time.sleep(0.1)  # well inside the read of a file that takes seconds
            process.send_signal(signal.SIGINT)
            _, err = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
    assert "Traceback" not in err, err
    assert err.strip().endswith("mlci: interrupted"), err
    return process.returncode


@pytest.fixture(scope="module")
def big_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A .csv.gz big enough that reading and validating it takes seconds (made once: slow)."""
    pytest.importorskip("pandera")
    tmp_path = tmp_path_factory.mktemp("big")
    rows = "".join(f"{i}\n" for i in range(16_000_000))
    (tmp_path / "big.csv.gz").write_bytes(gzip.compress(("a\n" + rows).encode(), compresslevel=1))
    (tmp_path / "s.yaml").write_text(SCHEMA)
    return tmp_path


def test_ctrl_c_while_reading_data_is_130_and_writes_no_file(big_data: Path) -> None:
    out = big_data / "out.json"
    code = _interrupted(
        ["validate", "big.csv.gz", "--schema", "s.yaml", "-o", "out.json"],
        big_data,
        ready=lambda pid: _reading(pid, "big.csv.gz"),
    )
    assert code == 130
    assert not out.exists()


def test_ctrl_c_during_a_long_chunked_validation_is_130_and_writes_no_file(
    big_data: Path,
) -> None:
    out = big_data / "out.json"
    code = _interrupted(
        ["validate", "big.csv.gz", "--schema", "s.yaml", "--chunksize", "50000", "-o", "out.json"],
        big_data,
        ready=lambda pid: _reading(pid, "big.csv.gz") and _seen(pid) > 0.2,
    )
    assert code == 130
    assert not out.exists()


def test_ctrl_c_during_check_is_130_and_writes_no_report(big_data: Path, tmp_path: Path) -> None:
    """Not a report listing the interrupt as a data problem: no report at all."""
    (tmp_path / "big.csv.gz").symlink_to(big_data / "big.csv.gz")
    (tmp_path / "s.yaml").write_text(SCHEMA)
    (tmp_path / "mlci.yaml").write_text("datasets:\n  - path: big.csv.gz\n    schema: s.yaml\n")
    code = _interrupted(
        ["check", "-o", "report.md"], tmp_path, ready=lambda pid: _reading(pid, "big.csv.gz")
    )
    assert code == 130
    assert not (tmp_path / "report.md").exists()


# --- GitHub answers ---------------------------------------------------------------------------


def test_an_html_answer_to_mlci_comment_is_one_line(tmp_path: Path) -> None:
    """A single sign-on proxy answering 200 with a page: exit 2 saying so, not exit 3."""
    from fake_github import FakeGitHub

    (tmp_path / "b.md").write_text("report")
    with FakeGitHub(token="t0ken") as github:
        github.add_pull("octo/repo", 7)
        github.fail("GET", status=200, text="<html>Single sign-on</html>")
        done = subprocess.run(
            [sys.executable, "-m", "mlci", "comment", "--body-file", "b.md", "--repo",
             "octo/repo", "--pr", "7"],
            cwd=tmp_path, capture_output=True, text=True, timeout=60,
            env={**os.environ, "GITHUB_API_URL": github.url, "GITHUB_TOKEN": "t0ken"},
        )  # fmt: skip
    assert "Traceback" not in done.stderr
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1
    assert "with 200 text/html, not JSON" in done.stderr


# --- the process's own environment ------------------------------------------------------------


def test_stdout_on_a_full_device_is_one_line(git_repo: GitRepo) -> None:
    git_repo.write("m.json", '{"accuracy": 0.9}')
    git_repo.commit("base")
    git_repo.write("m.json", '{"accuracy": 0.8}')
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "mlci", "diff", "--targets", "m.json"],
            cwd=git_repo.path, stdout=full, stderr=subprocess.PIPE, text=True, timeout=60,
        )  # fmt: skip
    assert "Traceback" not in done.stderr
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().count("\n") == 0
    assert "No space left on device" in done.stderr


def test_a_deleted_working_directory_is_one_line(tmp_path: Path) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    script = (
        "import os, sys; os.chdir(sys.argv[1]); os.rmdir(sys.argv[1]); "
        "from mlci.cli import main; sys.argv = ['mlci', 'gate']; main()"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(gone)], capture_output=True, text=True, timeout=60
    )
    assert "Traceback" not in done.stderr
    assert done.returncode == 2, done.stderr
    assert "working directory" in done.stderr


def test_a_reader_that_goes_away_is_not_an_error(git_repo: GitRepo) -> None:
    git_repo.write("m.json", json.dumps({f"metric_{i}": i for i in range(5_000)}))
    git_repo.commit("base")
    git_repo.write("m.json", json.dumps({f"metric_{i}": i + 1 for i in range(5_000)}))
    done = subprocess.run(
        f"{sys.executable} -m mlci diff | head -1; echo \"${{PIPESTATUS[0]}}\" >&2",
        shell=True, executable="/bin/bash", cwd=git_repo.path, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert done.stderr.strip().splitlines()[-1] in ("0", "141"), done.stderr
    assert "Traceback" not in done.stderr
    assert "Exception ignored" not in done.stderr
