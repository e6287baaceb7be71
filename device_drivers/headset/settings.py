"""A VR headset's table in the room file (``kind = "headset"``)."""

from __future__ import annotations

from typing import Literal

from device_drivers.settings import DeviceBase


class Headset(DeviceBase):
    kind: Literal["headset"]
    model: str | None = None
