"""One exception root for the studio (capture, recording, bookings, review), under the hub's ``HubError``;
PTZ keeps its own (``PtzError``), under ``HubError`` too."""

from __future__ import annotations

from typing import Any

from classroom_hub.errors import HubError


class StudioError(HubError):
    """Base of every error the studio raises on purpose."""

    code = "studio_refused"
    http_status = 400


class StudioConfigError(StudioError):
    """The studio settings or a camera/audio source string cannot be used; the message names the field."""

    code = "studio_config"
    http_status = 400


class CaptureError(StudioError):
    """A camera, display capture or audio input cannot be opened or stopped delivering."""

    code = "capture_failed"
    http_status = 400


class RecordingError(StudioError):
    """ffmpeg could not start, died, or a recording file cannot be read, finished or trimmed."""

    code = "recording_state"
    http_status = 409


class BookingError(StudioError):
    """A booking request that cannot be accepted (bad times, in the past, unknown booking)."""

    code = "booking_refused"
    http_status = 400


class BookingConflict(BookingError):
    """The requested slot overlaps another booking or its buffer."""

    code = "conflict"
    http_status = 409

    def __init__(self, message: str, other_id: str) -> None:
        super().__init__(message)
        self.other_id = other_id

    def body(self) -> dict[str, Any]:
        return {**super().body(), "other_id": self.other_id}  # the page shows the booking in the way


class ReviewError(StudioError):
    """A review or publishing step that the recording's state does not allow."""

    code = "review_state"
    http_status = 409


class NotAllowed(StudioError):
    """The user's role or ownership does not allow this action."""

    code = "forbidden"
    http_status = 403


class NotFound(StudioError):
    """No booking or recording with that id."""

    code = "not_found"
    http_status = 404
