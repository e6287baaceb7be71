"""Device kind ``camera``: a studio camera; pan, tilt and zoom over VISCA (RS-232 or IP).

The hub talks to a camera itself (its VISCA head, or its picture), so the hub publishes its
retained ``status``: ``state`` (online/offline, with the reason in ``error``) and ``power`` from
a PTZ head's own answer, or ``picture`` (frames arriving) for a camera without one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from device_drivers.camera.settings import Camera
from device_drivers.entities import Entity, status_flag
from device_drivers.kinds import DeviceKind

POWER = Entity("power", "binary_sensor", status_flag("power"), device_class="power")
PICTURE = Entity("picture", "binary_sensor", status_flag("picture"), {"en": "Picture", "vi": "Hình ảnh"})



def _head_entities(camera: Any) -> tuple[Entity, ...]:
    # A PTZ head says whether it is on; a camera without one is known by its picture only.
    return (POWER,) if getattr(camera, "ptz", "none") != "none" else (PICTURE,)


KIND = DeviceKind(name="camera", settings=Camera, entities=(), device_entities=_head_entities,
                  translations=Path(__file__).parent / "i18n")  # fmt: skip
