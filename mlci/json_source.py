"""JSON text from a user's file, parsed with every way it can be malformed turned into one input
error naming the file (and line): the one place for what `json.loads` can raise."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlci.errors import InputFileError


def parse_json(
    text: str, path: Path | str, *, invalid: str, deep: str, hint: str | None = None
) -> Any:
    """`text` parsed; `invalid` starts the message of malformed JSON (with `hint`), `deep` is
    the message of JSON nested past Python's recursion limit."""
    try:
        return json.loads(text)
    except RecursionError:
        raise InputFileError(deep, path=path) from None
    except json.JSONDecodeError as exc:
        raise InputFileError(
            f"{invalid}: {exc.msg}", path=path, line=exc.lineno, column=exc.colno, hint=hint
        ) from None
    except ValueError as exc:  # an integer of more digits than Python converts (4,300)
        raise InputFileError(f"{invalid}: {str(exc).split('; use sys.')[0]}", path=path) from None
