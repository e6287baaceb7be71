"""One exception root for the studio (capture, recording, bookings, review); PTZ keeps its own (``PtzError``)."""

from __future__ import annotations


class StudioError(Exception):
    """Base of every error the studio raises on purpose."""


class StudioConfigError(StudioError):
    """The studio settings or a camera/audio source string cannot be used; the message names the field."""


class CaptureError(StudioError):
    """A camera, display capture or audio input cannot be opened or stopped delivering."""


class RecordingError(StudioError):
    """ffmpeg could not start, died, or a recording file cannot be read, finished or trimmed."""


class BookingError(StudioError):
    """A booking request that cannot be accepted (bad times, in the past, unknown booking)."""


class BookingConflict(BookingError):
    """The requested slot overlaps another booking or its buffer."""

    def __init__(self, message: str, other_id: str) -> None:
        super().__init__(message)
        self.other_id = other_id


class ReviewError(StudioError):
    """A review or publishing step that the recording's state does not allow."""


class NotAllowed(StudioError):
    """The user's role or ownership does not allow this action."""


class NotFound(StudioError):
    """No booking or recording with that id."""
