"""A student tablet's device agent (the small Android service beside the lesson page).

It reports what the technician needs to keep 40 tablets usable: battery and charging,
the lesson app's version, Wi-Fi signal strength and network name (docs/devices.md).
"""

from __future__ import annotations

from typing import Any

from classroom_hub.bus.payloads import Command
from device_drivers.mqtt_device.simulator import SimulatedMqttDevice, agent_simulator

APP_VERSION = "1.4.2"


class SimulatedTablet(SimulatedMqttDevice):
    kind = "tablet"
    firmware = "hub-agent 1.4.2"
    status_every_s = 10.0
    dropout_chance = 0.01

    def __init__(self, *args: Any, dropout_chance: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if dropout_chance is not None:
            self.dropout_chance = dropout_chance
        self.rssi_mean = self.random.gauss(-58, 6)

    def status_fields(self) -> dict[str, Any]:
        return {
            "app": "classroom-hub-web",
            "app_version": APP_VERSION,
            "rssi": max(-95, min(-30, int(self.random.gauss(self.rssi_mean, 3)))),
            "ssid": "classroom",
        }

    async def handle(self, command: Command) -> dict[str, Any]:
        if command.name == "status":
            return self.status()
        return await super().handle(command)


simulate = agent_simulator(SimulatedTablet)
