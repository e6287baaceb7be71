"""The teacher's laptop's table in the room file (``kind = "teacher_laptop"``)."""

from __future__ import annotations

from typing import Literal

from device_drivers.settings import DeviceBase


class TeacherLaptop(DeviceBase):
    kind: Literal["teacher_laptop"]
