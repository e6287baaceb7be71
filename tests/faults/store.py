"""The hub's own faults, as scenarios: its disk full, its broker restarted, its central database away.

Each scenario is an importable ``async def (workdir, **opts) -> dict`` with ``lost``,
``duplicated`` (counted from what the device sent and the broker confirmed against what the
store or the central database holds) and ``recovery_s`` (from the fault clearing to full
service: everything stored or delivered, the alarm cleared, /healthz 200); bench/faults.py
runs them too. ``SCENARIOS`` names them. Options: ``broker_url`` (a shared Mosquitto; a
private one is started without it, and always for the broker restart), ``dsn`` (the central
PostgreSQL server, default the local one).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import sqlite3
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from classroom_hub.alarms.hub import SOURCE
from classroom_hub.bus.link import MqttLink
from classroom_hub.bus.topics import device_topic
from classroom_hub.fleet.keys import FLEET
from classroom_hub.keys import ALARMS, HUB_WATCH, LINK, REGISTRY, STORE
from config.settings import HubSettings
from tests.conftest import Mosquitto, RunningHub, add_user, room_settings, run_hub, wait_for
from tests.faults.devices import broker

Scenario = Callable[..., Awaitable[dict[str, Any]]]
TIMEOUT_S = 30.0
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"


class NotPossibleHere(Exception):
    """The scenario needs what this machine does not give (root for a tmpfs): said loudly."""


class Sensor:
    """A sensor node sending readings numbered 0, 1, 2... (QoS 1, one per message); ``sent``
    is what the broker confirmed, the count every loss and duplicate is measured against."""

    def __init__(self, url: str, settings: HubSettings, device_id: str = "node-1") -> None:
        self.topic = device_topic(settings.room.id, device_id, "telemetry")
        self.device_id = device_id
        self.link = MqttLink(url, client_id=device_id, manual_ack=False, reconnect_min_s=0.1, reconnect_max_s=0.5)
        self.next = 0
        self.base = time.time()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Sensor:
        self._task = asyncio.create_task(self.link.run())
        await self.link.wait_up(10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.link.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def send(self, count: int) -> None:
        """Hand ``count`` readings to the link (queued by it while the broker is away)."""
        for _ in range(count):
            n = self.next
            self.next += 1
            payload = {"ts": self.base + n / 1000, "readings": [{"key": "n", "value": n}]}
            self.link.publish(self.topic, json.dumps(payload), qos=1)
            if n % 50 == 0:
                await asyncio.sleep(0)

    async def confirmed(self) -> None:
        await wait_for(lambda: self.link.unconfirmed == 0, timeout=TIMEOUT_S)


def stored(settings: HubSettings, device_id: str = "node-1") -> tuple[int, int]:
    """(rows, distinct numbers) of the sensor's readings in the hub's store, read as a tool would."""
    with contextlib.closing(sqlite3.connect(f"file:{settings.data_dir / 'telemetry.db'}?mode=ro", uri=True)) as c:
        rows, distinct = c.execute(
            "SELECT count(*), count(DISTINCT value) FROM readings WHERE device_id = ? AND key = 'n'", (device_id,)
        ).fetchone()
    return int(rows), int(distinct)


async def all_stored(settings: HubSettings, sent: int) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while stored(settings)[1] < sent:
        if time.monotonic() > deadline:
            raise AssertionError(f"{stored(settings)[1]} of {sent} readings stored after {TIMEOUT_S} s")
        await asyncio.sleep(0.05)


async def healthz(hub: RunningHub) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.get(f"{hub.url}/healthz") as r:
        return r.status, await r.json()


async def hub_alarm(hub: RunningHub, kind: str, present: bool = True) -> None:
    def seen() -> bool:
        return any(a.kind == kind for a in hub.app[ALARMS].active(source=SOURCE)) == present

    await wait_for(seen, timeout=TIMEOUT_S)


async def healthy(hub: RunningHub) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        status, body = await healthz(hub)
        if status == 200 and not body["alarms"]:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"/healthz still {status}: {body}")
        await asyncio.sleep(0.1)


def _outcome(sent: int, rows: int, distinct: int, recovery_s: float, **more: Any) -> dict[str, Any]:
    return {"lost": sent - distinct, "duplicated": rows - distinct, "recovery_s": round(recovery_s, 3), **more}


def _quick(workdir: Path, url: str, **extra: Any) -> HubSettings:
    store = {"disk_free_min_mb": 1, "watch_interval_s": 0.2, **extra.pop("store", {})}
    return room_settings(workdir, url, store=store, **extra)


# --- the disk full -----------------------------------------------------------------------------


@contextlib.contextmanager
def small_disk(where: Path, size_mb: int) -> Any:
    if os.geteuid() != 0:
        raise NotPossibleHere("the disk-full scenario mounts a tmpfs: it needs root (CI runs as root)")
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path) -> Path:
    """Take every free byte of ``disk``; returns the file to remove to give them back."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as f:
        for size in (65536, 512, 1):  # then the last few bytes
            with contextlib.suppress(OSError):
                while f.write(b"\0" * size):
                    pass
    return filler


async def login_works(hub: RunningHub, username: str, password: str) -> None:
    """The teacher logs in through the form and their session opens a page that needs it."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:  # the hub is an IP
        headers = {"Origin": hub.url}
        data = {"username": username, "password": password, "next": "/teacher"}
        async with http.post(f"{hub.url}/login", data=data, headers=headers, allow_redirects=False) as r:
            assert r.status == 302, (r.status, await r.text())
            assert r.headers["Location"] == "/teacher", r.headers["Location"]
        async with http.get(f"{hub.url}/api/me") as r:
            assert r.status == 200, (r.status, await r.text())
            assert (await r.json())["username"] == username


async def disk_full(workdir: Path, **opts: Any) -> dict[str, Any]:
    """The hub's disk fills up while a sensor keeps sending: the store fails with its true reason
    (alarm, /healthz 503), a teacher still logs in; once space is back every reading is stored
    without a restart."""
    with small_disk(workdir / "disk", 24) as disk:
        async with broker(workdir, opts.get("broker_url")) as url:
            settings = _quick(disk, url, store={"disk_free_min_mb": 1})
            async with run_hub(settings) as hub, Sensor(url, settings) as sensor:
                password = await add_user(hub, "giaovien", "teacher")
                await sensor.send(200)
                await sensor.confirmed()
                await all_stored(settings, sensor.next)
                filler = await asyncio.get_running_loop().run_in_executor(None, fill, disk)
                await sensor.send(2000)  # more than the write-ahead log has room for
                await sensor.confirmed()  # the broker has them: the hub must not lose them
                await hub_alarm(hub, "store_failing")
                await hub_alarm(hub, "disk_low")
                status, body = await healthz(hub)
                assert status == 503 and body["parts"]["store"] == "down", body
                reasons = " ".join(a["detail"] for a in body["alarms"])
                assert "full" in reasons, reasons
                async with aiohttp.ClientSession() as http, http.get(f"{hub.url}/metrics") as r:
                    assert 'hub_alarm_active{part="store",kind="store_failing",severity="alarm"} 1' in await r.text()
                await login_works(hub, "giaovien", password)
                filler.unlink()
                cleared = time.monotonic()
                await all_stored(settings, sensor.next)
                await hub_alarm(hub, "store_failing", present=False)
                await healthy(hub)
                recovery = time.monotonic() - cleared
                await sensor.send(100)  # and it goes on as before
                await sensor.confirmed()
                await all_stored(settings, sensor.next)
                rows, distinct = stored(settings)
                return _outcome(sensor.next, rows, distinct, recovery)


async def device_history_disk_full(workdir: Path, **opts: Any) -> dict[str, Any]:
    """A tablet goes offline and comes back while the hub's disk is full: no broker resends the
    state changes the hub writes itself, so the store keeps them; once space is back the
    device's history holds both, in order, once. ``lost``/``duplicated`` count state changes."""
    with small_disk(workdir / "disk", 24) as disk:
        async with broker(workdir, opts.get("broker_url")) as url:
            settings = _quick(disk, url, store={"held_max": opts.get("held_max", 10_000)})
            tablet = Sensor(url, settings, "T01")  # its link; the tablet only says its status
            async with run_hub(settings) as hub, Sensor(url, settings) as sensor, tablet:
                store, registry, logbook = hub.app[STORE], hub.app[REGISTRY], hub.app[FLEET].logbook
                status = device_topic(settings.room.id, "T01", "status")

                def say(state: str, error: str | None = None) -> None:
                    tablet.link.publish(status, json.dumps({"state": state, "error": error}), qos=1)

                async def history() -> list[str]:
                    return [s for _, s in (await logbook.device_history("T01", since=0)).states]

                say("online")
                await wait_for(lambda: registry.get("T01").state == "online", timeout=TIMEOUT_S)
                await store.flush()
                assert await history() == ["online"]
                filler = await asyncio.get_running_loop().run_in_executor(None, fill, disk)
                await sensor.send(2000)  # more than the write-ahead log has room for
                await sensor.confirmed()
                await hub_alarm(hub, "store_failing")
                before = store.held + store.stats.held_dropped  # the sensor's own state may wait too
                say("offline", "pin hết")
                await wait_for(lambda: registry.get("T01").state == "offline", timeout=TIMEOUT_S)
                say("online")
                await wait_for(lambda: registry.get("T01").state == "online", timeout=TIMEOUT_S)
                def kept() -> int:  # the events handed to the store while it fails: waiting or dropped
                    return store.held + store.stats.held_dropped - before

                await wait_for(lambda: kept() >= 2 or store.state == "up", timeout=TIMEOUT_S)
                held = kept()  # 2: both changes wait (or were dropped), none was written yet
                if store.stats.held_dropped:  # a watch round names the drops in the alarm
                    await wait_for(lambda: _store_alarm(hub).endswith(f"waited): {store.stats.held_dropped_now}, "
                                                                      "the device history misses them"),
                                   timeout=TIMEOUT_S)  # fmt: skip
                detail = _store_alarm(hub)
                async with aiohttp.ClientSession() as http, http.get(f"{hub.url}/metrics") as r:
                    metrics = await r.text()
                shown = re.search(r"^classroom_hub_store_held (\d+)$", metrics, re.M)
                assert shown is not None and int(shown[1]) >= min(2, store.held_max), metrics
                dropped = re.search(r"^classroom_hub_store_held_dropped_total (\d+)$", metrics, re.M)
                assert dropped is not None and (int(dropped[1]) > 0) == (store.stats.held_dropped > 0), metrics
                assert "classroom_hub_lab_book_kept 0\n" in metrics, metrics
                filler.unlink()
                cleared = time.monotonic()
                await all_stored(settings, sensor.next)
                await wait_for(lambda: store.held == 0, timeout=TIMEOUT_S)
                await hub_alarm(hub, "store_failing", present=False)
                await healthy(hub)
                recovery = time.monotonic() - cleared
                await store.flush()
                states = await history()
                expected = ["online", "offline", "online"]
                lost = sum(max(0, expected.count(s) - states.count(s)) for s in set(expected))
                return {"lost": lost, "duplicated": max(0, len(states) - len(expected)) if not lost else 0,
                        "in_order": states == expected, "held": held, "states": states,
                        "dropped": store.stats.held_dropped, "detail": detail,
                        "recovery_s": round(recovery, 3)}  # fmt: skip


def _store_alarm(hub: RunningHub) -> str:
    return next((a.detail for a in hub.app[ALARMS].active(source=SOURCE) if a.kind == "store_failing"), "")


# --- the store locked by another program ------------------------------------------------------


async def store_locked(workdir: Path, **opts: Any) -> dict[str, Any]:
    """Another program (an ``sqlite3`` shell left in a transaction, a copy tool) holds the store's
    write lock while a sensor sends: the alarm says the commit waits, /healthz is 503; once the
    lock is let go every reading is stored, without a restart."""
    async with broker(workdir, opts.get("broker_url")) as url:
        settings = _quick(workdir, url)
        async with run_hub(settings) as hub, Sensor(url, settings) as sensor:
            await sensor.send(200)
            await sensor.confirmed()
            await all_stored(settings, sensor.next)
            other = sqlite3.connect(settings.data_dir / "telemetry.db", isolation_level=None, check_same_thread=False)
            try:
                other.execute("BEGIN IMMEDIATE")
                await sensor.send(300)
                await sensor.confirmed()
                await hub_alarm(hub, "store_failing")
                status, body = await healthz(hub)
                assert status == 503 and body["parts"]["store"] == "down", body
                detail = next(a["detail"] for a in body["alarms"] if a["kind"] == "store_failing")
                assert "locked by another program" in detail, detail
            finally:
                other.execute("ROLLBACK")
                other.close()
            released = time.monotonic()
            await all_stored(settings, sensor.next)
            await hub_alarm(hub, "store_failing", present=False)
            await healthy(hub)
            recovery = time.monotonic() - released
            rows, distinct = stored(settings)
            return _outcome(sensor.next, rows, distinct, recovery)


# --- the broker restarted ----------------------------------------------------------------------


async def broker_restart(workdir: Path, **opts: Any) -> dict[str, Any]:
    """The room's Mosquitto stops (its queue saved) while the sensor keeps sending and comes back:
    the alarm says so while it is away, and every reading arrives once after."""
    mosquitto = Mosquitto(workdir / "mosquitto")
    mosquitto.start()
    try:
        settings = _quick(workdir, mosquitto.url)
        async with run_hub(settings) as hub, Sensor(mosquitto.url, settings) as sensor:
            cycles = opts.get("cycles", 2)
            worst = 0.0
            for _ in range(cycles):
                await sensor.send(300)
                await sensor.confirmed()
                await all_stored(settings, sensor.next)
                mosquitto.stop()
                await sensor.send(300)  # kept by the device until the broker is back
                await hub_alarm(hub, "broker_lost")
                status, body = await healthz(hub)
                assert status == 503 and body["parts"]["bus"] == "down", body
                mosquitto.start()
                back = time.monotonic()
                await sensor.confirmed()
                await all_stored(settings, sensor.next)
                await wait_for(lambda: hub.app[LINK].is_up, timeout=TIMEOUT_S)
                await hub_alarm(hub, "broker_lost", present=False)
                await healthy(hub)
                worst = max(worst, time.monotonic() - back)
            rows, distinct = stored(settings)
            return _outcome(sensor.next, rows, distinct, worst)
    finally:
        mosquitto.stop()


# --- the central database away ----------------------------------------------------------------


@contextlib.asynccontextmanager
async def central_database(server: str) -> AsyncIterator[str]:
    """A migrated database of its own on the PostgreSQL server, dropped after."""
    from classroom_hub.central import migrate

    name = f"hub_faults_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(f"{server}/postgres", timeout=5)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        dsn = f"{server}/{name}"
        await migrate(dsn)
        yield dsn
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def central_down(workdir: Path, **opts: Any) -> dict[str, Any]:
    """The link to the central PostgreSQL is cut (a relay in front of the real server) while the
    room records; the courier's alarm names the destination and the error; once the link is
    back the centre holds every reading exactly once."""
    from tests.classroom_hub.pusher.conftest import Cuttable

    server = opts.get("dsn", PG_SERVER)
    async with central_database(server) as dsn, broker(workdir, opts.get("broker_url")) as url:
        pg_port = int(dsn.rsplit(":", 1)[1].split("/", 1)[0])
        relay = Cuttable(pg_port)
        await relay.start()
        relayed = dsn.replace(f":{pg_port}/", f":{relay.port}/")
        hub_id = f"hub-faults-{secrets.token_hex(3)}"
        destination = {"name": "central", "kind": "postgres", "dsn": relayed, "batch_size": 200}
        central = {"hub_id": hub_id, "retry_min_s": 0.1, "retry_max_s": 1.0, "idle_check_s": 0.2,
                   "roster_pull_interval_min": 0, "destinations": [destination]}  # fmt: skip
        settings = _quick(workdir, url, central=central)
        try:
            async with run_hub(settings) as hub, Sensor(url, settings) as sensor:
                await sensor.send(300)
                await sensor.confirmed()
                await all_stored(settings, sensor.next)
                await relay.cut()
                await sensor.send(500)
                await sensor.confirmed()
                await all_stored(settings, sensor.next)
                await hub_alarm(hub, "push_failing")
                status, body = await healthz(hub)
                alarm = next(a for a in body["alarms"] if a["kind"] == "push_failing")
                assert status == 200 and body["status"] == "warning" and alarm["part"] == "central", body
                assert body["figures"]["backlog_age_s"] is not None, body  # readings wait on the hub
                await relay.start()
                back = time.monotonic()

                async def delivered() -> bool:
                    return await _central_count(dsn, hub_id) >= sensor.next

                deadline = time.monotonic() + TIMEOUT_S
                while not await delivered():
                    assert time.monotonic() < deadline, f"the centre has {await _central_count(dsn, hub_id)}"
                    await asyncio.sleep(0.1)
                await hub_alarm(hub, "push_failing", present=False)
                await healthy(hub)
                recovery = time.monotonic() - back
                assert not hub.app[HUB_WATCH].active()
        finally:
            await relay.cut()
        conn = await asyncpg.connect(dsn)
        try:
            rows, distinct = await conn.fetchrow(f"SELECT count(*), count(DISTINCT value) {_CENTRAL_N}", hub_id)
        finally:
            await conn.close()
        return _outcome(sensor.next, int(rows), int(distinct), recovery)


_CENTRAL_N = "FROM sensor_readings WHERE hub_id = $1 AND sensor_key = 'n'"


async def _central_count(dsn: str, hub_id: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(f"SELECT count(DISTINCT value) {_CENTRAL_N}", hub_id))
    finally:
        await conn.close()


# --- the LRS away -----------------------------------------------------------------------------


async def lrs_down(workdir: Path, **opts: Any) -> dict[str, Any]:
    """The link to an xAPI LRS (a real Ralph, behind a relay) is cut while lessons record learning
    statements; the alarm names the LRS and its error; once back, the LRS holds each statement once."""
    from tests.classroom_hub.pusher.conftest import RALPH_PASSWORD, RALPH_PYTHON, RALPH_USER, Cuttable, Ralph, statement

    if not RALPH_PYTHON.exists():
        raise NotPossibleHere("Ralph LRS is not installed: run `make ralph` (a venv of its own in .venv-ralph)")
    ralph = Ralph(workdir / "ralph")
    (workdir / "ralph").mkdir(parents=True, exist_ok=True)
    await asyncio.get_running_loop().run_in_executor(None, ralph.add_user)
    await asyncio.get_running_loop().run_in_executor(None, ralph.start)
    relay = Cuttable(ralph.port)
    await relay.start()
    try:
        async with broker(workdir, opts.get("broker_url")) as url:
            destination = {"name": "lrs", "kind": "xapi", "url": f"http://127.0.0.1:{relay.port}/xAPI",
                           "username": RALPH_USER, "password": RALPH_PASSWORD, "batch_size": 50}  # fmt: skip
            central = {"retry_min_s": 0.1, "retry_max_s": 1.0, "idle_check_s": 0.2, "roster_pull_interval_min": 0,
                       "destinations": [destination]}  # fmt: skip
            settings = _quick(workdir, url, central=central)
            async with run_hub(settings) as hub:
                store = hub.app[STORE]
                sent = [statement(i) for i in range(100)]
                await store.add_statements(sent)
                await _lrs_has(ralph, len(sent))
                await relay.cut()
                more = [statement(i) for i in range(200)]
                await store.add_statements(more)
                sent += more
                await hub_alarm(hub, "push_failing")
                status, body = await healthz(hub)
                alarm = next(a for a in body["alarms"] if a["kind"] == "push_failing")
                assert status == 200 and alarm["part"] == "lrs" and alarm["detail"], body
                await relay.start()
                back = time.monotonic()
                await _lrs_has(ralph, len(sent))
                await hub_alarm(hub, "push_failing", present=False)
                await healthy(hub)
                recovery = time.monotonic() - back
        ids = [s["id"] for s in ralph.statements()]
        lost = len({s["id"] for s in sent} - set(ids))
        return {"lost": lost, "duplicated": len(ids) - len(set(ids)), "recovery_s": round(recovery, 3)}
    finally:
        await relay.cut()
        await asyncio.get_running_loop().run_in_executor(None, ralph.stop)


async def _lrs_has(ralph: Any, count: int) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while len({s["id"] for s in ralph.statements()}) < count:
        assert time.monotonic() < deadline, f"the LRS has {len(ralph.statements())} of {count} statements"
        await asyncio.sleep(0.1)


SCENARIOS: dict[str, Scenario] = {
    "disk_full": disk_full,
    "device_history_disk_full": device_history_disk_full,
    "store_locked": store_locked,
    "broker_restart": broker_restart,
    "central_down": central_down,
    "lrs_down": lrs_down,
}
