"""The school's roster pulled from the central database on a schedule, into the hub's cache.

The cache (classroom_hub/roster/cache.py, the one file ``roster.sqlite3``) is what lessons and
pages use, read at each request, so a pulled class shows at once and classes and students are
there when the network is not. A failed pull keeps the last good copy and is tried again
with backoff; a successful one replaces the cache with exactly what the centre holds. A row
the hub cannot use fails the whole pull (the cache is not touched). While the last pull
failed, the hub shows the alarm ``roster_pull_failing`` with the reason (pusher/web.py); the
next good pull clears it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path

from classroom_hub.backoff import Backoff
from classroom_hub.errors import HubError
from classroom_hub.pusher.errors import PushError
from classroom_hub.pusher.privacy import mask_personal
from classroom_hub.roster import Roster, RosterCache
from classroom_hub.roster.location import roster_path

log = logging.getLogger(__name__)


def roster_cache_path(data_dir: Path) -> Path:
    """The hub's one roster file, the one lessons and pages read (roster/location.py)."""
    return roster_path(data_dir)


class RosterPull:
    def __init__(self, dsn: str, school_code: str, cache_path: Path, *, interval_s: float, backoff: Backoff) -> None:
        self.dsn = dsn
        self.school_code = school_code
        self.cache_path = cache_path
        self.interval_s = interval_s
        self.backoff = backoff
        self.last_pull: float | None = None
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self.counts: dict[str, int] = {}
        self.failures = 0  # failed pulls since the start (/metrics)
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def pull_once(self) -> dict[str, int]:
        """Pull now; raises CentralError (unreachable, unknown school) or RosterError (cache)."""
        try:  # asyncpg is optional: without it only this pull is off, not the hub
            from classroom_hub.central import roster_from_central
            from classroom_hub.central.dsn import safe_dsn
        except ImportError as err:
            raise PushError(f"the roster pull needs the Python package asyncpg ({err})") from err
        roster = await roster_from_central(self.dsn, self.school_code)
        counts = await asyncio.get_running_loop().run_in_executor(None, self._replace, roster)
        self.last_pull, self.counts, self.last_error = time.time(), counts, None
        log.info("event=roster_pulled school=%s source=%s %s", self.school_code, safe_dsn(self.dsn),
                 " ".join(f"{k}={v}" for k, v in counts.items()))  # fmt: skip
        return counts

    def _replace(self, roster: Roster) -> dict[str, int]:
        with RosterCache(self.cache_path) as cache:
            cache.replace(roster)
            return cache.counts()

    async def run(self) -> None:
        while True:
            try:
                await self.pull_once()
                self.backoff.reset()
                delay = self.interval_s
            except Exception as err:  # unreachable, bad rows, a bug: the hub goes on, the alarm says why
                reason = str(err) if isinstance(err, HubError | OSError) else f"{type(err).__name__}: {err}"
                self.last_error, self.last_error_at = mask_personal(reason), time.time()
                self.failures += 1
                delay = min(self.backoff.next(), self.interval_s)
                log.warning("event=roster_pull_failed school=%s retry_in_s=%.0f error=%r",
                            self.school_code, delay, self.last_error)  # fmt: skip
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
            self._wake.clear()
