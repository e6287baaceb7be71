"""Versioned schema of the hub's SQLite store. Append a migration; never edit a shipped one."""

from __future__ import annotations

from classroom_hub.storage.sqlite import Schema

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
    # 2: the technician's alarms (then classroom_hub/fleet, now classroom_hub/alarms): raised,
    # cleared, acknowledged.
    """
    CREATE TABLE alarms (
        id              TEXT    PRIMARY KEY,
        device_id       TEXT    NOT NULL,
        kind            TEXT    NOT NULL,
        detail          TEXT    NOT NULL,
        raised_at       REAL    NOT NULL,
        cleared_at      REAL,
        acknowledged_at REAL,
        acknowledged_by TEXT
    );
    CREATE INDEX alarms_by_time ON alarms (raised_at);
    CREATE INDEX alarms_active ON alarms (cleared_at) WHERE cleared_at IS NULL;
    """,
    # 3: the pusher (classroom_hub/pusher): records a destination refused for good, what each
    # destination last did, what the disk budget policy removed or averaged, and how many
    # readings a row stands for (> 1: a mean made by the downsampling policy).
    """
    ALTER TABLE readings ADD COLUMN samples INTEGER NOT NULL DEFAULT 1;
    CREATE TABLE outbox_quarantine (
        destination    TEXT    NOT NULL,
        stream         TEXT    NOT NULL,
        seq            INTEGER NOT NULL,
        record_id      TEXT,
        reason         TEXT    NOT NULL,
        quarantined_at REAL    NOT NULL,
        PRIMARY KEY (destination, stream, seq)
    );
    CREATE TABLE outbox_status (
        destination    TEXT    PRIMARY KEY,
        kind           TEXT    NOT NULL,
        state          TEXT    NOT NULL,
        last_success   REAL,
        last_error     TEXT,
        last_error_at  REAL,
        delivered      INTEGER NOT NULL DEFAULT 0,
        updated_at     REAL    NOT NULL
    );
    CREATE TABLE store_housekeeping (
        ran_at    REAL    NOT NULL,
        action    TEXT    NOT NULL,
        stream    TEXT    NOT NULL,
        rows_in   INTEGER NOT NULL,
        rows_out  INTEGER NOT NULL,
        detail    TEXT    NOT NULL
    );
    """,
    # 4: one alarm table for devices and labs (classroom_hub/alarms): who raised an alarm, how
    # severe it is, and for a limit on a sensor the sensor, its value and the limit. The lab's
    # old table (lab_alarms in labs.db) is moved in by the lab at its first start.
    """
    ALTER TABLE alarms ADD COLUMN severity TEXT NOT NULL DEFAULT 'alarm';
    ALTER TABLE alarms ADD COLUMN source TEXT NOT NULL DEFAULT 'device';
    ALTER TABLE alarms ADD COLUMN sensor TEXT;
    ALTER TABLE alarms ADD COLUMN value REAL;
    ALTER TABLE alarms ADD COLUMN limit_value REAL;
    """,
)

SCHEMA = Schema("telemetry", MIGRATIONS)

STREAMS: tuple[str, ...] = ("readings", "statements", "device_events")
