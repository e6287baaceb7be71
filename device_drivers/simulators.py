"""Simulators by device kind, for the demo classroom and the benchmarks.

Each speaks the device's real transport, so the hub cannot tell it from hardware.
"""

from __future__ import annotations

from typing import Any

from device_drivers.headset.simulator import SimulatedHeadset
from device_drivers.mqtt_device.simulator import SimulatedMqttDevice
from device_drivers.sensor_node.simulator import SimulatedSensorNode
from device_drivers.tablet.simulator import SimulatedTablet


class SimulatedArDevice(SimulatedHeadset):
    kind = "ar_device"
    firmware = "ar-agent 1.2.0"


class SimulatedTeacherLaptop(SimulatedMqttDevice):
    kind = "teacher_laptop"
    firmware = "hub-agent 1.4.2 (Windows)"

    def step(self, dt: float) -> None:
        self.charging = True
        super().step(dt)


MQTT_SIMULATORS: dict[str, type[SimulatedMqttDevice]] = {
    "tablet": SimulatedTablet,
    "headset": SimulatedHeadset,
    "ar_device": SimulatedArDevice,
    "teacher_laptop": SimulatedTeacherLaptop,
    "sensor_node": SimulatedSensorNode,
    "actuator": SimulatedMqttDevice,
}


def mqtt_simulator(kind: str, broker_url: str, room: str, device_id: str, **options: Any) -> SimulatedMqttDevice | None:
    cls = MQTT_SIMULATORS.get(kind)
    if cls is None:
        return None
    return cls(broker_url, room, device_id, **options)
