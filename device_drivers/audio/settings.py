"""An audio input's table in the room file (``kind = "audio"``): the studio's microphone."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from device_drivers.settings import DeviceBase


class AudioInput(DeviceBase):
    kind: Literal["audio"]
    source: str | None = Field(
        None, description="studio input: pulse:default, alsa:hw:1,0, file:/path.wav, tone:440 or silence"
    )
