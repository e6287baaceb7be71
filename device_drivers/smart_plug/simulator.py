"""A smart plug's agent: switches on ``power``, reports its load, refuses what it may not carry.

The load follows what is plugged in: the tablets' charging cart draws a lot while they
charge and less as they fill up. The plug is on the mains: it reports no battery.
"""

from __future__ import annotations

from typing import Any

from classroom_hub.bus.payloads import Command
from device_drivers.mqtt_device.simulator import CommandRejected, SimulatedMqttDevice, agent_simulator

FIRMWARE = "plug-agent 0.3.1"


class SimulatedSmartPlug(SimulatedMqttDevice):
    kind = "smart_plug"
    firmware = FIRMWARE
    status_every_s = 10.0

    @classmethod
    def options_from(cls, device: Any) -> dict[str, Any]:
        return {"rated_w": device.rated_w}

    def __init__(self, *args: Any, rated_w: float = 2300.0, load_w: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rated_w = rated_w
        self.appliance_w = load_w if load_w is not None else self.random.uniform(300, 600)  # a charging cart
        self.on = self.appliance_w <= rated_w

    @property
    def watts(self) -> float:
        return self.appliance_w if self.on else 0.0

    def step(self, dt: float) -> None:
        # What is plugged in fills up: the cart draws a little less as the tablets charge.
        self.appliance_w = max(40.0, self.appliance_w * (1 - dt * 0.0005))

    def status(self) -> dict[str, Any]:
        status = super().status()
        del status["battery"], status["charging"]  # mains powered
        return status

    def status_fields(self) -> dict[str, Any]:
        return {"power": self.on, "watts": round(self.watts, 1), "rssi": -55}

    async def handle(self, command: Command) -> dict[str, Any]:
        if command.name == "power":
            on = command.args.get("on")
            if not isinstance(on, bool):
                raise CommandRejected("power needs 'on': true or false")
            if on and self.appliance_w > self.rated_w:
                raise CommandRejected(f"load {self.appliance_w:.0f} W is over the plug's {self.rated_w:.0f} W")
            self.on = on
            return {"power": self.on}
        if command.name == "status":
            return self.status()
        return await super().handle(command)


simulate = agent_simulator(SimulatedSmartPlug)
