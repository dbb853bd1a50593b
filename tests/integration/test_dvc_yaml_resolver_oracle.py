"""mlci's own `${...}` resolver (mlci/sources/dvc_yaml.py) against DVC's parser, on generated
dvc.yaml files: `vars:` (files, `file:keys`, inline, per stage), nested keys, lists, `foreach`
over lists and mappings (literal or interpolated), `matrix`, `wdir`, params from other files,
dictionaries in `cmd`, and names that are not defined.

For each shape DVC builds its index (`Repo(root).index.stages`, what `dvc metrics show` and
`dvc params show` read), and mlci must find the same metrics, outputs, dependencies, params
files and keys, and interpolated values (`tracked_vars`); where DVC refuses the file, mlci must
refuse it too (one InputFileError).
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlci.errors import InputFileError
from mlci.sources.dvc_yaml import parse_dvc_yaml

pytest.importorskip("dvc.repo", reason="dvc is not installed")

PARAMS = {
    "train": {"lr": 0.01, "epochs": 5, "layers": [16, 32], "optimizer": {"name": "adam"}},
    "data": {"dir": "data", "splits": ["train", "test"], "files": {"a": "a.csv", "b": "b.csv"}},
    "name": "run",
    "flag": True,
}
VARS_FILES = {
    "config/vars.yaml": {"eval": {"dir": "eval", "fname": "metrics.json"}, "models": ["lr", "rf"]},
    "extra.json": {"seed": 3, "opt": {"name": "sgd", "momentum": 0.9}},
    "sub/local.yaml": {"inner": {"path": "inner.json"}},
    "runs.yaml": {"runs": {"small": {"n": 8}, "large": {"n": 64, "flag": False}}},
}
# Each of these defines every name in NAMES (`eval`, `models` and `runs` from files, `seed` and
# `opt` from a JSON file, whole or `file:keys`, `inline` inline, `train.extra` merged into
# params.yaml's `train`).
TOP_VARS = (
    ["config/vars.yaml", "runs.yaml", "extra.json", {"inline": {"tag": "v1"}, "train": {"extra": 1}}],
    ["runs.yaml", "extra.json:seed,opt", "config/vars.yaml", {"inline": {"tag": "v2"}, "train": {"extra": 2}}],
    ["params.yaml", "config/vars.yaml", "extra.json:seed", "extra.json:opt", "runs.yaml", {"inline": {"tag": "v3"}, "train": {"extra": 3}}],
    ["config/vars.yaml", "config/vars.yaml", "runs.yaml", "extra.json", {"inline": {"tag": 4}, "train": {"extra": True}}],
)  # fmt: skip
# What DVC refuses (one of them in about one case in ten).
BAD_TOP_VARS = (
    [],  # nothing defines `eval`, `models`, ...
    ["extra.json:nope"],  # no such key
    ["extra.json", "extra.json:seed"],  # partly after wholly
    [{"train": {"lr": 1}}],  # defined twice (params.yaml has it)
    ["${name}.yaml"],  # interpolation in vars
)
NAMES = (
    "${data.dir}", "${eval.dir}", "${name}", "${inline.tag}", "${opt.name}", "${train.epochs}",
    "${data.splits[0]}", "${train.layers.1}", "${seed}", "${train.extra}", "${flag}",
)  # fmt: skip
BAD_NAMES = ("${nope}", "${train.layers}", "${data.files}", "${data.splits[5]}")
COMMANDS = (
    "python train.py {label}", "python train.py ${train}", "echo ${train.lr} {label}",
    "echo ${data} ${opt}", "echo ${flag} ${train.optimizer.name}", "run ${runs}",
)  # fmt: skip


def _stage(rng: random.Random, index: int) -> tuple[str, dict[str, Any]]:
    name = f"s{index}"
    kind = rng.choice(["plain", "plain", "wdir", "foreach_list", "foreach_dict", "matrix"])
    label = rng.choice(BAD_NAMES if rng.random() < 0.05 else NAMES)
    body: dict[str, Any] = {
        "cmd": rng.choice(COMMANDS).replace("{label}", label),
        "deps": [f"{label}/in-{index}.csv", "src/train.py"],
        "outs": [f"out-{index}-{label}.pkl"],
        "metrics": [{f"m-{index}.json": {"cache": False}}],
    }
    params = rng.choice(
        [
            ["train.lr"],
            ["train"],
            [{"extra.json": ["seed", "opt.name"]}],
            [{"config/vars.yaml": None}],
            ["train.lr", {"params.yaml": None}],
            [{"sub/local.yaml": ["inner.path"]}, "flag"],
            [],
        ]
    )
    if params:
        body["params"] = params
    if rng.random() < 0.3:
        body["vars"] = [{"local": {"k": f"k{index}"}}]
        body["outs"].append("${local.k}.bin")
    if kind == "wdir":
        body["wdir"] = rng.choice(["sub", "${data.dir}", "sub/deeper"])
        return name, body
    if kind == "foreach_list":
        items = rng.choice([["a", "b", "a"], "${data.splits}", "${models}", [1, 2], "${name}"])
        body["outs"] = [f"out-{index}-${{item}}.pkl"]
        if rng.random() < 0.05:
            body["outs"].append("${key}.bin")  # no `key` over a list: refused
        body["metrics"] = [{f"m-{index}-${{item}}.json": {"cache": False}}]
        return name, {"foreach": items, "do": body}
    if kind == "foreach_dict":
        items = rng.choice([{"x": {"n": 1}, "y": {"n": 2}}, "${data.files}", "${runs}"])
        body["outs"] = [f"out-{index}-${{key}}.pkl"]
        if items != "${data.files}":
            body["metrics"] = [{f"m-{index}-${{item.n}}.json": {"cache": False}}]
        else:
            body["metrics"] = [{f"m-{index}-${{item}}": {"cache": False}}]
        return name, {"foreach": items, "do": body}
    if kind == "matrix":
        body["matrix"] = {
            "model": ["lr", "rf"],
            "split": rng.choice([["a", "b"], "${data.splits}"]),
        }
        body["outs"] = [f"out-{index}-${{item.model}}-${{item.split}}.pkl"]
        body["metrics"] = [{f"m-{index}-${{item.model}}.json": {"cache": False}}]
        return name, body
    return name, body


def generate(seed: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """(files to write, the dvc.yaml mapping) of one generated shape."""
    rng = random.Random(seed)
    files: dict[str, Any] = {"params.yaml": PARAMS, **VARS_FILES}
    document: dict[str, Any] = {}
    top_vars = rng.choice(BAD_TOP_VARS if rng.random() < 0.1 else TOP_VARS)
    if top_vars:
        document["vars"] = top_vars
    document["stages"] = dict(_stage(rng, index) for index in range(rng.randint(1, 3)))
    if rng.random() < 0.6:
        document["metrics"] = ["summary.json", rng.choice(["${eval.dir}/top.json", "top.json"])]
    if rng.random() < 0.4:
        document["params"] = [rng.choice(["extra.json", "config/vars.yaml"])]
    return files, document


def _write(root: Path, files: dict[str, Any], document: dict[str, Any]) -> None:
    for path, value in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(value) if path.endswith(".json") else yaml.safe_dump(value)
        target.write_text(text)
    (root / "dvc.yaml").write_text(yaml.safe_dump(document, sort_keys=False))


Declarations = dict[str, Any]


def _posix(path: str) -> str:
    return Path(path).as_posix()


def dvc_declarations(root: Path) -> Declarations | None:
    """What DVC's index holds (None: DVC refuses the dvc.yaml)."""
    from dvc.dependency.param import ParamsDependency
    from dvc.exceptions import DvcException
    from dvc.repo import Repo
    from dvc.repo.metrics.show import _collect_top_level_metrics
    from dvc.repo.params.show import _collect_top_level_params

    def rel(path: str) -> str:
        return _posix(os.path.relpath(path, root))

    with Repo(os.fspath(root)) as repo:
        try:
            stages = list(repo.index.stages)
        except DvcException:
            return None
        params: dict[str, set[str] | None] = {}
        for stage in stages:
            for dep in stage.params:
                keys = list(dep.params)
                target = rel(dep.fs_path)
                if not keys or params.get(target, set()) is None:
                    params[target] = None
                else:
                    params.setdefault(target, set()).update(keys)  # type: ignore[union-attr]
        for path in _collect_top_level_params(repo):
            params[_posix(path)] = None
        tracked: dict[str, dict[str, Any]] = {}
        for stage in stages:
            for file, values in getattr(stage, "tracked_vars", {}).items():
                tracked.setdefault(rel(os.path.abspath(file)), {}).update(values)
        return {
            "metrics": sorted(
                {rel(out.fs_path) for stage in stages for out in stage.outs if out.metric}
                | {_posix(path) for path in _collect_top_level_metrics(repo)}
            ),
            "outs": sorted({rel(out.fs_path) for stage in stages for out in stage.outs}),
            "deps": sorted(
                {
                    rel(dep.fs_path)
                    for stage in stages
                    for dep in stage.deps
                    if not isinstance(dep, ParamsDependency)
                }
            ),
            "params": params,
            "tracked": tracked,
        }


def mlci_declarations(root: Path) -> Declarations | None:
    def read(path: str) -> bytes | None:
        target = root / path
        return target.read_bytes() if target.is_file() else None

    try:
        found = parse_dvc_yaml((root / "dvc.yaml").read_bytes(), "dvc.yaml", read=read)
    except InputFileError:
        return None
    return {
        "metrics": sorted(set(found.metrics)),
        "outs": sorted(set(found.outs)),
        "deps": sorted(set(found.deps)),
        "params": {
            path: None if keys is None else set(keys) for path, keys in found.params.items()
        },
        "tracked": found.tracked,
    }


@pytest.mark.parametrize("seed", range(200))
def test_resolver_matches_dvc(tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from dvc.repo import Repo

    root = tmp_path / "repo"
    root.mkdir()
    Repo.init(os.fspath(root), no_scm=True).close()
    files, document = generate(seed)
    _write(root, files, document)
    monkeypatch.chdir(root)  # DVC's tracked_vars name files relative to the current directory
    theirs = dvc_declarations(root)
    ours = mlci_declarations(root)
    shown = yaml.safe_dump(document, sort_keys=False)
    if theirs is None or ours is None:
        assert (ours, theirs) == (None, None), f"DVC {theirs}, mlci {ours} on\n{shown}"
        return
    for part in ("metrics", "outs", "deps", "params"):
        assert ours[part] == theirs[part], f"{part} differ on\n{shown}"
    assert ours["tracked"] == theirs["tracked"], f"tracked values differ on\n{shown}"
