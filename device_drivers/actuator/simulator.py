"""An actuator node's agent on MQTT: the plain agent (status, ping)."""

from __future__ import annotations

from device_drivers.mqtt_device.simulator import SimulatedMqttDevice, agent_simulator

simulate = agent_simulator(SimulatedMqttDevice)
