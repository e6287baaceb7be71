"""Versioned schema of the hub's SQLite store. Append a migration; never edit a shipped one."""

from __future__ import annotations

import sqlite3

MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema.
    """
    CREATE TABLE readings (
        seq       INTEGER PRIMARY KEY,
        device_id TEXT    NOT NULL,
        key       TEXT    NOT NULL,
        ts        REAL    NOT NULL,
        value     REAL    NOT NULL,
        unit      TEXT,
        UNIQUE (device_id, key, ts)
    );
    CREATE TABLE statements (
        seq       INTEGER PRIMARY KEY,
        id        TEXT    NOT NULL UNIQUE,
        stored_at REAL    NOT NULL,
        body      TEXT    NOT NULL
    );
    CREATE TABLE device_events (
        seq       INTEGER PRIMARY KEY,
        device_id TEXT    NOT NULL,
        ts        REAL    NOT NULL,
        type      TEXT    NOT NULL,
        data      TEXT    NOT NULL,
        UNIQUE (device_id, type, ts)
    );
    CREATE INDEX device_events_by_device ON device_events (device_id, ts);
    CREATE TABLE outbox_cursor (
        destination TEXT    NOT NULL,
        stream      TEXT    NOT NULL,
        last_seq    INTEGER NOT NULL DEFAULT 0,
        updated_at  REAL    NOT NULL,
        PRIMARY KEY (destination, stream)
    );
    """,
)

STREAMS: tuple[str, ...] = ("readings", "statements", "device_events")


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database to the newest version; returns the version."""
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise RuntimeError(
            f"store schema version {version} is newer than this hub knows ({len(MIGRATIONS)}): "
            "was the hub downgraded? Keep the newer version or restore a backup."
        )
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        with conn:
            conn.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")
    return len(MIGRATIONS)
