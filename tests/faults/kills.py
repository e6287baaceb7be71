"""The hub killed (SIGKILL: a power cut, the OOM killer) again and again while it works.

- ``sigkill_ingest``: the hub process killed ``kills`` times (10) while a sensor keeps
  sending; each time it is started again. The broker keeps the hub's session, and the hub
  acknowledges a reading only after its commit, so every reading the broker confirmed to the
  sensor ends in the store once.
- ``sigkill_push``: ``classroom-hub push now`` killed ``kills`` times (10) at moments spread
  over its delivery of 4,000 learning records to the central PostgreSQL, then run to the end:
  the centre holds each once.

Each returns ``lost``, ``duplicated`` and ``recovery_s`` (the slowest: from the restart to
the hub storing, or the centre receiving, again). bench/faults.py runs them too.
"""

from __future__ import annotations

import asyncio
import secrets
import signal
import time
from pathlib import Path
from typing import Any

import asyncpg

from classroom_hub.bus.broker import free_port
from classroom_hub.store import TelemetryStore
from tests.faults.devices import broker
from tests.faults.store import PG_SERVER, TIMEOUT_S, Sensor, central_database, stored
from tests.hub_process import HubProcess, push_now, push_to_the_end

ROOT = Path(__file__).resolve().parents[2]


def _room_file(workdir: Path, body: str) -> Path:
    path = workdir / "room.toml"
    path.write_text(
        f"""
data_dir = "{workdir / 'hub'}"
[room]
school_code = "TEST"
id = "kill-{secrets.token_hex(3)}"
name = "Phòng thử"
{body}
""",
        encoding="utf-8",
    )
    return path


async def sigkill_ingest(workdir: Path, **opts: Any) -> dict[str, Any]:
    kills = opts.get("kills", 10)
    async with broker(workdir, opts.get("broker_url")) as url:
        http_port = free_port()
        config = _room_file(workdir, f"""
[mqtt]
url = "{url}"
reconnect_min_s = 0.1
reconnect_max_s = 0.5
[http]
host = "127.0.0.1"
port = {http_port}
[[devices]]
kind = "sensor_node"
id = "node-1"
""")  # fmt: skip
        from config.loader import load_settings

        settings = load_settings(config)
        hub = HubProcess(config, http_port, workdir / "hub.log", log_level="warning")
        hub.start()
        worst = 0.0
        try:
            await hub.healthy(TIMEOUT_S)
            async with Sensor(url, settings) as sensor:
                sending = True

                async def keep_sending() -> None:
                    while sending:
                        await sensor.send(20)
                        await asyncio.sleep(0.05)  # ~400 readings a second

                task = asyncio.create_task(keep_sending())
                try:
                    for _ in range(kills):
                        await _stored_more_than(settings, stored(settings)[1] + 100)
                        hub.kill()
                        at_kill = stored(settings)[1]
                        restarted = time.monotonic()
                        hub.start()
                        await hub.healthy(TIMEOUT_S)
                        await _stored_more_than(settings, at_kill)
                        worst = max(worst, time.monotonic() - restarted)
                finally:
                    sending = False
                    await task
                await sensor.confirmed()
                await _stored_more_than(settings, sensor.next - 1)
                rows, distinct = stored(settings)
                return {"lost": sensor.next - distinct, "duplicated": rows - distinct, "recovery_s": round(worst, 3),
                        "kills": kills, "sent": sensor.next}  # fmt: skip
        finally:
            hub.kill()


async def _stored_more_than(settings: Any, count: int) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not _readable_count(settings) > count:
        assert time.monotonic() < deadline, f"{_readable_count(settings)} readings stored, waiting for > {count}"
        await asyncio.sleep(0.05)


def _readable_count(settings: Any) -> int:
    try:
        return stored(settings)[1]
    except Exception:  # the file is created by the first start
        return -1


N_RECORDS = 4000


async def sigkill_push(workdir: Path, **opts: Any) -> dict[str, Any]:
    kills = opts.get("kills", 10)
    server = opts.get("dsn", PG_SERVER)
    async with central_database(server) as dsn:
        hub_id = f"hub-kill-{secrets.token_hex(3)}"
        config = _room_file(workdir, f"""
[central]
hub_id = "{hub_id}"
retry_min_s = 0.05
retry_max_s = 0.5
roster_pull_interval_min = 0
[[central.destinations]]
name = "central"
kind = "postgres"
dsn = "{dsn}"
batch_size = 50
""")  # fmt: skip
        ids = await _fill(workdir / "hub" / "telemetry.db")
        db = await asyncpg.connect(dsn)
        worst = 0.0
        done_kills = 0
        try:
            count = "SELECT count(*) FROM xapi_statements WHERE hub_id = $1"
            for k in range(kills):
                target = (k + 1) * N_RECORDS // (kills + 2)
                proc = push_now(config)
                restarted = time.monotonic()
                before = int(await db.fetchval(count, hub_id))
                moved_at = None
                deadline = time.monotonic() + TIMEOUT_S
                while (now := int(await db.fetchval(count, hub_id))) < target:
                    if moved_at is None and now > before:
                        moved_at = time.monotonic()
                    if proc.poll() is not None or time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.002)
                if moved_at is None:
                    moved_at = time.monotonic()
                worst = max(worst, moved_at - restarted)
                if proc.poll() is None:
                    proc.send_signal(signal.SIGKILL)
                    done_kills += 1
                proc.wait(10)
            await push_to_the_end(config)
            rows = [r["id"] for r in await db.fetch("SELECT id::text AS id FROM xapi_statements WHERE hub_id = $1",
                                                    hub_id)]  # fmt: skip
        finally:
            await db.close()
        distinct = set(rows)
        return {"lost": len(ids - distinct), "duplicated": len(rows) - len(distinct), "recovery_s": round(worst, 3),
                "kills": done_kills, "sent": len(ids)}  # fmt: skip


async def _fill(path: Path) -> set[str]:
    from tests.classroom_hub.pusher.conftest import statement

    store = TelemetryStore(path, synchronous="NORMAL")
    await store.open()
    try:
        rows = [statement(i, student=f"hs-7a-{i % 40:02d}") for i in range(N_RECORDS)]
        await store.add_statements(rows)
    finally:
        await store.close()
    return {r["id"] for r in rows}


SCENARIOS = {"sigkill_ingest": sigkill_ingest, "sigkill_push": sigkill_push}
