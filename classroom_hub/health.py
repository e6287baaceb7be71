"""What each part of the hub says about itself: ``/healthz`` is 200 only when every part is up.

Besides the parts, ``/healthz`` shows the hub's active alarms (classroom_hub/alarms/hub.py)
and a few figures a technician needs to judge a degraded hub (free disk, age of the oldest
record not yet delivered...): docs/install.md, "Is the hub healthy?".
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

PartState = Literal["starting", "up", "down", "stopped"]


@dataclass
class Health:
    """Each part's probe, by part name; a package that cannot load adds one that says ``down``."""

    parts: dict[str, Callable[[], PartState]] = field(default_factory=dict)
    started_at: float = field(default_factory=time.time)
    reasons: dict[str, str] = field(default_factory=dict)  # why a part is down, when it says
    figures: dict[str, Callable[[], Any]] = field(default_factory=dict)  # shown on /healthz, by name
    alarms: Callable[[], list[dict[str, Any]]] | None = None  # the hub's active alarms

    def down(self, part: str, reason: str) -> None:
        """A part that cannot run at all (its package cannot be imported), and why."""
        self.parts[part] = lambda: "down"
        self.reasons[part] = reason

    def report(self) -> tuple[bool, dict[str, str]]:
        states: dict[str, str] = {name: probe() for name, probe in self.parts.items()}
        return all(s == "up" for s in states.values()), states


def running(*tasks: asyncio.Future[Any] | None) -> PartState:
    """A part whose work is background tasks is up while every one of them still runs: one that
    ended (a bug raised out of it) leaves the part down, and /healthz says so."""
    return "up" if all(t is not None and not t.done() for t in tasks) else "down"
