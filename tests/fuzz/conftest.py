"""Fuzzing every input a student (or a lost tablet, a bad lesson package, a broken file) can send.

``pytest tests/fuzz`` runs the CI profile; ``pytest -m slow tests/fuzz`` (or
``HUB_FUZZ_PROFILE=slow``) runs the same properties with thousands of random cases each.
See tests/fuzz/profile.py and docs/fuzzing.md.
"""

from __future__ import annotations

import json

import pytest
from _pytest.mark.expression import Expression

from tests.fuzz import profile

SLOW_TIMEOUT_S = 3600


def _asks_for_the_slow_run(config: pytest.Config) -> bool:
    """``-m EXPR`` selects the tests marked slow and not the unmarked ones (``-m slow``)."""
    markexpr = config.getoption("markexpr", "") or ""
    if not markexpr:
        return False
    try:
        expression = Expression.compile(markexpr)
    except Exception:  # pytest itself reports a malformed -m expression
        return False
    return expression.evaluate(lambda name, **kwargs: name == "slow") and not expression.evaluate(
        lambda name, **kwargs: False
    )


def pytest_configure(config: pytest.Config) -> None:
    # Called when this conftest is loaded, before the fuzz modules are imported and their
    # settings fixed: the profile must be chosen here.
    if _asks_for_the_slow_run(config):
        profile.use("slow")


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects: in the slow run every fuzz test is a slow test
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if not item.nodeid.startswith("tests/fuzz/"):
            continue
        # Inputs of hundreds of kB are the point here; hypothesis warns when it prints one.
        item.add_marker(
            pytest.mark.filterwarnings("ignore:Generating overly large repr:hypothesis.errors.HypothesisWarning")
        )
        if profile.current() == "slow":
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.timeout(SLOW_TIMEOUT_S))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not profile.CASES:
        return
    terminalreporter.section(f"fuzz cases run per input (profile {profile.current()})")
    width = max(len(name) for name in profile.CASES)
    for name, count in sorted(profile.CASES.items()):
        terminalreporter.write_line(f"{name:<{width}}  {count:>7}")
    terminalreporter.write_line(f"{'total':<{width}}  {sum(profile.CASES.values()):>7}")
    cases = dict(sorted(profile.CASES.items()))
    terminalreporter.write_line(json.dumps({"profile": profile.current(), "cases": cases}))
