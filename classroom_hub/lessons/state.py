"""The lesson's shared state, owned by the hub, changed only in numbered revisions.

The state is a small dict of top-level keys (``step``, ``locked``, ``question``,
``reveal``...). Every change sets one or more keys *whole* and gets the next revision
number; the changes are kept in a bounded log. A tablet that knows revision ``r`` catches
up with the keys set after ``r`` merged together (a delta); one that is too far behind,
or from another lesson run, gets the whole state (a snapshot). Values are never mutated
after being set, so the log can share them.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

DEFAULT_LOG = 2000


class LessonState:
    def __init__(self, run_id: str, *, log_size: int = DEFAULT_LOG) -> None:
        self.run_id = run_id
        self.rev = 0
        self.values: dict[str, Any] = {}
        self._log: deque[tuple[int, dict[str, Any]]] = deque(maxlen=log_size)
        # When each recent revision was published (monotonic): for the tablets' ack lag.
        self._published: deque[tuple[int, float]] = deque(maxlen=log_size)

    def change(self, values: dict[str, Any]) -> int:
        """Set these keys in one new revision; returns it."""
        self.rev += 1
        self.values.update(values)
        self._log.append((self.rev, values))
        self._published.append((self.rev, time.monotonic()))
        return self.rev

    def since(self, rev: int | None, run_id: str | None = None) -> dict[str, Any] | None:
        """The keys set after ``rev`` (merged, latest wins), or None when a snapshot is needed."""
        if rev is None or run_id != self.run_id or rev > self.rev:
            return None
        if rev == self.rev:
            return {}
        if not self._log or self._log[0][0] > rev + 1:
            return None  # fell out of the log
        merged: dict[str, Any] = {}
        for number, values in self._log:
            if number > rev:
                merged.update(values)
        return merged

    def snapshot(self) -> dict[str, Any]:
        return dict(self.values)

    def published_at(self, rev: int) -> float | None:
        """When ``rev`` was published (time.monotonic()), if still remembered."""
        if not self._published or rev < self._published[0][0] or rev > self.rev:
            return None
        number, at = self._published[rev - self._published[0][0]]
        return at if number == rev else None
