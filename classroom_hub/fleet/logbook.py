"""The fleet's own connection to the hub's store: alarms, device history, store depth.

Why a second connection: the store (classroom_hub/store) writes telemetry in group commits
on its own thread and offers no query by device and time. Alarms are rare, small writes
and the console's charts are reads; WAL lets this connection read while the store writes,
and SQLite's busy timeout orders the few writes. Everything runs on one worker thread.
The ``alarms`` table comes from the store's migration 2 (classroom_hub/store/schema.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from classroom_hub.errors import StoreError
from classroom_hub.fleet.alarms import Alarm
from classroom_hub.store.schema import STREAMS

log = logging.getLogger(__name__)
T = TypeVar("T")

_ALARM_COLUMNS = "id, device_id, kind, detail, raised_at, cleared_at, acknowledged_at, acknowledged_by"


@dataclass(frozen=True)
class DeviceHistory:
    """What the console's chart draws: state changes and battery samples, oldest first."""

    device_id: str
    since: float
    until: float
    state_before: str | None  # the state at ``since`` (last change before the window)
    states: list[tuple[float, str]] = field(default_factory=list)
    battery: list[tuple[float, float, bool | None]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id,
            "since": self.since,
            "until": self.until,
            "state_before": self.state_before,
            "states": [list(s) for s in self.states],
            "battery": [list(b) for b in self.battery],
        }


@dataclass(frozen=True)
class StoreDepth:
    last_seq: dict[str, int]  # stream -> highest sequence number stored
    outbox: dict[tuple[str, str], int]  # (destination, stream) -> rows not yet confirmed


class Logbook:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fleet-logbook")
        self._conn: sqlite3.Connection | None = None
        self.write_errors = 0

    async def open(self) -> None:
        def connect() -> None:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            conn.execute("PRAGMA busy_timeout = 30000")
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "alarms" not in tables:
                conn.close()
                raise StoreError(f"{self.path} has no alarms table: the store must be opened (migrated) first")
            self._conn = conn

        await self._run(connect)

    async def close(self) -> None:
        def disconnect() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        await self._run(disconnect)  # runs after every write queued before it
        self._executor.shutdown(wait=True)

    # --- alarms ----------------------------------------------------------------------

    def save(self, alarm: Alarm) -> None:
        """Insert or update the alarm; queued in order, returns at once."""
        row = (alarm.id, alarm.device_id, alarm.kind, alarm.detail, alarm.raised_at,
               alarm.cleared_at, alarm.acknowledged_at, alarm.acknowledged_by)  # fmt: skip

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                f"INSERT INTO alarms ({_ALARM_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET detail = excluded.detail, cleared_at = excluded.cleared_at, "
                "acknowledged_at = excluded.acknowledged_at, acknowledged_by = excluded.acknowledged_by",
                row,
            )

        future = self._executor.submit(self._with_conn, write)
        future.add_done_callback(self._log_write_error)

    async def active_alarms(self) -> list[Alarm]:
        sql = f"SELECT {_ALARM_COLUMNS} FROM alarms WHERE cleared_at IS NULL ORDER BY raised_at"
        return await self._run_sql(lambda c: [_alarm(r) for r in c.execute(sql)])

    async def alarm_history(self, limit: int = 200, device_id: str | None = None) -> list[Alarm]:
        """Newest first, active and cleared."""
        where, params = ("WHERE device_id = ?", (device_id, limit)) if device_id else ("", (limit,))

        def query(c: sqlite3.Connection) -> list[Alarm]:
            rows = c.execute(f"SELECT {_ALARM_COLUMNS} FROM alarms {where} ORDER BY raised_at DESC LIMIT ?", params)
            return [_alarm(r) for r in rows]

        return await self._run_sql(query)

    # --- history and depth -----------------------------------------------------------

    async def device_history(self, device_id: str, since: float, until: float | None = None) -> DeviceHistory:
        until = until or time.time()

        def query(c: sqlite3.Connection) -> DeviceHistory:
            before = c.execute(
                "SELECT data FROM device_events WHERE device_id = ? AND type = 'state' AND ts < ? "
                "ORDER BY ts DESC LIMIT 1",
                (device_id, since),
            ).fetchone()
            states = [(ts, _field(data, "to")) for ts, data in c.execute(
                "SELECT ts, data FROM device_events WHERE device_id = ? AND type = 'state' AND ts >= ? AND ts <= ? "
                "ORDER BY ts", (device_id, since, until))]  # fmt: skip
            battery = []
            for ts, data in c.execute(
                "SELECT ts, data FROM device_events WHERE device_id = ? AND type = 'battery' AND ts >= ? AND ts <= ? "
                "ORDER BY ts",
                (device_id, since, until),
            ):
                sample = json.loads(data)
                battery.append((ts, float(sample["battery"]), sample.get("charging")))
            return DeviceHistory(
                device_id, since, until, _field(before[0], "to") if before else None,
                [(ts, s) for ts, s in states if s is not None], battery,
            )  # fmt: skip

        return await self._run_sql(query)

    async def store_depth(self) -> StoreDepth:
        """Cheap at any size: the highest sequence per stream, minus each destination's cursor."""

        def query(c: sqlite3.Connection) -> StoreDepth:
            last = {s: int(c.execute(f"SELECT coalesce(max(seq), 0) FROM {s}").fetchone()[0]) for s in STREAMS}
            outbox = {
                (dest, stream): max(0, last[stream] - int(seq))
                for dest, stream, seq in c.execute("SELECT destination, stream, last_seq FROM outbox_cursor")
                if stream in last
            }
            return StoreDepth(last, outbox)

        return await self._run_sql(query)

    # --- plumbing --------------------------------------------------------------------

    def _with_conn(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._conn is None:
            raise StoreError(f"the fleet logbook on {self.path} is not open")
        try:
            return fn(self._conn)
        except sqlite3.Error as err:
            raise StoreError(f"{self.path}: {err}") from err

    async def _run_sql(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await self._run(lambda: self._with_conn(fn))

    async def _run(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    def _log_write_error(self, future: Future[None]) -> None:
        error = future.exception()
        if error is not None:
            self.write_errors += 1
            log.error("event=alarm_not_saved path=%s error=%r", self.path, str(error))


def _alarm(row: tuple[Any, ...]) -> Alarm:
    return Alarm(*row)


def _field(data: str, key: str) -> str | None:
    try:
        value = json.loads(data).get(key)
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None
