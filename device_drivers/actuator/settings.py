"""An actuator node's table in the room file (``kind = "actuator"``): pumps, fans, lights of a kit."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from device_drivers.settings import DeviceBase


class Actuator(DeviceBase):
    kind: Literal["actuator"]
    outputs: list[str] = Field(default_factory=list)
