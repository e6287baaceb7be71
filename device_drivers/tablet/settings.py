"""A student tablet's table in the room file (``kind = "tablet"``)."""

from __future__ import annotations

from typing import Literal

from device_drivers.settings import DeviceBase


class Tablet(DeviceBase):
    kind: Literal["tablet"]
