"""Bad input from the room: counted by reason, logged with where it came from, kept for the console.

Nothing a device sends may crash the hub; a technician far away needs to see *what* was
wrong and *where* it came from, so every rejection keeps the topic (or port) and reason.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from dataclasses import dataclass

log = logging.getLogger("classroom_hub.rejects")


@dataclass(frozen=True, slots=True)
class Rejection:
    ts: float
    source: str
    reason: str
    detail: str


class Rejections:
    """Counts by reason plus the most recent rejections, oldest dropped first."""

    def __init__(self, keep: int = 200, log_every: int = 1000) -> None:
        self.by_reason: Counter[str] = Counter()
        self.recent: deque[Rejection] = deque(maxlen=keep)
        self._log_every = log_every

    def add(self, source: str, reason: str, detail: str = "") -> None:
        self.by_reason[reason] += 1
        count = self.by_reason[reason]
        self.recent.append(Rejection(time.time(), source, reason, detail[:300]))
        # A device stuck in a loop of bad messages must not flood the log: the first few,
        # then one line per ``log_every``, each with the running count.
        if count <= 5 or count % self._log_every == 0:
            log.warning("event=rejected source=%s reason=%s count=%d detail=%r", source, reason, count, detail[:300])

    @property
    def total(self) -> int:
        return sum(self.by_reason.values())
