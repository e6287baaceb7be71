"""How much the fuzz tests run, and how many cases each input got.

Two hypothesis profiles:

``ci`` (the default)
    A few hundred cases per property, ``derandomize=True`` (the same cases on every run,
    so CI is never flaky) and no example database. ``pytest tests/fuzz`` and ``make test``.
``slow``
    Thousands of cases per property, random seeds (each run explores new inputs) and the
    example database in ``.hypothesis/``, which keeps and replays any failure found.
    ``pytest -m slow tests/fuzz`` or ``HUB_FUZZ_PROFILE=slow pytest tests/fuzz``.

A test picks its size with :func:`fuzz` and counts its cases with :func:`counted`, under
the name of the input it fuzzes; ``tests/fuzz/conftest.py`` prints the counts at the end
of the session ("fuzz cases run per input").
"""

from __future__ import annotations

import functools
import inspect
import os
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings

PROFILE_VARIABLE = "HUB_FUZZ_PROFILE"
PROFILES = ("ci", "slow")

# The hub-level tests share one running hub between the examples of a test on purpose:
# that every example leaves it able to answer the next one is the property itself.
_SUPPRESSED = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large]

settings.register_profile(
    "fuzz-ci", derandomize=True, database=None, deadline=None, print_blob=True, suppress_health_check=_SUPPRESSED
)
settings.register_profile("fuzz-slow", deadline=None, print_blob=True, suppress_health_check=_SUPPRESSED)

SLOW_EXAMPLES = 5000
CASES: Counter[str] = Counter()
_profile = os.environ.get(PROFILE_VARIABLE, "ci")


def use(profile: str) -> None:
    """Choose the profile; only effective before the test modules are imported (conftest does it)."""
    global _profile
    if profile not in PROFILES:
        raise ValueError(f"{PROFILE_VARIABLE}={profile!r}: use one of {', '.join(PROFILES)}")
    _profile = profile


def current() -> str:
    return _profile


def fuzz(ci: int = 200, slow: int = SLOW_EXAMPLES) -> settings:
    """The settings of one property: ``ci`` cases in the CI profile, ``slow`` in the slow run."""
    if _profile not in PROFILES:
        raise ValueError(f"{PROFILE_VARIABLE}={_profile!r}: use one of {', '.join(PROFILES)}")
    return settings(settings.get_profile(f"fuzz-{_profile}"), max_examples=ci if _profile == "ci" else slow)


F = TypeVar("F", bound=Callable[..., Any])


def counted(name: str) -> Callable[[F], F]:
    """Count every case hypothesis runs through the test under ``name`` (the input fuzzed)."""

    def decorate(test: F) -> F:
        if inspect.iscoroutinefunction(test):

            @functools.wraps(test)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                CASES[name] += 1
                return await test(*args, **kwargs)

            return run_async  # type: ignore[return-value]

        @functools.wraps(test)
        def run(*args: Any, **kwargs: Any) -> Any:
            CASES[name] += 1
            return test(*args, **kwargs)

        return run  # type: ignore[return-value]

    return decorate
