"""Import optional dependencies on demand, turning their absence into a clear exit-2 error."""

from __future__ import annotations

import importlib
from types import ModuleType

from mlci.errors import MissingExtraError


def require(module: str, extra: str, *, feature: str | None = None) -> ModuleType:
    """Import `module`, or raise MissingExtraError naming the `mlci[extra]` that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        # Name the package that is really missing (pandera may be there without pandas).
        missing = getattr(exc, "name", None) or module
        raise MissingExtraError(extra, missing, feature=feature) from exc
