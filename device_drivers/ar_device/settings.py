"""An AR device's table in the room file (``kind = "ar_device"``)."""

from __future__ import annotations

from typing import Literal

from device_drivers.settings import DeviceBase


class ArDevice(DeviceBase):
    kind: Literal["ar_device"]
