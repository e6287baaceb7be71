"""The pusher SIGKILLed in the middle of a batch and started again: nothing lost, nothing twice."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import asyncpg

from classroom_hub.store import TelemetryStore
from tests.classroom_hub.pusher.conftest import statement
from tests.hub_process import push_now, push_to_the_end

N = 4000


def _room_file(tmp_path: Path, dsn: str, hub_id: str, batch_size: int) -> Path:
    path = tmp_path / "room.toml"
    path.write_text(
        f"""
data_dir = "{tmp_path / 'hub'}"
[room]
school_code = "THCS-DEMO"
id = "lop-7a"
name = "Lớp 7A"
[central]
hub_id = "{hub_id}"
retry_min_s = 0.05
retry_max_s = 0.5
roster_pull_interval_min = 0
[[central.destinations]]
name = "central"
kind = "postgres"
dsn = "{dsn}"
batch_size = {batch_size}
""",
        encoding="utf-8",
    )
    return path


async def _fill(tmp_path: Path) -> tuple[set[str], int]:
    store = TelemetryStore(tmp_path / "hub" / "telemetry.db", synchronous="NORMAL")
    await store.open()
    try:
        rows = [statement(i, student=f"hs-7a-{i % 40:02d}") for i in range(N)]
        await store.add_statements(rows)
        top = (await store.read_after("statements", N - 1, 1))[0][0]
    finally:
        await store.close()
    return {r["id"] for r in rows}, int(top)


async def _check_exactly_once(db: asyncpg.Connection, tmp_path: Path, hub_id: str, ids: set[str], top: int) -> None:
    rows = await db.fetch("SELECT id::text AS id FROM xapi_statements WHERE hub_id = $1", hub_id)
    stored = [r["id"] for r in rows]
    assert len(stored) == len(set(stored)) == N, "nothing twice (and the key would refuse it)"
    assert set(stored) == ids, "nothing lost"
    store = TelemetryStore(tmp_path / "hub" / "telemetry.db")
    await store.open()
    try:
        assert await store.cursor("central", "statements") == top
        assert (await store.outbox_depth("central"))["statements"] == 0
    finally:
        await store.close()


async def test_killed_while_its_transaction_is_open_then_restarted(
    tmp_path: Path, central_dsn: str, db: asyncpg.Connection
) -> None:
    hub_id = f"hub-kill-tx-{time.monotonic_ns()}"
    ids, top = await _fill(tmp_path)
    room = _room_file(tmp_path, central_dsn, hub_id, batch_size=500)
    blocker = await asyncpg.connect(central_dsn)
    try:
        # Hold the table so the pusher's INSERT waits inside its transaction, COPY already done.
        tx = blocker.transaction()
        await tx.start()
        await blocker.execute("LOCK TABLE xapi_statements IN SHARE MODE")
        proc = push_now(room)
        try:

            async def waiting() -> bool:
                return bool(await db.fetchval(
                    "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                    "WHERE c.relname = 'xapi_statements' AND NOT l.granted"
                ))  # fmt: skip

            deadline = time.monotonic() + 20
            while not await waiting():
                assert proc.poll() is None and time.monotonic() < deadline, "the pusher never reached its INSERT"
                await asyncio.sleep(0.05)
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        await tx.rollback()
    finally:
        await blocker.close()
    # The dead client's transaction never commits.
    assert await db.fetchval("SELECT count(*) FROM xapi_statements WHERE hub_id = $1", hub_id) == 0
    out = await push_to_the_end(room)
    assert "central: done, 0 left" in out
    await _check_exactly_once(db, tmp_path, hub_id, ids, top)


async def test_killed_at_random_moments_while_pushing_then_restarted(
    tmp_path: Path, central_dsn: str, db: asyncpg.Connection
) -> None:
    hub_id = f"hub-kill-{time.monotonic_ns()}"
    ids, top = await _fill(tmp_path)
    room = _room_file(tmp_path, central_dsn, hub_id, batch_size=100)
    kills = 0
    for target in (600, 1900, 3100):
        proc = push_now(room)
        try:
            deadline = time.monotonic() + 30
            while await db.fetchval("SELECT count(*) FROM xapi_statements WHERE hub_id = $1", hub_id) < target:
                if proc.poll() is not None or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.005)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    assert kills >= 2, "the pusher finished before it could be killed: make N larger"
    await push_to_the_end(room)
    await _check_exactly_once(db, tmp_path, hub_id, ids, top)
