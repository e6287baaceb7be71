"""A student tablet's device agent (the small Android service beside the lesson page)."""

from __future__ import annotations

from typing import Any

from device_drivers.mqtt_device.simulator import SimulatedMqttDevice


class SimulatedTablet(SimulatedMqttDevice):
    kind = "tablet"
    firmware = "hub-agent 1.4.2"
    status_every_s = 10.0
    dropout_chance = 0.01

    def status_fields(self) -> dict[str, Any]:
        return {"app": "classroom-hub-web", "rssi": max(-95, min(-30, int(self.random.gauss(-58, 6))))}
