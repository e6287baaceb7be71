"""A camera's table in the room file (``kind = "camera"``), with the studio's options (docs/studio.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from device_drivers.settings import DeviceBase


class Camera(DeviceBase):
    kind: Literal["camera"]
    # Required: the studio captures every camera, and a camera it cannot open is no camera.
    source: str = Field(
        min_length=1, description="OpenCV source: device index, RTSP/HTTP URL, file, or 'synthetic' (test pattern)"
    )
    ptz: Literal["visca_serial", "visca_ip", "none"] = "none"
    visca_address: int = Field(1, ge=1, le=7, description="VISCA address on the RS-232 daisy chain")
    size: str | None = Field(None, pattern=r"^\d{2,4}x\d{2,4}$", description="capture size asked of the source")
    fps: float | None = Field(None, gt=0, le=120, description="capture rate asked of the source")
    display_capture: bool = Field(False, description="an HDMI capture of a display, not a camera")
    poll_interval_s: float = Field(10.0, ge=0.05, le=3600,
                                   description="how often the hub asks a PTZ head its power (its state)")  # fmt: skip
