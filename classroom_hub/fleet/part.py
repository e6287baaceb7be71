"""The fleet as a long-lived part of the hub: commands, the devices' alarm rules, battery history, scenes."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web

from classroom_hub.alarms import Alarm, DeviceAlarms
from classroom_hub.errors import StoreError
from classroom_hub.fleet.commands import FleetCommands
from classroom_hub.fleet.keys import FLEET
from classroom_hub.fleet.logbook import Logbook
from classroom_hub.fleet.samples import BatterySampler
from classroom_hub.fleet.scenes import SceneShelf
from classroom_hub.keys import ALARMS, COMMANDS, HEALTH, REGISTRY, SETTINGS, STORE

log = logging.getLogger(__name__)


@dataclass
class Fleet:
    commands: FleetCommands
    alarms: DeviceAlarms
    logbook: Logbook
    battery: BatterySampler
    scenes: SceneShelf


async def fleet_part(app: web.Application) -> AsyncIterator[None]:
    settings, registry, store = app[SETTINGS], app[REGISTRY], app[STORE]
    logbook = Logbook(store)
    alarms = DeviceAlarms(app[ALARMS], registry)
    battery = BatterySampler(store)

    def alarm_event(alarm: Alarm) -> None:
        # The devices' alarms also travel to the central database, as device events of type "alarm".
        if alarm.source != "device":
            return
        data = json.dumps({"id": alarm.id, "kind": alarm.kind, "state": alarm.state, "detail": alarm.detail,
                           "by": alarm.acknowledged_by}, ensure_ascii=False)  # fmt: skip
        with contextlib.suppress(StoreError):
            store.add_device_events([(alarm.device_id, alarm.changed_at, "alarm", data)])

    removers = [app[ALARMS].on_change(alarm_event), registry.on_update(battery.on_update)]
    alarms.start()
    commands = FleetCommands(app[COMMANDS], registry, alarms)
    app[FLEET] = Fleet(commands, alarms, logbook, battery, SceneShelf(settings.data_dir / "scenes"))
    app[HEALTH].parts["fleet"] = lambda: "up"
    yield
    alarms.close()
    for remove in removers:
        remove()
