"""The room's one alarm service: every alarm, from devices and from labs, in one table and one list.

Who raises an alarm decides when it clears (the registry's rules in
classroom_hub/alarms/devices.py; a lab's limits, hysteresis, delays and change windows in
stem_labs/alarms.py). The service keeps the rest, the same for all: one active alarm per
source, device, kind and severity; raising it again refreshes its detail; a person
acknowledges it ("I have seen it", which does not clear it); listeners hear every change;
the history survives a restart.

The table is ``alarms`` in the hub's store file (telemetry.db, migrations 2 and 4 of
classroom_hub/store/schema.py), written on the store's second connection: alarms are rare,
small writes, queued in order, and never wait for the telemetry's group commits.

A write that fails (the disk full, the file locked) is kept: each alarm's last unsaved row
(a row is the alarm's whole state, so the last one says all) is written again with the next
change and by ``save_unsaved`` when the store heals. Beyond ``UNSAVED_MAX`` alarms waiting,
the oldest are dropped, counted in ``unsaved_dropped`` and logged once.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from classroom_hub.alarms.model import SEVERITY_ORDER, Alarm, Severity
from classroom_hub.clock import SYSTEM, Clock
from classroom_hub.events import Listeners
from classroom_hub.storage.sqlite import Database, transaction

log = logging.getLogger(__name__)

AlarmListener = Callable[[Alarm], None]
Index = tuple[str, str, str]  # device, kind, severity: one active alarm each, per source

DETAIL_MAX = 300
UNSAVED_MAX = 10_000
_COLUMNS = ("id, device_id, kind, detail, raised_at, severity, source, sensor, value, limit_value, "
            "cleared_at, acknowledged_at, acknowledged_by")  # fmt: skip
_SAVE = (
    f"INSERT INTO alarms ({_COLUMNS}) VALUES ({', '.join('?' * 13)}) ON CONFLICT (id) DO UPDATE SET "
    "detail = excluded.detail, value = excluded.value, cleared_at = excluded.cleared_at, "
    "acknowledged_at = excluded.acknowledged_at, acknowledged_by = excluded.acknowledged_by"
)


class AlarmService:
    """``db`` is the store's connection that holds the ``alarms`` table; without one (unit
    tests) alarms live in memory only. ``clock`` stamps when an alarm is raised, cleared and
    acknowledged (the hub's clock; a fake one in tests)."""

    def __init__(self, db: Database | None = None, *, clock: Clock = SYSTEM) -> None:
        self._db = db
        self.clock = clock
        self._active: dict[str, dict[Index, Alarm]] = {}  # source -> its active alarms
        self._listeners: Listeners[[Alarm]] = Listeners("alarm_listener_failed")
        self.raised: Counter[tuple[str, str]] = Counter()  # (source, kind) -> raised since start, for /metrics
        # Alarm id -> its last row whose write failed, oldest first; touched on the database's
        # thread (a write) and the loop (a count), hence the lock.
        self._unsaved: dict[str, tuple[Any, ...]] = {}
        self._unsaved_lock = threading.Lock()
        self.unsaved_max = UNSAVED_MAX
        self.unsaved_dropped = 0

    # --- lifecycle -------------------------------------------------------------------

    async def open(self) -> None:
        """Take back the alarms that were active when the hub stopped."""
        if self._db is None:
            return
        sql = f"SELECT {_COLUMNS} FROM alarms WHERE cleared_at IS NULL ORDER BY raised_at"
        for alarm in await self._db.run(lambda c: [_alarm(r) for r in c.execute(sql)]):
            self._of(alarm.source)[_index(alarm)] = alarm
        log.info("event=alarms_opened active=%d", len(self.active()))

    async def close(self) -> None:
        """Wait until every change so far is written."""
        if self._db is not None:
            await self._db.barrier()

    @property
    def healthy(self) -> bool:
        """False while the last write of an alarm failed (it is logged and counted)."""
        return self._db is None or not self._db.last_write_failed

    def on_change(self, listener: AlarmListener) -> Callable[[], None]:
        """``listener`` runs when any alarm is raised, changed, cleared or acknowledged; returns its remover."""
        return self._listeners.add(listener)

    # --- changes ---------------------------------------------------------------------

    def raise_alarm(
        self,
        device_id: str,
        kind: str,
        detail: str,
        *,
        severity: Severity = "alarm",
        source: str = "device",
        sensor: str | None = None,
        value: float | None = None,
        limit: float | None = None,
    ) -> Alarm:
        """Raise the alarm, or, if one is active for the same source, device, kind and
        severity, refresh its detail."""
        detail = detail[:DETAIL_MAX]
        active = self._of(source)
        current = active.get((device_id, kind, severity))
        if current is not None:
            if current.detail != detail:
                current.detail = detail
                self._changed(current)
            return current
        now = self.clock.time()
        alarm = Alarm(uuid.uuid4().hex, device_id, kind, detail, now, severity, source, sensor, value, limit)
        active[(device_id, kind, severity)] = alarm
        self.raised[(source, kind)] += 1
        log.warning("event=alarm_raised source=%s device=%s kind=%s severity=%s detail=%r",
                    source, device_id, kind, severity, alarm.detail)  # fmt: skip
        self._changed(alarm)
        return alarm

    def clear(
        self, device_id: str, kind: str, *, source: str = "device", severity: Severity | None = None
    ) -> list[Alarm]:
        """Clear the alarm of this kind (of one severity, or of both); returns what was cleared."""
        cleared = []
        active = self._of(source)
        for level in (severity,) if severity else ("warning", "alarm"):
            alarm = active.pop((device_id, kind, level), None)
            if alarm is None:
                continue
            alarm.cleared_at = self.clock.time()
            log.info("event=alarm_cleared source=%s device=%s kind=%s severity=%s after_s=%.0f",
                     source, device_id, kind, level, alarm.cleared_at - alarm.raised_at)  # fmt: skip
            self._changed(alarm)
            cleared.append(alarm)
        return cleared

    def acknowledge(self, alarm_id: str, username: str, *, source: str | None = None) -> Alarm | None:
        """Note that ``username`` has seen the active alarm; None if there is no such active
        alarm (of ``source``, when given). Acknowledging twice keeps the first."""
        alarm = self.find(alarm_id, source=source)
        if alarm is None or alarm.acknowledged_at is not None:
            return alarm
        alarm.acknowledged_at, alarm.acknowledged_by = self.clock.time(), username
        log.info("event=alarm_acknowledged source=%s device=%s kind=%s user=%s",
                 alarm.source, alarm.device_id, alarm.kind, username)  # fmt: skip
        self._changed(alarm)
        return alarm

    async def adopt(self, alarms: Iterable[Alarm]) -> int:
        """Keep alarms a package kept elsewhere before (a lab book's own table); an alarm
        already in the table stays as it is. Returns how many were new."""
        rows = [_row(a) for a in alarms]
        if self._db is None or not rows:
            return 0

        def insert(c: sqlite3.Connection) -> int:
            before = c.total_changes
            c.executemany(f"INSERT OR IGNORE INTO alarms ({_COLUMNS}) VALUES ({', '.join('?' * 13)})", rows)
            return c.total_changes - before

        added = await self._db.write(insert)
        for row in rows:
            alarm = _alarm(row)
            if alarm.active:
                self._of(alarm.source).setdefault(_index(alarm), alarm)
        log.info("event=alarms_adopted offered=%d new=%d", len(rows), added)
        return added

    # --- queries ---------------------------------------------------------------------

    def active(self, *, source: str | None = None, device_id: str | None = None) -> list[Alarm]:
        """Active alarms, the most severe first, then the newest first."""
        found = [
            a for src, active in self._active.items() if source in (None, src)
            for a in active.values() if device_id in (None, a.device_id)
        ]  # fmt: skip
        return sorted(found, key=lambda a: (-SEVERITY_ORDER[a.severity], -a.raised_at))

    def find(self, alarm_id: str, *, source: str | None = None) -> Alarm | None:
        return next((a for a in self.active(source=source) if a.id == alarm_id), None)

    def index(self, source: str) -> Mapping[Index, Alarm]:
        """The active alarms of ``source`` by (device, kind, severity), live: for a source's rules
        that look one up for every reading they judge."""
        return self._of(source)

    def _of(self, source: str) -> dict[Index, Alarm]:
        return self._active.setdefault(source, {})

    def is_active(self, device_id: str, kind: str, *, source: str) -> bool:
        active = self._of(source)
        return (device_id, kind, "warning") in active or (device_id, kind, "alarm") in active

    async def history(
        self, limit: int = 200, *, device_id: str | None = None, source: str | None = None
    ) -> list[Alarm]:
        """Active and cleared alarms, newest first."""
        if self._db is None:
            return sorted(self.active(source=source, device_id=device_id), key=lambda a: -a.raised_at)[:limit]
        where = [f"{name} = ?" for name, v in (("device_id", device_id), ("source", source)) if v is not None]
        params: list[Any] = [v for v in (device_id, source) if v is not None]
        sql = (f"SELECT {_COLUMNS} FROM alarms {'WHERE ' + ' AND '.join(where) if where else ''} "
               "ORDER BY raised_at DESC LIMIT ?")  # fmt: skip
        return await self._db.run(lambda c: [_alarm(r) for r in c.execute(sql, (*params, limit))])

    # --- keeping and telling -----------------------------------------------------------

    @property
    def unsaved(self) -> int:
        """Alarms whose last change waits for the store to heal."""
        with self._unsaved_lock:
            return len(self._unsaved)

    def save_unsaved(self) -> None:
        """Write again what failed (called when the store heals)."""
        if self._db is not None and self.unsaved:
            self._db.submit(lambda c: self._save(c, None))

    def _changed(self, alarm: Alarm) -> None:
        if self._db is not None:
            row = _row(alarm)  # as it is now: a later change must not slip into this write
            self._db.submit(lambda c: self._save(c, row))
        self._listeners.emit(alarm)  # one that raises is logged and counted; the others still hear it


    def _save(self, conn: sqlite3.Connection, row: tuple[Any, ...] | None) -> None:
        """On the database's thread: the rows that failed before, then ``row``, in one transaction."""
        with self._unsaved_lock:
            rows = dict(self._unsaved)
        if row is not None:
            rows.pop(row[0], None)
            rows[row[0]] = row
        if not rows:
            return
        try:
            with transaction(conn):
                conn.executemany(_SAVE, list(rows.values()))
        except sqlite3.Error:
            with self._unsaved_lock:
                if row is not None:
                    self._unsaved.pop(row[0], None)
                    self._unsaved[row[0]] = row
                over = len(self._unsaved) - self.unsaved_max
                if over > 0:
                    for key in list(self._unsaved)[:over]:
                        del self._unsaved[key]
                    if self.unsaved_dropped == 0:
                        log.error("event=alarm_rows_dropped bound=%d reason='the store fails; the oldest unsaved "
                                  "alarm changes are dropped'", self.unsaved_max)  # fmt: skip
                    self.unsaved_dropped += over
            raise
        with self._unsaved_lock:
            for key, saved in rows.items():
                if self._unsaved.get(key) is saved:
                    del self._unsaved[key]


def _index(alarm: Alarm) -> Index:
    return (alarm.device_id, alarm.kind, alarm.severity)


def _row(a: Alarm) -> tuple[Any, ...]:
    return (a.id, a.device_id, a.kind, a.detail, a.raised_at, a.severity, a.source, a.sensor, a.value, a.limit,
            a.cleared_at, a.acknowledged_at, a.acknowledged_by)  # fmt: skip


def _alarm(row: tuple[Any, ...]) -> Alarm:
    rid, device, kind, detail, raised, severity, source, sensor, value, limit, cleared, acked, by = row
    return Alarm(rid, device, kind, detail, raised, severity, source, sensor, value, limit, cleared, acked, by)
