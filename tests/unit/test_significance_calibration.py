"""Every significance test is calibrated, measured by simulated pull requests (the small version
of benchmarks/calibration.py, whose full run is the table in docs/gates.md).

No-change pull requests: the share called significantly worse must not exceed the nominal
one-sided 2.5% by more than the simulation's own noise (two binomial standard errors). A
2-point drop on 3,000 paired examples must be caught at least 80% of the time. Seeds are
fixed: the outcome is the same on every run.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from calibration import SCENARIOS, Scenario, damage_for, outcomes

NOMINAL = 0.025
POWER = 0.8
WEAKER = {"recall": 0.6}
"""Binary recall rests on the ~900 positives of 3,000 examples: no test calibrated at 2.5% can
catch a 2-point drop 80% of the time on these pull requests (the Neyman-Pearson test, knowing
the alternative, reaches 79%; docs/gates.md), mlci's 74%. Held to 60% here so that a
regression of the test still shows."""
NULL_SIMULATIONS = 200
POWER_SIMULATIONS = 40
ALLOWED = NOMINAL + 2 * math.sqrt(NOMINAL * (1 - NOMINAL) / NULL_SIMULATIONS)
"""4.7%: 200 simulations tell a test at 2.5% from one at about 7% or more; the finer table
(1,000 simulations per test) is benchmarks/calibration.py's."""


@pytest.mark.slow
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.name)
def test_no_change_rarely_looks_significantly_worse(scenario: Scenario) -> None:
    """Nor significantly better: the two models are exchangeable."""
    shares = outcomes(scenario, NULL_SIMULATIONS, 0.0, scenario.statistics, seed=1)
    assert all(max(worse, better) <= ALLOWED for worse, better in shares.values()), shares


@pytest.mark.slow
def test_the_check_fails_a_test_that_alarms_too_often() -> None:
    """The check above can fail: 80% intervals (10% one-sided false alarms) used as if they
    were 95% ones break it, on the same simulated pull requests."""
    scenario = SCENARIOS[0]
    shares = outcomes(scenario, NULL_SIMULATIONS, 0.0, scenario.statistics, 1, confidence=0.8)
    assert all(worse > ALLOWED for worse, _ in shares.values()), shares


@pytest.mark.slow
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.name)
def test_a_two_point_drop_is_caught(scenario: Scenario) -> None:
    caught = {}
    for statistic in scenario.statistics:
        damage = damage_for(scenario, statistic)
        found = outcomes(scenario, POWER_SIMULATIONS, damage, (statistic,), 2)
        caught[statistic] = found[statistic][0]
    assert all(rate >= WEAKER.get(name, POWER) for name, rate in caught.items()), caught
