"""The `mlci` command line: click commands over the typed core (imports nothing heavy)."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(args: Sequence[str] | None = None) -> None:
    from mlci.cli.handler import run
    from mlci.cli.main import cli

    sys.exit(run(cli, args))
