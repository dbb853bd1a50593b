"""Import optional dependencies on demand, turning their absence into a clear exit-2 error."""

from __future__ import annotations

import gc
import importlib
import sys
from types import ModuleType

from mlci.errors import MissingExtraError


def require(module: str, extra: str, *, feature: str | None = None) -> ModuleType:
    """Import `module`, or raise MissingExtraError naming the `mlci[extra]` that provides it.

    The cyclic garbage collector is paused meanwhile, and what the import created is then
    frozen (`gc.freeze`: never scanned again): importing pandas, pyarrow or pandera allocates
    hundreds of thousands of objects that live as long as the process, so collecting during
    the import, or later over those objects, only walks them for nothing. (Only a first
    import does this; a module already loaded is returned as it is.)
    """
    loaded = sys.modules.get(module)
    if loaded is not None:
        return loaded
    paused = gc.isenabled()
    gc.disable()
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        # Name the package that is really missing (pandera may be there without pandas).
        missing = getattr(exc, "name", None) or module
        raise MissingExtraError(extra, missing, feature=feature) from exc
    finally:
        gc.freeze()
        if paused:
            gc.enable()
