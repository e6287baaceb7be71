"""An AR device's agent: a headset's, with its own kind and version."""

from __future__ import annotations

from device_drivers.headset.simulator import SimulatedHeadset
from device_drivers.mqtt_device.simulator import agent_simulator


class SimulatedArDevice(SimulatedHeadset):
    kind = "ar_device"
    firmware = "ar-agent 1.2.0"


simulate = agent_simulator(SimulatedArDevice)
