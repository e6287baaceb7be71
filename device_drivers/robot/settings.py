"""A robot kit's table in the room file (``kind = "robot"``)."""

from __future__ import annotations

from typing import Literal

from device_drivers.settings import DeviceBase


class Robot(DeviceBase):
    kind: Literal["robot"]
