"""The `mlci` command line: click commands over the typed core (imports nothing heavy)."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(args: Sequence[str] | None = None) -> None:
    import warnings

    # Where pyspark is installed, `import pandera` tries `pyspark.pandas`, which warns (and, under
    # pandas 3, fails) whatever the engine: not the user's concern (see integrations/spark_session).
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    from mlci.cli.handler import run
    from mlci.cli.main import cli

    sys.exit(run(cli, args))
