"""How a report is rendered: precision, colour, the markdown template and its links."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RenderOptions:
    precision: int = 5
    color: bool = False
    """Draw rich tables with colour (a terminal); plain aligned text otherwise."""
    width: int = 120
    mermaid: bool = True
    """Draw charts in markdown (Mermaid)."""
    charts: frozenset[str] | None = None
    """The charts drawn (`report.charts`; names in `mlci.report.charts.CHART_KEYS`); None: all."""
    chart_bytes: int = 30_000
    """Room the charts may take in the PR comment; those past it are left out, and said so."""
    template: str | None = None
    """A user template extending the default markdown report."""
    max_failure_cases: int = 10
    """Failure cases shown per failing data check in markdown."""
    run_url: str | None = None
    """The GitHub Actions run the report came from (linked from the markdown)."""
    commit: str | None = None
    """The head commit the report is about (shown in the markdown)."""
    full_report: str | None = None
    """Where a shortened markdown report says the full one is."""
    html_report_url: str | None = None
    """Where the HTML report can be opened (the run's artifacts), linked from the markdown."""
