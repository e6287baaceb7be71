"""The studio's own SQLite file (``<data_dir>/studio/studio.db``): bookings, recordings, the publishing outbox.

Kept apart from the hub's telemetry store so the studio can evolve on its own; sqlite3 calls run
on one worker thread (``StudioStore.call``), never on the event loop. Append migrations; never
edit a shipped one. The ``materials_outbox`` table is a contract with the pusher (docs/studio.md).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from studio.errors import StudioError

T = TypeVar("T")

MIGRATIONS: tuple[str, ...] = (
    # 1: bookings, recordings, chapters, review log, materials outbox
    """
    CREATE TABLE bookings (
        id           TEXT PRIMARY KEY,
        teacher      TEXT NOT NULL,
        teacher_name TEXT NOT NULL,
        title        TEXT NOT NULL,
        starts_at    REAL NOT NULL,
        ends_at      REAL NOT NULL,
        presets      TEXT NOT NULL DEFAULT '{}',
        state        TEXT NOT NULL DEFAULT 'booked' CHECK (state IN ('booked', 'cancelled')),
        created_by   TEXT NOT NULL,
        created_at   REAL NOT NULL,
        updated_at   REAL NOT NULL,
        sequence     INTEGER NOT NULL DEFAULT 0,
        cancelled_by TEXT,
        preroll_at   REAL,
        preroll_report TEXT
    );
    CREATE INDEX bookings_by_start ON bookings (starts_at);
    CREATE TABLE recordings (
        id             TEXT PRIMARY KEY,
        booking_id     TEXT REFERENCES bookings (id),
        teacher        TEXT,
        teacher_name   TEXT,
        state          TEXT NOT NULL CHECK (state IN
                           ('recording', 'draft', 'submitted', 'approved', 'rejected', 'published')),
        partial        INTEGER NOT NULL DEFAULT 0,
        started_at     REAL NOT NULL,
        ended_at       REAL,
        work_path      TEXT NOT NULL,
        file_path      TEXT,
        edit_path      TEXT,
        duration_s     REAL,
        size_bytes     INTEGER,
        dropped_frames INTEGER NOT NULL DEFAULT 0,
        layouts        TEXT NOT NULL DEFAULT '[]',
        error          TEXT,
        trim_in_s      REAL,
        trim_out_s     REAL,
        title          TEXT,
        subject        TEXT,
        grade          TEXT,
        language       TEXT NOT NULL DEFAULT 'vi',
        reviewer       TEXT,
        review_comment TEXT,
        reviewed_at    REAL,
        published_at   REAL,
        sha256         TEXT,
        updated_at     REAL NOT NULL
    );
    CREATE INDEX recordings_by_state ON recordings (state, started_at);
    CREATE TABLE chapters (
        recording_id TEXT NOT NULL REFERENCES recordings (id),
        at_s         REAL NOT NULL,
        title        TEXT NOT NULL,
        PRIMARY KEY (recording_id, at_s)
    );
    CREATE TABLE review_log (
        seq          INTEGER PRIMARY KEY,
        recording_id TEXT NOT NULL REFERENCES recordings (id),
        at           REAL NOT NULL,
        actor        TEXT NOT NULL,
        action       TEXT NOT NULL,
        from_state   TEXT NOT NULL,
        to_state     TEXT NOT NULL,
        comment      TEXT
    );
    CREATE TABLE materials_outbox (
        seq          INTEGER PRIMARY KEY,
        recording_id TEXT NOT NULL UNIQUE REFERENCES recordings (id),
        file_path    TEXT NOT NULL,
        size_bytes   INTEGER NOT NULL,
        sha256       TEXT NOT NULL,
        metadata     TEXT NOT NULL,
        queued_at    REAL NOT NULL,
        sent_bytes   INTEGER NOT NULL DEFAULT 0,
        attempts     INTEGER NOT NULL DEFAULT 0,
        last_error   TEXT,
        delivered_at REAL,
        remote_id    TEXT
    );
    CREATE TABLE studio_keys (
        name  TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # 2: a teacher books with the lecture's subject and grade (carried into its recording)
    """
    ALTER TABLE bookings ADD COLUMN subject TEXT;
    ALTER TABLE bookings ADD COLUMN grade TEXT;
    """,
)


def migrate(conn: sqlite3.Connection) -> int:
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise StudioError(f"studio database version {version} is newer than this hub knows ({len(MIGRATIONS)})")
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        conn.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")
    return len(MIGRATIONS)


def connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 5000")
    migrate(conn)
    return conn


class StudioStore:
    """One connection, used by one worker thread; ``call(fn)`` runs ``fn(conn)`` there."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="studio-db")
        self._conn: sqlite3.Connection | None = None

    async def open(self) -> None:
        self._conn = await asyncio.get_running_loop().run_in_executor(self._executor, connect, self.path)

    async def close(self) -> None:
        if self._conn is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._conn.close)
            self._conn = None
        self._executor.shutdown(wait=True)

    async def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._conn
        if conn is None:
            raise StudioError("the studio database is closed")

        def run() -> T:
            try:
                return fn(conn)
            except sqlite3.Error as err:
                raise StudioError(f"studio database {self.path}: {err}") from err

        return await asyncio.get_running_loop().run_in_executor(self._executor, run)


def transaction(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
    """Run ``fn`` in one IMMEDIATE transaction: check-then-write without a race."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = fn(conn)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return result
