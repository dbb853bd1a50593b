"""Where mlci.yaml lives and the settings in it, loaded only when there is a file.

Apart from the config model (`mlci.config`) so that commands that work without a config file,
such as `mlci diff` in a DVC project, never load the model and its validation library.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlci.config import Config

CONFIG_NAMES = ("mlci.yaml", "mlci.yml", ".mlci.yaml", ".mlci.yml")
DEFAULT_PRECISION = 5
"""Decimals shown in metric tables (`metrics.precision`)."""
DEFAULT_REMOTE = "origin"
"""Remote whose copy of the base branch is preferred (`baseline.remote`)."""


class ConfigFile:
    """A loaded config and where it lives; relative paths in it are relative to `root`.

    Without a file and without settings it stands for every default: `explicit` is false and
    the default `Config` is built by `default` only if something asks for it (the config model
    sits above this module, which never imports it).
    """

    def __init__(
        self,
        config: Config | None = None,
        path: Path | None = None,
        *,
        default: Callable[[], Config] | None = None,
    ) -> None:
        if config is None and default is None:
            raise TypeError("ConfigFile needs settings or a way to build the default ones")
        self._config = config
        self._default = default
        self.path = path
        self.explicit = config is not None
        """Settings were read from a file or given; false: every setting is its default."""

    @property
    def config(self) -> Config:
        if self._config is None:
            assert self._default is not None
            self._config = self._default()
        return self._config

    @property
    def root(self) -> Path:
        """The config file's directory; without one, the project holding the current
        directory (its DVC repository, else its git repository), as DVC finds it."""
        return self.path.parent if self.path else find_project_root(Path.cwd())

    def resolve(self, relative: str) -> Path:
        return self.root / relative

    def __repr__(self) -> str:
        return f"ConfigFile(path={self.path!r}, explicit={self.explicit})"


def config_in(directory: Path) -> Path | None:
    """The config file of `directory` itself (the first of CONFIG_NAMES there), or None."""
    return next((directory / n for n in CONFIG_NAMES if (directory / n).is_file()), None)


def find_config(start: Path) -> Path | None:
    """The nearest config file in `start` or its parents, stopping at the repository top."""
    directory = start.resolve()
    while True:
        if (found := config_in(directory)) is not None:
            return found
        if (directory / ".git").exists() or directory.parent == directory:
            return None
        directory = directory.parent


def find_project_root(start: Path) -> Path:
    """The nearest directory up from `start` holding `.dvc/`, else the git top level (`.git`),
    else `start` itself."""
    directory = start.resolve()
    top: Path | None = None
    for candidate in (directory, *directory.parents):
        if (candidate / ".dvc").is_dir():
            return candidate
        if (candidate / ".git").exists():
            top = candidate
            break
    return top or start
