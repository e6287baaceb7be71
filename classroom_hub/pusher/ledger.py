"""The pusher's own notes in the hub's store: quarantine, what each destination last did, housekeeping.

The tables come from the store's schema (migration 3 in classroom_hub/store/schema.py). The
store's writer thread owns the telemetry rows; these writes (and the disk budget's long
housekeeping transactions) go through a connection of their own on a thread of its own, a
:class:`Database` of the SQLite helper with telemetry's durability (SQLite in WAL mode lets
both take turns), so the pusher never blocks the event loop, nor the store's readers, and
never reaches into the store's internals.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classroom_hub.pusher.errors import PushError
from classroom_hub.storage.sqlite import Database
from classroom_hub.store.schema import SCHEMA

# Where each stream keeps the time of a row: measured for readings and events, received for statements.
TIME_COLUMN = {"statements": "stored_at", "readings": "ts", "device_events": "ts"}


@dataclass(frozen=True, slots=True)
class Quarantined:
    destination: str
    stream: str
    seq: int
    record_id: str | None
    reason: str
    quarantined_at: float


@dataclass(frozen=True, slots=True)
class SavedStatus:
    destination: str
    kind: str
    state: str
    last_success: float | None
    last_error: str | None
    last_error_at: float | None
    delivered: int
    updated_at: float


class Ledger(Database):
    """The pusher's connection to the store's file: ``run(fn)`` runs ``fn(conn)`` on its thread."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, SCHEMA, error=PushError, thread_name="push-ledger")

    # --- quarantine ------------------------------------------------------------------

    async def quarantine(self, destination: str, stream: str, items: Iterable[tuple[int, str | None, str]]) -> None:
        """Note records ``destination`` refused for good: (seq, record id, reason). Idempotent."""
        rows = [(destination, stream, seq, record_id, reason, time.time()) for seq, record_id, reason in items]
        sql = "INSERT OR IGNORE INTO outbox_quarantine VALUES (?, ?, ?, ?, ?, ?)"
        await self.write(lambda c: c.executemany(sql, rows))

    async def quarantine_counts(self) -> dict[str, int]:
        def count(c: sqlite3.Connection) -> dict[str, int]:
            rows = c.execute("SELECT destination, count(*) FROM outbox_quarantine GROUP BY destination").fetchall()
            return {str(d): int(n) for d, n in rows}

        return await self.run(count)

    async def quarantined(self, destination: str | None = None, limit: int = 100) -> list[Quarantined]:
        def read(c: sqlite3.Connection) -> list[Quarantined]:
            sql = "SELECT * FROM outbox_quarantine"
            args: tuple[Any, ...] = ()
            if destination is not None:
                sql += " WHERE destination = ?"
                args = (destination,)
            rows = c.execute(sql + " ORDER BY quarantined_at DESC, seq DESC LIMIT ?", (*args, limit)).fetchall()
            return [Quarantined(*row) for row in rows]

        return await self.run(read)

    # --- destination status ----------------------------------------------------------

    async def save_status(self, status: SavedStatus) -> None:
        def write(c: sqlite3.Connection) -> None:
            c.execute(
                "INSERT INTO outbox_status VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (destination) DO UPDATE SET "
                "kind = excluded.kind, state = excluded.state, last_success = excluded.last_success, "
                "last_error = excluded.last_error, last_error_at = excluded.last_error_at, "
                "delivered = excluded.delivered, updated_at = excluded.updated_at",
                (status.destination, status.kind, status.state, status.last_success, status.last_error,
                 status.last_error_at, status.delivered, status.updated_at),
            )  # fmt: skip

        await self.run(write)

    async def saved_status(self) -> dict[str, SavedStatus]:
        def read(c: sqlite3.Connection) -> dict[str, SavedStatus]:
            return {row[0]: SavedStatus(*row) for row in c.execute("SELECT * FROM outbox_status").fetchall()}

        return await self.run(read)

    # --- queue figures ---------------------------------------------------------------

    async def oldest_after(self, cursors: dict[str, int]) -> float | None:
        """The time of the oldest row not yet delivered, over the given streams and cursors."""

        def read(c: sqlite3.Connection) -> float | None:
            times = []
            for stream, after in cursors.items():
                row = c.execute(
                    f"SELECT {TIME_COLUMN[stream]} FROM {stream} WHERE seq > ? ORDER BY seq LIMIT 1", (after,)
                ).fetchone()
                if row is not None:
                    times.append(float(row[0]))
            return min(times) if times else None

        return await self.run(read)

    async def used_bytes(self) -> int:
        """What the store takes on disk, free pages not counted (SQLite reuses them), WAL included."""

        def read(c: sqlite3.Connection) -> int:
            page_size = int(c.execute("PRAGMA page_size").fetchone()[0])
            pages = int(c.execute("PRAGMA page_count").fetchone()[0])
            free = int(c.execute("PRAGMA freelist_count").fetchone()[0])
            try:
                wal = os.stat(f"{self.path}-wal").st_size
            except FileNotFoundError:
                wal = 0
            return (pages - free) * page_size + wal

        return await self.run(read)

    async def housekeeping_log(self, limit: int = 20) -> list[dict[str, Any]]:
        def read(c: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = c.execute("SELECT * FROM store_housekeeping ORDER BY ran_at DESC LIMIT ?", (limit,)).fetchall()
            keys = ("ran_at", "action", "stream", "rows_in", "rows_out", "detail")
            return [dict(zip(keys, row, strict=True)) for row in rows]

        return await self.run(read)
