"""Loading what parts declare through Python entry points: the hub's packages
(``classroom_hub.packages``) and device kinds (``classroom_hub.device_kinds``).

One loader for both: each entry point is imported; one that cannot be (a missing optional
dependency) or whose declaration is wrong is left out with the reason, logged once, and the
rest load. Below the application: it imports nothing of the hub (device_drivers use it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from importlib.metadata import EntryPoint
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

# What a declaration check says: None when the declaration may load, else why not.
Check = Callable[[str, Any, dict[str, T]], "str | None"]


def load_declared(entries: Iterable[EntryPoint], what: str, check: Check[T]) -> tuple[dict[str, T], dict[str, str]]:
    """The declarations behind ``entries`` by entry point name, in the order found, and why the
    others could not load. ``what`` names them in the log (``package``, ``device_kind``)."""
    found: dict[str, T] = {}
    unavailable: dict[str, str] = {}
    for entry in entries:
        try:
            declared = entry.load()
        except ImportError as err:
            unavailable[entry.name] = f"cannot be imported: {err}"
            log.error("event=%s_unavailable %s=%s entry=%s error=%r", what, what, entry.name, entry.value, str(err))
            continue
        problem = check(entry.name, declared, found)
        if problem is not None:
            unavailable[entry.name] = problem
            log.error("event=%s_refused %s=%s entry=%s reason=%r", what, what, entry.name, entry.value, problem)
            continue
        found[entry.name] = declared
    return found, unavailable
