"""A SQLite file as a destination: the central tables, in one file, for `make demo` and small sites.

Same keys and the same rules as the central PostgreSQL database (docs/central-database.md):
statements keyed by id, readings by (hub, device, sensor, time), state history by
(hub, device, time), every insert ``OR IGNORE``, one transaction per batch. sqlite3 blocks,
so the file is written from one worker thread: a :class:`Database` of the SQLite helper, with
the durability declared for ``push_file``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from classroom_hub.pusher.destination import Delivery, Destination, Row
from classroom_hub.pusher.errors import Rejected, Unreachable
from classroom_hub.pusher.privacy import agent_key
from classroom_hub.storage.sqlite import Database, Schema

# "IF NOT EXISTS": a file written before numbered migrations has these tables at version 0.
TABLES = """
CREATE TABLE IF NOT EXISTS xapi_statements (
    id TEXT PRIMARY KEY, statement TEXT NOT NULL, actor TEXT, verb TEXT, object_id TEXT, occurred_at TEXT,
    stored_at TEXT NOT NULL, school_code TEXT, room_id TEXT, hub_id TEXT);
CREATE INDEX IF NOT EXISTS xapi_statements_actor ON xapi_statements (actor);
CREATE INDEX IF NOT EXISTS xapi_statements_verb ON xapi_statements (verb);
CREATE INDEX IF NOT EXISTS xapi_statements_room ON xapi_statements (school_code, room_id, occurred_at);
CREATE TABLE IF NOT EXISTS sensor_readings (
    hub_id TEXT NOT NULL, device_id TEXT NOT NULL, sensor_key TEXT NOT NULL, measured_at TEXT NOT NULL,
    value REAL NOT NULL, unit TEXT, samples INTEGER NOT NULL DEFAULT 1, school_code TEXT, room_id TEXT,
    stored_at TEXT NOT NULL, PRIMARY KEY (hub_id, device_id, sensor_key, measured_at));
CREATE TABLE IF NOT EXISTS devices (
    hub_id TEXT NOT NULL, device_id TEXT NOT NULL, kind TEXT NOT NULL, school_code TEXT, room_id TEXT,
    state TEXT, state_changed_at TEXT, last_seen TEXT, PRIMARY KEY (hub_id, device_id));
CREATE TABLE IF NOT EXISTS device_state_history (
    hub_id TEXT NOT NULL, device_id TEXT NOT NULL, changed_at TEXT NOT NULL, state TEXT NOT NULL,
    detail TEXT NOT NULL, stored_at TEXT NOT NULL, PRIMARY KEY (hub_id, device_id, changed_at));
"""
SCHEMA = Schema("push_file", (TABLES,))


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds")


def _state(detail: Any) -> str:
    if not isinstance(detail, dict):
        raise ValueError("a state change must be a JSON object")
    return str(detail.get("to") or "unknown")


def _agent_key(agent: Any) -> str | None:
    return agent_key(agent) if isinstance(agent, dict) else None


class SqliteFileDestination(Destination):
    kind = "sqlite"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assert self.options.path is not None
        self.path = Path(self.options.path)
        self._db: Database | None = None

    def describe(self) -> str:
        return f"sqlite {self.path}"

    async def open(self) -> None:
        await self.close()  # a reconnect starts afresh
        self._db = Database(self.path, SCHEMA, error=Unreachable, thread_name=f"push-{self.name}")
        await self._db.open()

    async def close(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            await db.close()

    async def deliver(self, stream: str, rows: Sequence[Row]) -> Delivery:
        if self._db is None:
            raise Unreachable(f"{self.path} is not open")
        try:
            return await self._db.write(lambda conn: self._write(conn, stream, rows))
        except (ValueError, TypeError) as err:
            raise Rejected(f"cannot store the record: {err}") from err

    def _write(self, conn: sqlite3.Connection, stream: str, rows: Sequence[Row]) -> Delivery:
        try:
            return self._insert(conn, stream, rows)
        except sqlite3.IntegrityError as err:
            raise Rejected(f"cannot store the record: {err}") from err

    def _insert(self, conn: sqlite3.Connection, stream: str, rows: Sequence[Row]) -> Delivery:
        hub, now = self.hub, datetime.now(UTC).isoformat()
        before = conn.total_changes
        if stream == "statements":
            records = []
            for _seq, statement_id, _stored, body in rows:
                s = json.loads(body)
                if not isinstance(s, dict):
                    raise ValueError("a statement must be a JSON object")
                obj = s["object"] if isinstance(s.get("object"), dict) else {}
                verb = s["verb"] if isinstance(s.get("verb"), dict) else {}
                records.append((
                    statement_id, body, _agent_key(s.get("actor")), verb.get("id"),
                    obj.get("id") or _agent_key(obj), s.get("timestamp"), now,
                    hub.school_code, hub.room_id, hub.hub_id,
                ))  # fmt: skip
            conn.executemany("INSERT OR IGNORE INTO xapi_statements VALUES (?,?,?,?,?,?,?,?,?,?)", records)
            total = len(records)
        elif stream == "readings":
            conn.executemany(
                "INSERT OR IGNORE INTO sensor_readings VALUES (?,?,?,?,?,?,?,?,?,?)",
                [(hub.hub_id, r[1], r[2], _iso(r[3]), r[4], r[5], r[6], hub.school_code, hub.room_id, now)
                 for r in rows],
            )  # fmt: skip
            total = len(rows)
        else:
            states = [(r[1], _iso(r[2]), json.loads(r[4]), r[4]) for r in rows if r[3] == "state"]
            conn.executemany(
                "INSERT OR IGNORE INTO device_state_history VALUES (?,?,?,?,?,?)",
                [(hub.hub_id, d, at, _state(detail), raw, now) for d, at, detail, raw in states],
            )
            new = conn.total_changes - before
            for device_id, at, detail, _raw in states:
                conn.execute(
                    "INSERT INTO devices VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (hub_id, device_id) DO UPDATE "
                    "SET state = excluded.state, state_changed_at = excluded.state_changed_at, "
                    "last_seen = max(devices.last_seen, excluded.last_seen) "
                    "WHERE devices.state_changed_at IS NULL "
                    "OR excluded.state_changed_at > devices.state_changed_at",
                    (hub.hub_id, device_id, hub.device_kinds.get(device_id, "unknown"), hub.school_code,
                     hub.room_id, _state(detail), at, at),
                )  # fmt: skip
            return Delivery(new, len(states) - new)
        new = conn.total_changes - before
        return Delivery(new, total - new)
