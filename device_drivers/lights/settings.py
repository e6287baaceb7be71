"""The room's lights' table in the room file (``kind = "lights"``)."""

from __future__ import annotations

from typing import Literal

from device_drivers.settings import DeviceBase


class Lights(DeviceBase):
    kind: Literal["lights"]
