"""The studio's own SQLite file (``<data_dir>/studio/studio.db``): bookings, recordings, the publishing outbox.

Kept apart from the hub's telemetry store so the studio can evolve on its own; sqlite3 calls run
on one worker thread (``StudioStore.run``), never on the event loop; the file's pragmas and
durability are declared in classroom_hub/storage/sqlite.py. Append migrations; never edit a
shipped one. The ``materials_outbox`` table is a contract with the pusher (docs/studio.md).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from classroom_hub.storage.sqlite import Database, Schema
from studio.errors import StudioError

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


SCHEMA = Schema("studio", MIGRATIONS)


class StudioStore(Database):
    """The studio's file on one worker thread: ``run(fn)`` runs ``fn(conn)`` there, ``write(fn)``
    in one IMMEDIATE transaction (check-then-write without a race). Rows come as ``sqlite3.Row``."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, SCHEMA, error=StudioError, row_factory=sqlite3.Row, thread_name="studio-db")
