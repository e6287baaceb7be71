"""The fleet as a long-lived part of the hub: commands, the devices' alarm rules, battery history, scenes."""

from __future__ import annotations

import asyncio
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
from classroom_hub.fleet.scenes.copies import HeadsetCopies
from classroom_hub.fleet.scenes.keys import KEY_FILE, SceneKeys
from classroom_hub.fleet.scenes.launcher import SceneLauncher
from classroom_hub.fleet.scenes.shelf import SceneShelf, stock_shelf
from classroom_hub.keys import ALARMS, COMMANDS, HEALTH, LINK, REGISTRY, REJECTIONS, SETTINGS, STORE

log = logging.getLogger(__name__)


@dataclass
class Fleet:
    commands: FleetCommands
    alarms: DeviceAlarms
    logbook: Logbook
    battery: BatterySampler
    scenes: SceneShelf
    copies: HeadsetCopies
    launcher: SceneLauncher
    scene_keys: SceneKeys


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
            store.keep_device_events([(alarm.device_id, alarm.changed_at, "alarm", data)])

    removers = [app[ALARMS].on_change(alarm_event), registry.on_update(battery.on_update)]
    alarms.start()
    commands = FleetCommands(app[COMMANDS], registry, alarms)
    shelf = SceneShelf(settings.data_dir / "scenes")
    loop = asyncio.get_running_loop()
    # The sample scenes, so the sample lessons' VR steps play on a new hub (docs/scenes.md).
    await loop.run_in_executor(None, stock_shelf, shelf)
    keys = await loop.run_in_executor(None, SceneKeys.load, settings.data_dir / KEY_FILE)
    copies = HeadsetCopies(registry, app[REJECTIONS])
    copies.listen(app[LINK], settings.room.id)
    launcher = SceneLauncher(commands, registry, copies, keys)
    app[FLEET] = Fleet(commands, alarms, logbook, battery, shelf, copies, launcher, keys)
    app[HEALTH].parts["fleet"] = lambda: "up"
    yield
    await launcher.close()
    copies.close()
    alarms.close()
    for remove in removers:
        remove()
