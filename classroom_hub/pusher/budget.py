"""The store's disk budget and the policy that keeps it: weeks offline must not fill the disk.

The policy, applied every ``housekeeping_interval_s`` (and at once when over budget):

1. Sensor readings older than ``downsample_after_days`` are kept as means over
   ``downsample_bucket_s`` (1-minute means by default): the raw readings of a bucket are
   replaced by one row with their mean and ``samples`` = how many it stands for. Buckets
   holding a row every destination already has are left alone (no mean of half a bucket).
2. Rows every destination that takes their stream has confirmed are removed once older
   than ``keep_delivered_days``. Quarantined rows are kept (someone must look at them), and
   so is the newest row of each stream (SQLite would reuse its sequence number).
3. Over the budget: delivered rows are removed whatever their age, and readings older
   than one day are averaged too.

Learning statements are never removed before every destination has them, whatever the
budget says. The technician is alarmed (console, log, /healthz figure) at
``disk_alarm_percent`` of the budget, long before it is full.

The budget is what the store may take; the disk may fill up first (other files, a small
card). So the free space of the store's disk counts too: under ``store.disk_free_min_mb``
the level is "over" whatever the store's own size (the policy's pressure mode gives space
back), under twice that a "warning"; the message says which.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Literal

from classroom_hub.alarms.hub import disk_free_bytes
from classroom_hub.pusher.ledger import TIME_COLUMN, Ledger
from classroom_hub.pusher.settings import Central
from classroom_hub.store.schema import STREAMS

log = logging.getLogger(__name__)

AlarmLevel = Literal["ok", "warning", "over"]
_DAY = 86400.0
_GROUPS_PER_COMMIT = 500
_PRUNE_CHUNK = 20_000


@dataclass(frozen=True, slots=True)
class Housekeeping:
    action: Literal["downsample", "prune_delivered"]
    stream: str
    rows_in: int  # rows removed
    rows_out: int  # rows written in their place (means)
    detail: str


@dataclass
class BudgetState:
    used_bytes: int = 0
    budget_bytes: int = 0
    level: AlarmLevel = "ok"
    since: float | None = None  # when the current level began
    checked_at: float | None = None
    last_run: list[Housekeeping] = field(default_factory=list)
    disk_free_bytes: int | None = None  # on the store's disk
    disk_free_min_bytes: int = 0

    @property
    def percent(self) -> float:
        return 100.0 * self.used_bytes / self.budget_bytes if self.budget_bytes else 0.0

    def message(self) -> str:
        text = f"telemetry store uses {self.used_bytes / 1e6:.0f} MB of its {self.budget_bytes / 1e6:.0f} MB budget"
        text = f"{text} ({self.percent:.0f} %)"
        if self.disk_low:
            text += f"; only {(self.disk_free_bytes or 0) / 1e6:.0f} MB free on its disk"
        return text

    @property
    def disk_low(self) -> bool:
        """Less than twice the minimum free on the store's disk."""
        return self.disk_free_bytes is not None and self.disk_free_bytes < 2 * self.disk_free_min_bytes


def policy_lines(central: Central) -> list[str]:
    """The policy in words, as `push status` and the console show it."""
    return [
        f"sensor readings older than {central.downsample_after_days:g} days are kept as "
        f"{central.downsample_bucket_s}-second means",
        f"rows every destination has confirmed are removed after {central.keep_delivered_days:g} days "
        "(quarantined rows are kept)",
        "over the budget: confirmed rows are removed at once and readings older than 1 day are averaged",
        "learning statements are never removed before every destination has them",
        f"alarm at {central.disk_alarm_percent} % of {central.disk_budget_mb} MB",
    ]


class StoreBudget:
    def __init__(
        self, ledger: Ledger, central: Central, takers: dict[str, tuple[str, ...]], *, disk_free_min_mb: int = 0
    ) -> None:
        """``takers``: destination name -> the streams it takes (whose cursors protect rows)."""
        self.ledger = ledger
        self.central = central
        self.takers = takers
        self.state = BudgetState(budget_bytes=central.disk_budget_mb * 1024 * 1024,
                                 disk_free_min_bytes=disk_free_min_mb * 1_000_000)  # fmt: skip

    async def check(self) -> BudgetState:
        """Measure and set the alarm level; logs when it changes."""
        state = self.state
        state.used_bytes = await self.ledger.used_bytes()
        state.disk_free_bytes = disk_free_bytes(self.ledger.path.parent)
        state.checked_at = time.time()
        percent = state.percent
        full = state.disk_free_bytes is not None and state.disk_free_bytes < state.disk_free_min_bytes
        level: AlarmLevel = (
            "over" if percent >= 100 or full
            else "warning" if percent >= self.central.disk_alarm_percent or state.disk_low
            else "ok"
        )  # fmt: skip
        if level != state.level:
            state.level, state.since = level, time.time()
            if level == "ok":
                log.info("event=store_budget_ok %s", _kv(state))
            elif level == "warning":
                log.warning("event=store_budget_alarm level=warning %s", _kv(state))
            else:
                log.error("event=store_budget_alarm level=over %s", _kv(state))
        return state

    async def housekeep(self, *, now: float | None = None) -> list[Housekeeping]:
        """Apply the policy once; returns (and records in the store) what it did."""
        now = time.time() if now is None else now
        pressure = self.state.level == "over"
        central = self.central
        protected = await self.ledger.run(self._delivered_everywhere)
        done: list[Housekeeping] = []
        after_days = min(central.downsample_after_days, 1.0) if pressure else central.downsample_after_days
        cutoff = now - after_days * _DAY
        removed, written = await self.ledger.run(
            lambda c: _downsample(c, cutoff, central.downsample_bucket_s, protected.get("readings", 0))
        )
        if removed:
            done.append(Housekeeping("downsample", "readings", removed, written,
                                     f"readings older than {after_days:g} days -> "
                                     f"{central.downsample_bucket_s}-second means"))  # fmt: skip
        keep_s = 0.0 if pressure else central.keep_delivered_days * _DAY
        for stream in STREAMS:
            upto = protected.get(stream, 0)
            if upto <= 0:
                continue
            count = await self.ledger.run(lambda c, s=stream, u=upto: _prune(c, s, u, now - keep_s))  # type: ignore[misc]
            if count:
                age = "any age (over budget)" if pressure else f"older than {central.keep_delivered_days:g} days"
                done.append(Housekeeping("prune_delivered", stream, count, 0, f"confirmed by every destination, {age}"))
        if pressure:
            # The WAL file keeps its largest size until a truncating checkpoint: give the space back.
            await self.ledger.run(lambda c: c.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall())
        if done:
            await self.ledger.run(lambda c: _record(c, now, done))
            for item in done:
                log.info("event=store_housekeeping action=%s stream=%s removed=%d written=%d detail=%r",
                         item.action, item.stream, item.rows_in, item.rows_out, item.detail)  # fmt: skip
        self.state.last_run = done
        return done

    def _delivered_everywhere(self, c: sqlite3.Connection) -> dict[str, int]:
        """Per stream, the highest sequence every destination taking it has confirmed (0: none)."""
        cursors = {(d, s): int(q) for d, s, q in c.execute("SELECT destination, stream, last_seq FROM outbox_cursor")}
        out: dict[str, int] = {}
        for stream in STREAMS:
            names = [name for name, streams in self.takers.items() if stream in streams]
            if names:
                out[stream] = min(cursors.get((name, stream), 0) for name in names)
        return out


def _kv(state: BudgetState) -> str:
    return f"used_mb={state.used_bytes / 1e6:.1f} budget_mb={state.budget_bytes / 1e6:.1f} percent={state.percent:.1f}"


def _top(c: sqlite3.Connection, stream: str) -> int:
    return int(c.execute(f"SELECT coalesce(max(seq), 0) FROM {stream}").fetchone()[0])


def _downsample(c: sqlite3.Connection, cutoff: float, bucket_s: int, protected: int) -> tuple[int, int]:
    """Replace raw readings older than ``cutoff`` by bucket means; returns (rows removed, means written)."""
    top = _top(c, "readings")
    groups = c.execute(
        "SELECT device_id, key, unit, CAST(ts / ? AS INTEGER) * ? AS bucket, count(*), "
        "sum(value * samples) / sum(samples), sum(samples) FROM readings "
        "WHERE ts < ? AND samples = 1 AND seq > ? AND seq < ? "
        "GROUP BY device_id, key, unit, bucket HAVING count(*) > 1",
        (bucket_s, bucket_s, cutoff, protected, top),
    ).fetchall()
    removed = written = 0
    for start in range(0, len(groups), _GROUPS_PER_COMMIT):
        with c:
            for device_id, key, unit, bucket, count, mean, samples in groups[start : start + _GROUPS_PER_COMMIT]:
                # Only whole buckets: if the bucket holds a row outside the candidates (confirmed
                # everywhere, already a mean, the newest row), leave it as it is.
                there, low, high = c.execute(
                    "SELECT count(*), min(seq), max(seq) FROM readings "
                    "WHERE device_id = ? AND key = ? AND ts >= ? AND ts < ?",
                    (device_id, key, bucket, bucket + bucket_s),
                ).fetchone()
                if there != count or low <= protected or high >= top:
                    continue
                c.execute(
                    "DELETE FROM readings WHERE device_id = ? AND key = ? AND ts >= ? AND ts < ?",
                    (device_id, key, bucket, bucket + bucket_s),
                )
                c.execute(
                    "INSERT INTO readings (device_id, key, ts, value, unit, samples) VALUES (?, ?, ?, ?, ?, ?)",
                    (device_id, key, float(bucket), mean, unit, samples),
                )
                removed += count
                written += 1
    return removed, written


def _prune(c: sqlite3.Connection, stream: str, upto: int, before: float) -> int:
    """Remove rows with seq <= ``upto`` older than ``before``, except quarantined rows and the newest row."""
    top = _top(c, stream)
    limit = min(upto, top - 1)
    low = int(c.execute(f"SELECT coalesce(min(seq), 0) FROM {stream}").fetchone()[0])
    removed = 0
    time_column = TIME_COLUMN[stream]
    while low <= limit:
        high = min(low + _PRUNE_CHUNK, limit + 1)
        with c:
            cursor = c.execute(
                f"DELETE FROM {stream} WHERE seq >= ? AND seq < ? AND {time_column} < ? "
                "AND seq NOT IN (SELECT seq FROM outbox_quarantine WHERE stream = ?)",
                (low, high, before, stream),
            )
            removed += cursor.rowcount
        low = high
    return removed


def _record(c: sqlite3.Connection, now: float, done: list[Housekeeping]) -> None:
    with c:
        c.executemany(
            "INSERT INTO store_housekeeping VALUES (?, ?, ?, ?, ?, ?)",
            [(now, h.action, h.stream, h.rows_in, h.rows_out, h.detail) for h in done],
        )
