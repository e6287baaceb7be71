"""A smart plug's table in the room file (``kind = "smart_plug"``): the tablets' charging cart,
the projector, a kettle in the staff corner."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from device_drivers.settings import DeviceBase


class SmartPlug(DeviceBase):
    kind: Literal["smart_plug"]
    rated_w: float = Field(2300.0, gt=0, le=3680, description="what the plug may carry (230 V x 10 A = 2300 W)")
