"""The SQLite store: durable before acknowledged, idempotent, outbox cursors, versioned schema."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from classroom_hub.errors import StoreError
from classroom_hub.store import TelemetryStore
from classroom_hub.store.schema import MIGRATIONS


async def open_store(path: Path) -> TelemetryStore:
    store = TelemetryStore(path)
    await store.open()
    return store


async def test_readings_are_committed_before_done_runs(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "t.db")
    done = asyncio.Event()
    seen_in_db: list[int] = []

    def on_durable() -> None:
        # Another connection sees the rows at the moment we are told they are safe.
        with sqlite3.connect(tmp_path / "t.db") as c:
            seen_in_db.append(c.execute("SELECT count(*) FROM readings").fetchone()[0])
        done.set()

    store.add_readings([("node-1", "ph", 1_800_000_000.0 + i, 6.5 + i / 100, "pH") for i in range(100)], on_durable)
    await asyncio.wait_for(done.wait(), 5)
    assert seen_in_db == [100]
    await store.close()


async def test_redelivered_readings_are_stored_once(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "t.db")
    rows = [("node-1", "ph", 1_800_000_000.0 + i, 7.0, "pH") for i in range(10)]
    store.add_readings(rows)
    store.add_readings(rows[5:])  # an MQTT redelivery after a reconnect
    await store.flush()
    assert (await store.counts())["readings"] == 10
    assert store.stats.duplicates_ignored == 5
    await store.close()


async def test_statements_idempotent_by_id(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "t.db")
    statement = {"id": "6f1c2c1e-8f6e-4a43-9d59-0c8f7a1b2c3d", "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"}}
    assert await store.add_statements([statement]) == 1
    assert await store.add_statements([statement]) == 0
    assert (await store.counts())["statements"] == 1
    await store.close()


async def test_outbox_cursor_per_destination(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "t.db")
    store.add_readings([("n", "ph", 1_800_000_000.0 + i, 7.0, None) for i in range(50)])
    await store.flush()
    assert (await store.outbox_depth("central"))["readings"] == 50
    batch = await store.read_after("readings", await store.cursor("central", "readings"), 20)
    assert len(batch) == 20
    await store.set_cursor("central", "readings", batch[-1][0])
    assert (await store.outbox_depth("central"))["readings"] == 30
    assert (await store.outbox_depth("lrs"))["readings"] == 50  # each destination has its own place
    await store.close()
    # The cursor survives a restart: the pusher resumes exactly where it stopped.
    store = await open_store(tmp_path / "t.db")
    assert await store.cursor("central", "readings") == batch[-1][0]
    await store.close()


async def test_close_writes_everything_queued(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "t.db")
    for i in range(200):
        store.add_readings([("n", "ph", 1_800_000_000.0 + i, 7.0, None)])
    await store.close()
    with sqlite3.connect(tmp_path / "t.db") as c:
        assert c.execute("SELECT count(*) FROM readings").fetchone()[0] == 200
        assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert c.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


async def test_a_newer_schema_is_refused_with_advice(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    with sqlite3.connect(path) as c:
        c.execute("PRAGMA user_version = 99")
    store = TelemetryStore(path)
    with pytest.raises(StoreError, match="newer than this hub knows"):
        await store.open()
    await store.close()


async def test_write_failure_is_reported_and_not_acknowledged(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "t.db")
    acked: list[bool] = []
    # A reading whose value is not a number violates the schema: the batch fails as a disk error would.
    with sqlite3.connect(tmp_path / "t.db") as c:
        c.execute("CREATE TRIGGER no_more BEFORE INSERT ON readings BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    store.add_readings([("n", "ph", 1_800_000_000.0, 7.0, None)], lambda: acked.append(True))
    with pytest.raises(StoreError, match="disk full"):
        await store.add_statements([{"id": "x"}])
    assert acked == []
    assert store.state == "failing"
    with sqlite3.connect(tmp_path / "t.db") as c:
        c.execute("DROP TRIGGER no_more")
    assert await store.add_statements([{"id": "y"}]) == 1
    assert store.state == "up"
    await store.close()
