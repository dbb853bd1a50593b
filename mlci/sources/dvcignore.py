"""Which paths of a DVC repository `.dvcignore` hides from DVC, decided as DVC decides it.

DVC (dvc/ignore.py) walks the repository top-down: a `.dvcignore` in a directory it reaches adds
gitignore patterns for that directory and below (rebased onto the root and appended after the
patterns of the directories above, dvc/pathspec_math.py), an ignored directory is not entered,
and a directory holding its own `.dvc/` is a sub-repository it does not enter either. The last
pattern that matches a path decides. `dvc.yaml` files, `dvc.lock` files and `.dvc` files under an
ignored path do not exist for DVC. Patterns are turned into regular expressions by `pathspec`
(what DVC uses), imported only when some `.dvcignore` holds a pattern: the one `dvc init`
writes holds only comments.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from mlci.errors import InputFileError

DVCIGNORE = ".dvcignore"
# DVC's own defaults (DvcIgnoreFilter): version-control directories and `.dvc/` itself.
DEFAULT_PATTERNS = (".hg/", ".git/", ".git", ".dvc/")

ReadMany = Callable[[list[str]], "dict[str, bytes | None]"]


@dataclass(frozen=True)
class _Rule:
    regex: re.Pattern[str]
    ignore: bool
    directory_only: bool


@dataclass
class DvcIgnore:
    """The `.dvcignore` rules of one revision of a repository (paths relative to its root)."""

    listing: frozenset[str]
    read_many: ReadMany
    _rules: dict[str, list[_Rule]] = field(default_factory=dict)
    _patterns: dict[str, list[str]] = field(default_factory=dict)
    _hidden: dict[str, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        files = sorted(
            (path for path in self.listing if posixpath.basename(path) == DVCIGNORE),
            key=lambda path: (path.count("/"), path),
        )
        contents = self.read_many(files) if files else {}
        for path, content in contents.items():
            patterns = _patterns(content, path)
            if patterns:
                self._patterns[posixpath.dirname(path)] = patterns
        self._subrepos = {path.split("/.dvc/", 1)[0] for path in self.listing if "/.dvc/" in path}

    def filter(self, paths: Iterable[str]) -> list[str]:
        """`paths` (files) without those DVC does not see."""
        return [path for path in paths if not self.ignored(path)]

    def ignored(self, path: str) -> bool:
        parts = path.split("/")
        for index in range(1, len(parts) + 1):
            prefix = "/".join(parts[:index])
            is_dir = index < len(parts)
            if is_dir and prefix in self._subrepos:
                return True
            if self._hides(prefix, is_dir):
                return True
        return False

    def _hides(self, path: str, is_dir: bool) -> bool:
        """Whether the walk, standing in `path`'s directory, drops `path`."""
        if not self._patterns:  # only DVC's defaults: no need for pathspec
            name = posixpath.basename(path)
            return name == ".git" or (is_dir and name in (".hg", ".dvc"))
        key = f"{path}/" if is_dir else path
        if key not in self._hidden:
            self._hidden[key] = _decide(self._rules_for(posixpath.dirname(path)), path, is_dir)
        return self._hidden[key]

    def _rules_for(self, directory: str) -> list[_Rule]:
        """The patterns in force in `directory`: the defaults, then each `.dvcignore` read on
        the way down (rebased onto the root), the deeper ones last."""
        if directory not in self._rules:
            if directory == "":
                rules = _compile(DEFAULT_PATTERNS) + _compile(self._patterns.get("", ()))
            else:
                rules = list(self._rules_for(posixpath.dirname(directory)))
                own = self._patterns.get(directory)
                # DVC reads a directory's .dvcignore only if its parent's rules let it see it.
                if own and not _decide(rules, f"{directory}/{DVCIGNORE}", False):
                    rules += _compile(_rebase(pattern, directory) for pattern in own)
            self._rules[directory] = rules
        return self._rules[directory]


def dvcignore_in(listing: Iterable[str]) -> bool:
    return any(posixpath.basename(path) == DVCIGNORE for path in listing)


def _patterns(content: bytes | None, path: str) -> list[str]:
    if content is None:
        return []
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise InputFileError("is not UTF-8 text", path=path) from None
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _decide(rules: list[_Rule], path: str, is_dir: bool) -> bool:
    """DvcIgnorePatterns._ignore: each leading part of `path` in turn, the last matching rule
    deciding; an ignored directory hides what is below it."""
    parts = path.split("/")
    for index in range(1, len(parts) + 1):
        prefix = "/".join(parts[:index])
        leading_dir = is_dir or index < len(parts)
        candidates = [prefix, f"{prefix}/"] if leading_dir else [prefix]
        ignored = False
        for rule in reversed(rules):
            if rule.directory_only and not leading_dir:
                continue
            if any(rule.regex.match(candidate) for candidate in candidates):
                ignored = rule.ignore
                break
        if ignored:
            return True
    return False


def _compile(patterns: Iterable[str]) -> list[_Rule]:
    try:
        from pathspec.patterns.gitignore.spec import (  # type: ignore[import-not-found,unused-ignore]
            GitIgnoreSpecPattern as Pattern,
        )
    except ImportError:
        try:  # pathspec < 1, as DVC itself falls back
            from pathspec.patterns import (  # type: ignore[no-redef,attr-defined,unused-ignore]
                GitWildMatchPattern as Pattern,
            )
        except ImportError:
            raise InputFileError(
                "has patterns, and reading them as DVC does needs pathspec",
                path=DVCIGNORE,
                hint="pip install 'mlci[dvc]'",
            ) from None
    rules = []
    for pattern in patterns:
        regex, ignore = Pattern.pattern_to_regex(pattern)
        if regex is not None and ignore is not None:
            rules.append(_Rule(re.compile(regex), bool(ignore), pattern.endswith("/")))
    return rules


def _rebase(rule: str, directory: str) -> str:
    """dvc/pathspec_math.py's change_rule: a pattern of `directory/.dvcignore` as a pattern of
    the root's (then pathspec's normalize_file, which drops a leading `/`)."""
    negated = rule.startswith("!")
    if negated:
        rule = rule[1:]
    if "/" in rule[:-1] and not rule.startswith("**/"):
        rule = rule.removeprefix("/")
        anchored = True
    else:
        rule = rule.removeprefix("**/")
        anchored = False
    rule = rule.removeprefix("\\")
    rule = f"/{rule}" if anchored else f"/**/{rule}"
    return f"!/{directory}{rule}" if negated else f"{directory}{rule}"
