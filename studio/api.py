"""The studio's HTTP/WebSocket messages as pydantic models: one place for the wire format (docs/studio.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

from device_drivers.camera.visca import Direction, ZoomDirection
from studio.program.layouts import Layout


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BookingRequest(_Message):
    title: str = Field(min_length=1, max_length=200)
    starts_at: datetime = Field(description="ISO 8601; without an offset it is studio time")
    ends_at: datetime
    teacher: str | None = Field(None, description="staff booking for a teacher: their username")
    teacher_name: str | None = Field(None, max_length=100)
    presets: dict[str, int] = Field(default_factory=dict, description="camera id -> preset to recall at pre-roll")
    subject: str | None = Field(None, max_length=200, description="of the lecture; carried into its recording")
    grade: str | None = Field(None, max_length=50)


def epoch(moment: datetime, zone: ZoneInfo) -> float:
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)).timestamp()


class LayoutRequest(_Message):
    layout: Layout


class PtzRequest(_Message):
    camera: str
    action: Literal["drive", "stop", "zoom", "home", "preset_recall", "preset_set", "power"]
    direction: Direction | None = None
    speed: int = Field(8, ge=1, le=0x17, description="pan/tilt speed 1..23")
    zoom: ZoomDirection | None = None
    number: int | None = Field(None, ge=0, le=0x7F, description="preset number")
    on: bool | None = None

    @model_validator(mode="after")
    def _arguments(self) -> PtzRequest:
        needs = {"drive": "direction", "zoom": "zoom", "preset_recall": "number", "preset_set": "number", "power": "on"}
        field = needs.get(self.action)
        if field is not None and getattr(self, field) is None:
            raise ValueError(f"action {self.action!r} needs {field!r}")
        return self


class RecordRequest(_Message):
    booking_id: str | None = Field(None, description="default: the booking of this moment")


class ChapterRequest(_Message):
    title: str = Field(min_length=1, max_length=120)


class EditRequest(_Message):
    title: str | None = Field(None, max_length=200)
    subject: str | None = Field(None, max_length=200)
    grade: str | None = Field(None, max_length=50)
    language: Literal["vi", "en"] | None = None
    teacher_name: str | None = Field(None, max_length=100)
    trim_in_s: float | None = Field(None, ge=0)
    trim_out_s: float | None = Field(None, gt=0)


class ReviewRequest(_Message):
    decision: Literal["approve", "reject"]
    comment: str | None = Field(None, max_length=2000)


class SocketCommand(_Message):
    """What the studio page sends on /ws/studio (PTZ needs press-and-hold: drive until released)."""

    type: Literal["ptz", "layout", "ping"]
    ptz: PtzRequest | None = None
    layout: Layout | None = None
