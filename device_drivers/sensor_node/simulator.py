"""A Vinaponics water-quality node: readings that drift like a real tank over a day."""

from __future__ import annotations

import math
import time
from typing import Any

from device_drivers.mqtt_device.simulator import SimulatedMqttDevice, agent_simulator

# key: (unit, typical value, daily swing, noise)
SENSORS: dict[str, tuple[str, float, float, float]] = {
    "ph": ("pH", 6.8, 0.25, 0.02),
    "water_temp": ("°C", 26.0, 1.5, 0.05),
    "do": ("mg/L", 6.5, 0.8, 0.05),
    "ec": ("µS/cm", 850.0, 40.0, 5.0),
    "level": ("%", 82.0, 3.0, 0.3),
    "air_temp": ("°C", 29.0, 4.0, 0.1),
    "humidity": ("%", 75.0, 10.0, 0.5),
    "light": ("lx", 12000.0, 11000.0, 200.0),
}


class SimulatedSensorNode(SimulatedMqttDevice):
    kind = "sensor_node"
    firmware = "vinaponics-node 0.9.3"
    telemetry_every_s = 2.0

    @classmethod
    def options_from(cls, device: Any) -> dict[str, Any]:
        return {"sensors": list(device.sensors)} if getattr(device, "sensors", None) else {}

    def __init__(self, *args: Any, sensors: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sensors = [s for s in (sensors or list(SENSORS)) if s in SENSORS]
        self.battery = 100.0

    def step(self, dt: float) -> None:
        pass  # mains powered

    def readings(self) -> list[dict[str, Any]]:
        day = (time.time() % 86400) / 86400
        out = []
        for key in self.sensors:
            unit, mean, swing, noise = SENSORS[key]
            value = mean + swing * math.sin(2 * math.pi * (day - 0.25)) + self.random.gauss(0, noise)
            out.append({"key": key, "value": round(value, 3), "unit": unit})
        return out


simulate = agent_simulator(SimulatedSensorNode)
