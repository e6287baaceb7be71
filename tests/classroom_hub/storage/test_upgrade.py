"""A hub upgraded in place opens the files the hub before the SQLite helper left in its data
folder: same names, same rows, and both old alarm tables in the one alarm list.

The old files are made here the way the old code made them: its schema scripts (the shipped
migrations, checked unchanged below, and the inline ``IF NOT EXISTS`` scripts, copied as they
were), applied its way (``executescript`` with ``PRAGMA user_version`` inside)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import sqlite3
from pathlib import Path

from classroom_hub.auth import SCHEMA as ACCOUNTS
from classroom_hub.auth import hash_password
from classroom_hub.keys import ACCOUNTS as ACCOUNTS_KEY
from classroom_hub.keys import ALARMS, STORE
from classroom_hub.lessons.keys import DISPLAYS
from classroom_hub.pusher import sqlite_file
from classroom_hub.roster.cache import SCHEMA as ROSTER
from classroom_hub.roster.cache import RosterCache
from classroom_hub.storage.sqlite import Database
from classroom_hub.store.schema import MIGRATIONS as TELEMETRY
from stem_labs.keys import LAB
from stem_labs.labbook import MIGRATIONS as LABS
from studio.store import MIGRATIONS as STUDIO
from studio.store import StudioStore
from tests.classroom_hub.fleet.conftest import logged_in
from tests.conftest import room_settings, run_hub

# What the hub before shipped, by database: migrations may be added, never edited.
SHIPPED = {
    "telemetry": (TELEMETRY, ["6c88af3a325070ee9f3a5c2890f47994cb04c540f6950ac0be8984194d40b851",
                              "c6e730a3a5ecea9e0cc56d05303ad529566f86a35c4085a9e73a0339e6e4ec21",
                              "e4f4af011017a4313c6b6780df6ad30693bef9493fe108e87b3a89754377e7de"]),
    "labs": (LABS, ["ef69188577e014aefd5d537ff5d60a23034e9724cb3228479e67081ab1512e90"]),
    "roster": (ROSTER.migrations, ["2f157387000d0c82a744f39266342c1cede2ac5b186bec252a7303a8c84abd59"]),
    "studio": (STUDIO, ["2569a1a3a39820453beca1008b42e720986ecf1040b9af9499db0eee31d84847",
                        "bb9dedcddd92760583ab74b1a7fb10749634222bdf95729a29a820da4f46f4cd"]),
}  # fmt: skip

# The files that had no numbered migrations: their scripts, as the old code ran them on every open.
OLD_ACCOUNTS = """
    CREATE TABLE IF NOT EXISTS users (
        username TEXT PRIMARY KEY, role TEXT NOT NULL, display_name TEXT NOT NULL,
        password TEXT NOT NULL, created_at REAL NOT NULL);
    CREATE TABLE IF NOT EXISTS sessions (
        key TEXT PRIMARY KEY, username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
        expires_at REAL NOT NULL);
"""
OLD_DISPLAYS = """
    CREATE TABLE IF NOT EXISTS codes (
        key TEXT PRIMARY KEY, name TEXT NOT NULL, made_by TEXT NOT NULL,
        expires_at REAL NOT NULL, uses INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS displays (
        id TEXT PRIMARY KEY, key TEXT UNIQUE NOT NULL, name TEXT NOT NULL,
        paired_at REAL NOT NULL, paired_by TEXT NOT NULL, peer TEXT NOT NULL,
        last_seen REAL, revoked_at REAL, revoked_by TEXT);
"""
OLD_PUSH_FILE = """
CREATE TABLE IF NOT EXISTS xapi_statements (
    id TEXT PRIMARY KEY, statement TEXT NOT NULL, actor TEXT, verb TEXT, object_id TEXT, occurred_at TEXT,
    stored_at TEXT NOT NULL, school_code TEXT, room_id TEXT, hub_id TEXT);
CREATE INDEX IF NOT EXISTS xapi_statements_actor ON xapi_statements (actor);
CREATE TABLE IF NOT EXISTS sensor_readings (
    hub_id TEXT NOT NULL, device_id TEXT NOT NULL, sensor_key TEXT NOT NULL, measured_at TEXT NOT NULL,
    value REAL NOT NULL, unit TEXT, samples INTEGER NOT NULL DEFAULT 1, school_code TEXT, room_id TEXT,
    stored_at TEXT NOT NULL, PRIMARY KEY (hub_id, device_id, sensor_key, measured_at));
"""

T0 = 1_780_000_000.0


def test_shipped_migrations_are_never_edited() -> None:
    for database, (migrations, hashes) in SHIPPED.items():
        shipped = [hashlib.sha256(m.encode()).hexdigest() for m in migrations[: len(hashes)]]
        assert shipped == hashes, f"a shipped migration of the {database} database was edited: append one instead"


def old_file(path: Path, scripts: tuple[str, ...] | list[str], rows: list[tuple[str, tuple[object, ...]]]) -> None:
    """A file as the old code left it: WAL, its scripts its way, then some rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as c:
        c.execute("PRAGMA journal_mode = WAL")
        for number, script in enumerate(scripts, start=1):
            c.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")
        for sql, args in rows:
            c.execute(sql, args)


def unnumbered(path: Path, script: str, rows: list[tuple[str, tuple[object, ...]]]) -> None:
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as c:
        c.execute("PRAGMA journal_mode = WAL")
        c.executescript(script)
        for sql, args in rows:
            c.execute(sql, args)


def query(path: Path, sql: str) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(path)) as c:
        return c.execute(sql).fetchall()


def old_data_dir(data: Path) -> None:
    """What a hub before this change left: a device alarm, two lab alarms, an account, a paired
    display, a roster, a reading..."""
    old_file(data / "telemetry.db", TELEMETRY[:3], [
        ("INSERT INTO readings (device_id, key, ts, value, unit) VALUES (?, ?, ?, ?, ?)",
         ("vina-1", "ph", T0, 6.4, "pH")),
        ("INSERT INTO outbox_cursor VALUES (?, ?, ?, ?)", ("central", "readings", 1, T0)),
        ("INSERT INTO alarms VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
         ("a-headset", "H01", "offline", "last will", T0, None, T0 + 5, "kythuat")),
    ])  # fmt: skip
    lab_alarm = "INSERT INTO lab_alarms VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    old_file(data / "labs" / "labs.db", LABS[:1], [
        (lab_alarm, ("a-ph", "vina-1", "ph_low", "warning", "ph below 6 (5.8)", T0 + 10, "ph", 5.8, 6.0,
                     None, None, None)),
        (lab_alarm, ("a-temp", "vina-1", "water_temp_high", "alarm", "water_temp above 30 (31)", T0 - 3600,
                     "water_temp", 31.0, 30.0, T0 - 600, T0 - 1800, "truong.lab")),
    ])  # fmt: skip
    unnumbered(data / "accounts.db", OLD_ACCOUNTS, [
        ("INSERT INTO users VALUES (?, ?, ?, ?, ?)", ("lan", "teacher", "Cô Lan", hash_password("mat-khau-cu-1"), T0)),
    ])  # fmt: skip
    unnumbered(data / "displays.db", OLD_DISPLAYS, [
        ("INSERT INTO displays (id, key, name, paired_at, paired_by, peer) VALUES (?, ?, ?, ?, ?, ?)",
         ("d1", hashlib.sha256(b"old-credential").hexdigest(), "Màn hình 86", T0, "kythuat", "10.0.0.9")),
    ])  # fmt: skip
    school = json.dumps({"sourcedId": "s1", "status": "active", "name": "Trường THCS Thử"})
    old_file(data / "roster.sqlite3", ROSTER.migrations[:1], [
        ("INSERT INTO schools VALUES (?, ?, ?, ?)", ("s1", "Trường THCS Thử", "TEST", school)),
    ])  # fmt: skip


async def test_a_hub_upgraded_in_place_opens_its_old_files(tmp_path: Path, system_mosquitto_url: str) -> None:
    data = tmp_path / "hub"
    old_data_dir(data)
    devices = [{"kind": "headset", "id": "H01"}, {"kind": "sensor_node", "id": "vina-1", "sensors": ["ph"]}]
    settings = room_settings(tmp_path, system_mosquitto_url, devices=devices)

    for start in ("first", "second"):  # the second start finds everything moved already: nothing twice
        async with run_hub(settings) as hub:
            # One alarm list: the technician's alarm and the lab's, as they were.
            async with logged_in(hub, username=f"kt-{start}") as client, client.get("/api/alarms") as response:
                body = await response.json()
            active = {a["id"]: a for a in body["active"]}
            assert set(active) == {"a-headset", "a-ph"}
            assert (active["a-headset"]["acknowledged_by"], active["a-headset"]["source"]) == ("kythuat", "device")
            ph = active["a-ph"]
            assert (ph["source"], ph["device_id"], ph["severity"], ph["sensor"], ph["value"], ph["limit"]) == (
                "lab", "vina-1", "warning", "ph", 5.8, 6.0)
            assert [a["id"] for a in body["history"]] == ["a-ph", "a-headset", "a-temp"]  # newest first
            assert [a.id for a in hub.app[LAB].alarms.active("vina-1")] == ["a-ph"]  # the lab's view of it
            (old_temp,) = [a for a in await hub.app[ALARMS].history(source="lab") if a.id == "a-temp"]
            assert (old_temp.active, old_temp.acknowledged_by) == (False, "truong.lab")

            # The rest of the data folder.
            assert (await hub.app[STORE].counts())["readings"] == 1
            assert await hub.app[STORE].cursor("central", "readings") == 1
            loop = asyncio.get_running_loop()
            user, _token = await loop.run_in_executor(None, hub.app[ACCOUNTS_KEY].login, "lan", "mat-khau-cu-1", 1.0)
            assert user.display_name == "Cô Lan"
            display = await loop.run_in_executor(None, hub.app[DISPLAYS].check, "old-credential")
            assert display is not None and display.name == "Màn hình 86"

    assert query(data / "telemetry.db", "PRAGMA user_version") == [(len(TELEMETRY),)]
    assert query(data / "telemetry.db", "SELECT id, source FROM alarms ORDER BY id") == [
        ("a-headset", "device"), ("a-ph", "lab"), ("a-temp", "lab")]
    assert query(data / "labs" / "labs.db", "SELECT name FROM sqlite_master WHERE name = 'lab_alarms'") == []
    assert query(data / "accounts.db", "PRAGMA user_version") == [(ACCOUNTS.version,)]
    with RosterCache(data / "roster.sqlite3") as roster:
        assert roster.counts()["schools"] == 1 and roster.schema_version == 1


async def test_the_studio_file_and_a_sqlite_destination_from_before_open_as_they_are(tmp_path: Path) -> None:
    studio_db = tmp_path / "studio" / "studio.db"
    old_file(studio_db, STUDIO, [
        ("INSERT INTO bookings (id, teacher, teacher_name, title, starts_at, ends_at, created_by, created_at, "
         "updated_at, subject, grade) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
         ("b1", "lan", "Cô Lan", "Quang hợp", T0, T0 + 2700, "lan", T0, T0, "Sinh học", "7")),
    ])  # fmt: skip
    store = StudioStore(studio_db)
    rows = await store.run(lambda c: [tuple(r) for r in c.execute("SELECT id, title, grade FROM bookings")])
    assert rows == [("b1", "Quang hợp", "7")]
    assert await store.run(lambda c: c.execute("PRAGMA foreign_keys").fetchone()[0]) == 1
    await store.close()

    central = tmp_path / "central.db"
    unnumbered(central, OLD_PUSH_FILE, [
        ("INSERT INTO xapi_statements (id, statement, stored_at) VALUES (?, ?, ?)", ("s1", "{}", "2026-01-01")),
    ])  # fmt: skip
    db = Database(central, sqlite_file.SCHEMA)
    assert await db.run(lambda c: c.execute("SELECT id FROM xapi_statements").fetchall()) == [("s1",)]
    # The tables the old file lacked (it was written by an older pusher) are there now.
    assert await db.run(lambda c: c.execute("SELECT count(*) FROM devices").fetchone()[0]) == 0
    await db.close()
    assert query(central, "PRAGMA user_version") == [(1,)]
