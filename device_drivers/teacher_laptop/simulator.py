"""The teacher's laptop's agent: always on its charger."""

from __future__ import annotations

from device_drivers.mqtt_device.simulator import SimulatedMqttDevice, agent_simulator


class SimulatedTeacherLaptop(SimulatedMqttDevice):
    kind = "teacher_laptop"
    firmware = "hub-agent 1.4.2 (Windows)"

    def step(self, dt: float) -> None:
        self.charging = True
        super().step(dt)


simulate = agent_simulator(SimulatedTeacherLaptop)
