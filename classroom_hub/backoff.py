"""The one backoff of the hub: how long to wait before trying again something that just failed.

The wait starts at ``minimum`` and doubles with every failure in a row, up to ``maximum``;
``reset()`` after a success starts again from ``minimum``. With ``jitter="equal"`` half of
each wait is certain and the other half random, so 40 tablets' agents (or the hub's couriers)
that lost the same server do not all come back in step; ``"none"`` waits exactly (a camera or
a microphone of the hub itself, which nobody else retries against).

Used by the MQTT link's reconnects, the pusher's and the studio's couriers, the roster pull,
and the studio's capture and audio inputs. Imports nothing of the hub.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal


@dataclass
class Backoff:
    minimum: float
    maximum: float
    jitter: Literal["equal", "none"] = "equal"
    attempt: int = 0

    def next(self) -> float:
        """The wait before the next try (and count this failure)."""
        step = min(self.maximum, self.minimum * 2**self.attempt)
        self.attempt = min(self.attempt + 1, 62)
        if self.jitter == "none":
            return float(step)
        return float(step / 2 + random.uniform(0, step / 2))

    def reset(self) -> None:
        """It worked: the next failure waits ``minimum`` again."""
        self.attempt = 0
