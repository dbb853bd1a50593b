"""Compare two pandera schemas and class every change as breaking or compatible.

Breaking: data that passed the old schema may fail the new one (a column removed, a dtype
changed, `nullable` turned off, a check added or tightened, a column newly required).
Compatible: everything that passed still passes (an optional column added, a check loosened or
removed). A changed check whose direction cannot be told is breaking, to be safe.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mlci.errors import InputFileError

if TYPE_CHECKING:
    from mlci.integrations.pandera_schemas import LoadedSchema, SchemaApi

ChangeKind = Literal[
    "column_removed",
    "column_added",
    "dtype_changed",
    "nullable_changed",
    "unique_changed",
    "required_changed",
    "coerce_changed",
    "check_added",
    "check_removed",
    "check_changed",
    "option_changed",
]


@dataclass
class SchemaChange:
    kind: ChangeKind
    column: str | None
    """None for schema-wide changes (strict, ordered, dataframe checks)."""
    breaking: bool
    detail: str
    old: Any = None
    new: Any = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ColumnRules:
    dtype: str | None
    nullable: bool
    unique: bool
    required: bool
    coerce: bool
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class SchemaRules:
    columns: dict[str, ColumnRules]
    checks: dict[str, dict[str, Any]]
    options: dict[str, Any]


def describe(schema: Any) -> SchemaRules:
    """The rules of a pandera DataFrameSchema (pandas, polars or PySpark) as plain data; dtypes
    by the name every engine shows (`common_dtype_name`)."""
    from mlci.integrations.pandera_schemas import common_dtype_name, schema_api

    api = schema_api(schema)
    columns = {
        str(name): ColumnRules(
            dtype=common_dtype_name(column.dtype, api),
            nullable=bool(column.nullable),
            unique=bool(column.unique),
            required=bool(getattr(column, "required", True)),
            coerce=bool(column.coerce),
            checks=_checks(column.checks),
        )
        for name, column in schema.columns.items()
    }
    unique = schema.unique
    options = {
        "strict": schema.strict,
        "ordered": bool(schema.ordered),
        "coerce": bool(schema.coerce),
        "unique": sorted(unique) if isinstance(unique, list) else unique,
    }
    return SchemaRules(columns=columns, checks=_checks(schema.checks), options=options)


def _checks(checks: list[Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for check in checks:
        name = str(check.name or getattr(check, "error", None) or "check")
        key = name
        number = 2
        while key in out:
            key = f"{name}#{number}"
            number += 1
        out[key] = {str(k): _plain(v) for k, v in (check.statistics or {}).items()}
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, set | frozenset | tuple):
        return sorted(value, key=repr) if isinstance(value, set | frozenset) else list(value)
    if hasattr(value, "item") and not isinstance(value, list | dict | str):
        return value.item()
    return value


def diff_schemas(old: SchemaRules, new: SchemaRules) -> list[SchemaChange]:
    changes: list[SchemaChange] = []
    for name, column in old.columns.items():
        if name not in new.columns:
            changes.append(
                SchemaChange("column_removed", name, True, "column removed", old=column.dtype)
            )
    for name, column in new.columns.items():
        if name not in old.columns:
            optional = not column.required
            detail = "optional column added" if optional else "required column added"
            changes.append(
                SchemaChange("column_added", name, not optional, detail, new=column.dtype)
            )
            continue
        changes += _column_changes(name, old.columns[name], column)
    changes += _check_changes(None, old.checks, new.checks)
    changes += _option_changes(old.options, new.options)
    return changes


def _column_changes(name: str, old: ColumnRules, new: ColumnRules) -> list[SchemaChange]:
    changes = []
    if old.dtype != new.dtype:
        changes.append(
            SchemaChange(
                "dtype_changed",
                name,
                True,
                f"dtype {old.dtype} → {new.dtype}",
                old.dtype,
                new.dtype,
            )
        )
    flags = (
        ("nullable", "nullable_changed", old.nullable, new.nullable, True),
        ("unique", "unique_changed", old.unique, new.unique, False),
        ("required", "required_changed", old.required, new.required, False),
        ("coerce", "coerce_changed", old.coerce, new.coerce, True),
    )
    for label, kind, before, after, loose_when_on in flags:
        if before == after:
            continue
        # nullable/coerce on is looser; unique/required on is stricter.
        tightened = after != loose_when_on
        changes.append(
            SchemaChange(
                kind,  # type: ignore[arg-type]
                name,
                tightened,
                f"{label} {str(before).lower()} → {str(after).lower()}",
                before,
                after,
            )
        )
    changes += _check_changes(name, old.checks, new.checks)
    return changes


def _check_changes(
    column: str | None, old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]
) -> list[SchemaChange]:
    changes = []
    for name, stats in old.items():
        if name not in new:
            changes.append(
                SchemaChange(
                    "check_removed", column, False, f"check {_show(name, stats)} removed", stats
                )
            )
    for name, stats in new.items():
        if name not in old:
            changes.append(
                SchemaChange(
                    "check_added", column, True, f"check {_show(name, stats)} added", new=stats
                )
            )
        elif old[name] != stats:
            looser = loosened(name.split("#")[0], old[name], stats)
            verdict = "loosened" if looser else "tightened" if looser is False else "changed"
            changes.append(
                SchemaChange(
                    "check_changed",
                    column,
                    looser is not True,
                    f"check {_show(name, old[name])} {verdict} to {_show(name, stats)}",
                    old[name],
                    stats,
                )
            )
    return changes


def _option_changes(old: dict[str, Any], new: dict[str, Any]) -> list[SchemaChange]:
    changes = []
    for key in ("strict", "ordered", "coerce", "unique"):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if key == "coerce":
            breaking = not after
        elif key == "strict":
            breaking = bool(after) and after != "filter"
        elif key == "unique":
            breaking = bool(after) and (not before or not set(before or ()) <= set(after or ()))
        else:
            breaking = bool(after)
        changes.append(
            SchemaChange(
                "option_changed", None, breaking, f"schema {key}: {before} → {after}", before, after
            )
        )
    return changes


def _show(name: str, stats: dict[str, Any]) -> str:
    base = name.split("#")[0]
    if not stats:
        return base
    if len(stats) == 1:
        return f"{base}({next(iter(stats.values()))!r})"
    return f"{base}(" + ", ".join(f"{k}={v!r}" for k, v in stats.items()) + ")"


def loosened(name: str, old: dict[str, Any], new: dict[str, Any]) -> bool | None:
    """True if every value passing `old` passes `new`, False if the reverse, None if unknown."""
    if set(old) != set(new):
        return None
    if name in ("greater_than", "greater_than_or_equal_to", "ge", "gt"):
        return _both(_compare(_low(new["min_value"]), _low(old["min_value"])))
    if name in ("less_than", "less_than_or_equal_to", "le", "lt"):
        return _both(_compare(_high(old["max_value"]), _high(new["max_value"])))
    if name in ("in_range", "str_length"):
        lower = _compare(
            _low(new.get("min_value")),
            _low(old.get("min_value")),
            old.get("include_min", True),
            new.get("include_min", True),
        )
        upper = _compare(
            _high(old.get("max_value")),
            _high(new.get("max_value")),
            old.get("include_max", True),
            new.get("include_max", True),
        )
        return _both(lower, upper)
    if name == "isin":
        before, after = set(map(repr, old["allowed_values"])), set(map(repr, new["allowed_values"]))
        return True if before <= after else False if after <= before else None
    if name == "notin":
        before, after = (
            set(map(repr, old["forbidden_values"])),
            set(map(repr, new["forbidden_values"])),
        )
        return True if after <= before else False if before <= after else None
    return None


def _low(value: Any) -> Any:
    return -math.inf if value is None else value


def _high(value: Any) -> Any:
    return math.inf if value is None else value


def _compare(
    low: Any, high: Any, old_inclusive: Any = True, new_inclusive: Any = True
) -> int | None:
    """For one bound: 1 if the new bound is looser (`low` < `high`), 0 if the same, -1 if
    stricter, None if the bounds cannot be compared."""
    try:
        low_value, high_value = float(low), float(high)
    except (TypeError, ValueError):
        return None
    if low_value == high_value:
        return int(bool(new_inclusive)) - int(bool(old_inclusive))
    return 1 if low_value < high_value else -1


def _both(*sides: int | None) -> bool | None:
    """Loosened if no side got stricter, tightened if no side got looser, else unknown."""
    if any(side is None for side in sides):
        return None
    if all(side is not None and side >= 0 for side in sides):
        return True
    if all(side is not None and side <= 0 for side in sides):
        return False
    return None


def load_for_diff(spec: str, cwd: Path, engine: SchemaApi) -> LoadedSchema:
    """A schema file, `module:attribute`, or `REV:path` (the file at a git revision)."""
    from mlci.integrations.pandera_schemas import is_module_spec, load_schema, schema_from_text

    if (cwd / spec).exists() or ":" not in spec:
        return load_schema(spec, cwd, engine)
    rev, _, path = spec.partition(":")
    if is_module_spec(spec, cwd) and not path.lower().endswith(_SCHEMA_SUFFIXES):
        return load_schema(spec, cwd, engine)
    from mlci.sources.git import Git

    git = Git(cwd)
    sha = git.resolve(rev)
    if path.startswith(("./", "../")):
        relative = git.relative(cwd / path)
    else:
        relative = path.lstrip("/")
    content = git.read_files(sha, [relative])[relative]
    if content is None:
        raise InputFileError(
            f"schema file {relative!r} does not exist at revision {rev!r}",
            hint="paths after REV: are relative to the repository top (or start with ./)",
        )
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputFileError(f"schema file at {spec} is not valid UTF-8") from None
    return schema_from_text(text, Path(spec), engine, label=spec)


_SCHEMA_SUFFIXES = (".yaml", ".yml", ".json")
