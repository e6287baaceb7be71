"""A sensor node's table in the room file (``kind = "sensor_node"``): the Vinaponics kit's sensors."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from device_drivers.settings import DeviceBase


class SensorNode(DeviceBase):
    kind: Literal["sensor_node"]
    sensors: list[str] = Field(default_factory=list)
