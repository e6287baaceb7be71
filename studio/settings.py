"""The studio's section of the room file, ``[studio]``: picture size, encoder, bookings, time zone.

Every field has a default that suits the province's studio, so the section is optional; it is
checked by ``check-config`` and overridable from ``CLASSROOM_HUB_STUDIO__<FIELD>`` like any
other. (It used to be a file of its own, ``<data_dir>/studio/studio.toml``, which is still read
for one release, with a warning, when the room file has no ``[studio]``: config/loader.py.)
Cameras, the audio input and the displays come from the room file's ``[[devices]]`` (kinds
``camera``, ``audio``, ``display``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from studio.errors import StudioConfigError

if TYPE_CHECKING:
    from config.settings import CoreSettings as HubSettings

SECTION = "studio"

AUDIO_RATE = 48_000  # Hz; the program's audio, whatever the input's own rate
AUDIO_CHANNELS = 2
SIZE_RE = re.compile(r"^(\d{2,4})x(\d{2,4})$")


def parse_size(text: str) -> tuple[int, int]:
    match = SIZE_RE.match(text)
    if match is None:
        raise ValueError(f"size {text!r} must look like 1280x720")
    width, height = int(match[1]), int(match[2])
    if width % 2 or height % 2:
        raise ValueError(f"size {text!r}: width and height must be even (H.264 4:2:0)")
    return width, height


HOURS_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


def parse_hours(text: str) -> tuple[int, int]:
    """``"07:00-17:30"`` -> (420, 1050) minutes after midnight."""
    match = HOURS_RE.match(text)
    if match is None:
        raise ValueError(f"hours {text!r} must look like 07:00-17:30")
    return int(match[1]) * 60 + int(match[2]), int(match[3]) * 60 + int(match[4])


class StudioSettings(BaseModel):
    # A section of the room file like any other: unknown keys are typos, inf and nan refused.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    program_size: str = Field("1280x720", description="the recorded picture, WxH")
    fps: int = Field(30, description="program frame rate; must divide 48000 (24, 25, 30, 50, 60)")
    x264_preset: Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"] = "veryfast"
    crf: int = Field(23, ge=0, le=51)
    encoder_threads: int = Field(0, ge=0, le=64, description="x264 threads; 0 lets x264 choose")
    keyframe_seconds: float = Field(2.0, gt=0, le=10, description="also the length of a crash-safe fragment")
    audio_bitrate_k: int = Field(128, ge=32, le=512)
    audio_offset_ms: int = Field(0, ge=-2000, le=2000, description="positive: audio later (cameras lag)")
    preview_fps: float = Field(4.0, gt=0, le=15)
    preview_width: int = Field(480, ge=160, le=1280)
    buffer_minutes: int = Field(15, ge=0, le=240, description="free time kept between two bookings")
    preroll_minutes: float = Field(5.0, ge=0, le=60, description="power on and recall presets this early")
    max_booking_hours: float = Field(4.0, gt=0, le=12)
    booking_hours: str = Field("07:00-17:30", description="the studio's day for teachers' slots, HH:MM-HH:MM")
    booking_weekdays: list[int] = Field([1, 2, 3, 4, 5, 6], description="days with slots, 1 = Monday ... 7 = Sunday")
    slot_minutes: int = Field(45, ge=10, le=240, description="a teacher's slot; slots are buffer_minutes apart")
    timezone: str = "Asia/Ho_Chi_Minh"
    min_free_mb: int = Field(2048, ge=0, description="refuse to start a recording with less disk left")
    recordings_dir: Path | None = Field(None, description="default <data_dir>/studio/recordings")
    trim: Literal["copy", "exact"] = Field("copy", description="copy: instant, cuts at keyframes")

    @field_validator("program_size")
    @classmethod
    def _size(cls, v: str) -> str:
        parse_size(v)
        return v

    @field_validator("fps")
    @classmethod
    def _fps(cls, v: int) -> int:
        if v <= 0 or v > 60 or AUDIO_RATE % v:
            raise ValueError("fps must divide 48000 and be at most 60: 24, 25, 30, 48, 50 or 60")
        return v

    @field_validator("booking_hours")
    @classmethod
    def _hours(cls, v: str) -> str:
        opens, closes = parse_hours(v)
        if closes <= opens:
            raise ValueError(f"booking_hours {v!r}: the day must end after it starts")
        return v

    @field_validator("booking_weekdays")
    @classmethod
    def _weekdays(cls, v: list[int]) -> list[int]:
        if not v or any(not 1 <= d <= 7 for d in v):
            raise ValueError("booking_weekdays: ISO weekdays 1 (Monday) to 7 (Sunday), at least one")
        return sorted(set(v))

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"unknown time zone {v!r} (e.g. Asia/Ho_Chi_Minh)") from err
        return v

    @model_validator(mode="after")
    def _preview_narrower(self) -> StudioSettings:
        if self.preview_width > self.size[0]:
            raise ValueError("preview_width must not exceed the program width")
        return self

    @property
    def size(self) -> tuple[int, int]:
        return parse_size(self.program_size)

    @property
    def day_minutes(self) -> tuple[int, int]:
        """The studio's booking day as minutes after midnight: (opens, closes)."""
        return parse_hours(self.booking_hours)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def samples_per_frame(self) -> int:
        return AUDIO_RATE // self.fps


@dataclass(frozen=True)
class CameraSpec:
    """One picture input of the studio: a PTZ camera or the capture of a display."""

    device_id: str
    name: str
    source: str
    size: tuple[int, int] | None = None
    fps: float | None = None
    display_capture: bool = False
    ptz: Literal["visca_serial", "visca_ip", "none"] = "none"
    transport: dict[str, Any] = field(default_factory=dict)
    visca_address: int = 1


@dataclass(frozen=True)
class StudioRig:
    """What is plugged into the studio, from the room file."""

    cameras: tuple[CameraSpec, ...]
    audio_source: str
    displays: tuple[tuple[str, dict[str, Any]], ...]

    @property
    def pictures(self) -> tuple[CameraSpec, ...]:
        return tuple(c for c in self.cameras if not c.display_capture)

    @property
    def display_capture(self) -> CameraSpec | None:
        return next((c for c in self.cameras if c.display_capture), None)


def rig_from(hub: HubSettings) -> StudioRig:
    cameras: list[CameraSpec] = []
    audio = "silence"
    displays: list[tuple[str, dict[str, Any]]] = []
    for device_id, device in hub.device_list():
        if device.kind == "camera":
            if device.source is None:
                raise StudioConfigError(f"devices: camera {device_id!r} has no 'source' (device index, URL or file)")
            cameras.append(
                CameraSpec(
                    device_id=device_id,
                    name=device.name or device_id,
                    source=device.source,
                    size=parse_size(device.size) if device.size else None,
                    fps=device.fps,
                    display_capture=device.display_capture,
                    ptz=device.ptz,
                    transport=device.transport.model_dump(),
                    visca_address=device.visca_address,
                )
            )
        elif device.kind == "audio" and device.source:
            audio = device.source
        elif device.kind == "display":
            displays.append((device_id, device.model_dump(mode="json")))
    return StudioRig(tuple(cameras), audio, tuple(displays))


def studio_dir(hub: HubSettings) -> Path:
    return hub.data_dir / "studio"


def load_studio_settings(hub: HubSettings) -> StudioSettings:
    """The room's ``[studio]`` section."""
    return hub.section(SECTION, StudioSettings)


def is_studio(settings: HubSettings) -> bool:
    """Whether this room runs the studio: it is one, or it has a camera."""
    return settings.room.kind == "studio" or any(d.kind == "camera" for _, d in settings.device_list())
