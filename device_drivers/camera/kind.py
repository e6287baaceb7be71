"""Device kind ``camera``: a studio camera; pan, tilt and zoom over VISCA (RS-232 or IP)."""

from __future__ import annotations

from pathlib import Path

from device_drivers.camera.settings import Camera
from device_drivers.kinds import DeviceKind

KIND = DeviceKind(name="camera", settings=Camera, translations=Path(__file__).parent / "i18n")
