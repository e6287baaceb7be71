"""What the device fault scenarios share: a hub with one driven device, an MQTT watcher that reads
availability the way Home Assistant does, and the unplug/replug cycle with its checks and counts.

Every check is about what someone in the room would see: the technician's API (``/api/devices``
and its alarms), the retained ``status`` a third-party client reads when it connects, and Home
Assistant's availability (every topic of the discovery payload's ``availability``, ``all`` mode).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from classroom_hub.alarms import AlarmLimits
from classroom_hub.alarms.model import Alarm
from classroom_hub.bus.link import Message, MqttLink
from classroom_hub.bus.topics import device_topic
from classroom_hub.discovery.part import discovery_topic, object_id
from classroom_hub.fleet.keys import FLEET
from classroom_hub.keys import ALARMS, REGISTRY, SETTINGS
from classroom_hub.registry import DeviceChange, DeviceRecord
from config.settings import HubSettings
from tests.classroom_hub.fleet.conftest import logged_in
from tests.classroom_hub.test_bus import first_message
from tests.conftest import Mosquitto, RunningHub, run_hub, wait_for

Step = Callable[[], Awaitable[None]]
TIMEOUT_S = 20.0  # for each observable change; generous for a loaded 2-core CI machine


@contextlib.asynccontextmanager
async def broker(workdir: Path, broker_url: str | None) -> AsyncIterator[str]:
    """The given Mosquitto, or a private one in ``workdir`` (a bench run has no pytest fixture)."""
    if broker_url is not None:
        yield broker_url
        return
    mosquitto = Mosquitto(workdir / "mosquitto")
    mosquitto.start()
    try:
        yield mosquitto.url
    finally:
        mosquitto.stop()


class AvailabilityWatch:
    """A subscriber to a device's discovery and availability topics, as Home Assistant holds them."""

    def __init__(self, url: str, settings: HubSettings, device_id: str) -> None:
        self.topic = discovery_topic(object_id(settings, device_id))
        self.latest: dict[str, bytes] = {}
        self._link = MqttLink(url, client_id=f"ha-{device_id}-{time.monotonic_ns()}", manual_ack=False,
                              clean_session=True)  # fmt: skip
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> AvailabilityWatch:
        self._link.subscribe(self.topic, self._keep)
        self._task = asyncio.create_task(self._link.run())
        await self._link.wait_up(5)
        await wait_for(lambda: self.topic in self.latest, timeout=TIMEOUT_S)
        for entry in self.discovery()["availability"]:
            self._link.subscribe(entry["topic"], self._keep)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._link.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _keep(self, message: Message) -> None:
        self.latest[message.topic] = message.payload

    def discovery(self) -> dict[str, Any]:
        payload: dict[str, Any] = json.loads(self.latest[self.topic])
        return payload

    def available(self) -> bool:
        """Home Assistant's verdict: ``value_json.state`` of every availability topic is ``online``."""
        config = self.discovery()
        assert config["availability_mode"] == "all"
        states = []
        for entry in config["availability"]:
            assert entry["value_template"] == "{{ value_json.state }}"
            payload = self.latest.get(entry["topic"])
            states.append(payload is not None and json.loads(payload).get("state") == "online")
        return all(states)


@dataclass
class Counts:
    """State changes and offline alarms of one device, counted as the hub makes them."""

    offline: int = 0
    online: int = 0
    alarms: set[str] = field(default_factory=set)

    def on_change(self, device_id: str) -> Callable[[DeviceChange], None]:
        def count(change: DeviceChange) -> None:
            if change.device_id == device_id:
                if change.new_state == "offline":
                    self.offline += 1
                elif change.new_state == "online":
                    self.online += 1

        return count

    def on_alarm(self, device_id: str) -> Callable[[Alarm], None]:
        def count(alarm: Alarm) -> None:
            if alarm.device_id == device_id and alarm.kind == "offline" and alarm.source == "device":
                self.alarms.add(alarm.id)

        return count


@dataclass
class Outcome:
    lost: int = 0  # outages or recoveries the hub did not report (per cycle: 1 expected of each)
    duplicated: int = 0  # reported more than once
    recovery_s: list[float] = field(default_factory=list)  # replug -> everything says online again

    def as_dict(self) -> dict[str, Any]:
        worst = max(self.recovery_s) if self.recovery_s else None
        return {"lost": self.lost, "duplicated": self.duplicated, "recovery_s": worst,
                "recoveries_s": [round(s, 3) for s in self.recovery_s]}  # fmt: skip

    def tally(self, expected: int, seen: int) -> None:
        self.lost += max(0, expected - seen)
        self.duplicated += max(0, seen - expected)


@contextlib.asynccontextmanager
async def watched_hub(settings: HubSettings) -> AsyncIterator[RunningHub]:
    """The hub, its offline alarms at once (no grace period: the test waits for each one)."""
    async with run_hub(settings) as hub:
        hub.app[FLEET].alarms.limits = AlarmLimits(offline_grace_s=0)
        yield hub


async def api_device(client: aiohttp.ClientSession, device_id: str) -> dict[str, Any]:
    async with client.get("/api/devices") as response:
        assert response.status == 200, await response.text()
        body = await response.json()
    found: dict[str, Any] = next(d for d in body["devices"] if d["id"] == device_id)
    return found


async def retained_status(url: str, settings: HubSettings, device_id: str) -> dict[str, Any]:
    """What a client connecting now reads on the device's status topic (the retained message)."""
    status: dict[str, Any] = json.loads(await first_message(url, device_topic(settings.room.id, device_id, "status")))
    return status


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {TIMEOUT_S} s: {what}")
        await asyncio.sleep(0.02)


async def unplug_twice(
    hub: RunningHub, url: str, device_id: str, unplug: Step, replug: Step, reason: str, cycles: int = 2
) -> dict[str, Any]:
    """Unplug and replug ``device_id`` ``cycles`` times; each time check that it goes offline with a
    reason matching the regular expression ``reason`` on the API, the retained status and Home
    Assistant's availability, with one alarm, and that it comes back everywhere, the alarm cleared."""
    settings, registry = hub.app[SETTINGS], hub.app[REGISTRY]
    record = registry.get(device_id)
    assert record is not None
    counts, outcome = Counts(), Outcome()
    removers = [registry.on_change(counts.on_change(device_id)), hub.app[ALARMS].on_change(counts.on_alarm(device_id))]
    try:
        async with logged_in(hub) as client, AvailabilityWatch(url, settings, device_id) as ha:
            await everything_online(client, url, settings, record, ha)
            for _ in range(cycles):
                before = (counts.offline, counts.online, len(counts.alarms))
                await unplug()
                await everything_offline(hub, client, url, settings, record, ha, reason)
                replugged = time.monotonic()
                await replug()
                await everything_online(client, url, settings, record, ha)
                outcome.recovery_s.append(time.monotonic() - replugged)
                # One more answer after the recovery: a late second verdict would have come by now.
                await answered_again(record)
                outcome.tally(1, counts.offline - before[0])
                outcome.tally(1, counts.online - before[1])
                outcome.tally(1, len(counts.alarms) - before[2])
    finally:
        for remove in removers:
            remove()
    return outcome.as_dict()


async def answered_again(record: DeviceRecord) -> None:
    seen = record.last_seen or 0.0
    await wait_for(lambda: (record.last_seen or 0.0) > seen, timeout=TIMEOUT_S)


async def everything_offline(
    hub: RunningHub, client: aiohttp.ClientSession, url: str, settings: HubSettings, record: DeviceRecord,
    ha: AvailabilityWatch, reason: str,
) -> None:  # fmt: skip
    await wait_for(lambda: record.state == "offline", timeout=TIMEOUT_S)
    why = record.last_error or ""
    assert re.search(reason, why), f"{record.id} offline because {why!r}, expected {reason!r}"
    seen = await api_device(client, record.id)
    assert (seen["state"], seen["last_error"]) == ("offline", why)
    status = await retained_status(url, settings, record.id)
    assert (status["state"], status.get("error")) == ("offline", why)
    await until(lambda: _false(ha.available()), f"Home Assistant shows {record.id} unavailable")
    alarms = [a for a in hub.app[FLEET].alarms.active() if a.device_id == record.id]
    assert [(a.kind, a.detail) for a in alarms] == [("offline", why)]  # the true reason, not "last will"


async def everything_online(
    client: aiohttp.ClientSession, url: str, settings: HubSettings, record: DeviceRecord, ha: AvailabilityWatch
) -> None:
    await wait_for(lambda: record.state == "online" and record.last_error is None, timeout=TIMEOUT_S)

    async def api_online() -> bool:
        seen = await api_device(client, record.id)
        return (seen["state"], seen["last_error"]) == ("online", None)

    async def retained_online() -> bool:
        status = await retained_status(url, settings, record.id)
        return status["state"] == "online" and "error" not in status

    async def no_alarm() -> bool:
        async with client.get("/api/alarms") as response:
            active = (await response.json())["active"]
        return not [a for a in active if a["device_id"] == record.id and a["kind"] == "offline"]

    await until(api_online, f"/api/devices shows {record.id} online without an error")
    await until(retained_online, f"the retained status of {record.id} says online")
    await until(lambda: _true(ha.available()), f"Home Assistant shows {record.id} available")
    await until(no_alarm, f"the offline alarm of {record.id} is cleared")


async def _true(value: bool) -> bool:
    return value


async def _false(value: bool) -> bool:
    return not value
