"""Device kind ``audio``: an audio input (the studio records it)."""

from __future__ import annotations

from pathlib import Path

from device_drivers.audio.settings import AudioInput
from device_drivers.kinds import DeviceKind

KIND = DeviceKind(name="audio", settings=AudioInput, translations=Path(__file__).parent / "i18n")
