"""The running studio: cameras, program, sound, preview, the recording in progress, and its schedule.

``Studio`` is built from the room file and the studio settings, started by the web app's
cleanup context (``studio/web.py``) and closed with it; closing finishes a running recording
properly. On start it first repairs what a crash left behind (``recovery``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classroom_hub.errors import swallowed
from classroom_hub.events import Listeners
from device_drivers.camera import PtzError
from device_drivers.kinds import driver_for
from studio.api import PtzRequest
from studio.bookings import Actor, Booking, BookingRules, Bookings
from studio.cameras import StudioCameras
from studio.errors import RecordingError, StudioError
from studio.preroll import Preroll
from studio.preview import Preview
from studio.program import Layout, Program
from studio.publishing import MaterialsOutbox
from studio.recording.audio import AudioInput, parse_audio_source
from studio.recording.recorder import Recorder, RecorderResult
from studio.recordings import Recording, Recordings, finish_recording
from studio.recovery import recover
from studio.review import Publisher, Review
from studio.settings import StudioRig, StudioSettings
from studio.store import StudioStore

log = logging.getLogger(__name__)

Listener = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class RoomIdentity:
    school_code: str
    room_id: str
    room_name: str
    home_page: str
    language: str = "vi"


class Studio:
    def __init__(
        self, settings: StudioSettings, rig: StudioRig, folder: Path, room: RoomIdentity, *,
        add_statements: Callable[[list[dict[str, Any]]], Awaitable[Any]] | None = None,
        display_power: Callable[[str, dict[str, Any]], Awaitable[None]] | None = None,
    ) -> None:  # fmt: skip
        self.settings = settings
        self.rig = rig
        self.folder = folder
        # Inside the hub the displays already have a driver (the drivers part); standalone, one is made.
        self.display_power = display_power or power_on_directly
        self.room = room
        self.recordings_dir = settings.recordings_dir or folder / "recordings"
        self.store = StudioStore(folder / "studio.db")
        rules = BookingRules(settings.buffer_minutes * 60.0, settings.max_booking_hours * 3600.0,
                             settings.preroll_minutes * 60.0)  # fmt: skip
        self.bookings = Bookings(self.store, rules)
        self.recordings = Recordings(self.store, self.recordings_dir)
        self.outbox = MaterialsOutbox(self.store)
        publisher = Publisher(room.school_code, room.room_id, room.home_page, add_statements)
        self.review = Review(self.recordings, self.outbox, publisher, trim_exact=settings.trim == "exact",
                             preset=settings.x264_preset, crf=settings.crf)  # fmt: skip
        self.cameras = StudioCameras()
        self.program = Program(settings.size)
        self.audio = AudioInput(parse_audio_source(rig.audio_source), settings.samples_per_frame)
        self.preview = Preview(self.program, fps=settings.preview_fps, width=settings.preview_width)
        self.recorder: Recorder | None = None
        self.current: Recording | None = None
        self.last_result: RecorderResult | None = None
        self._stop_lock = asyncio.Lock()
        self._listeners: Listeners[[dict[str, Any]]] = Listeners("studio_listener_failed")
        self._tasks: set[asyncio.Task[Any]] = set()
        self._preroll: Preroll | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # --- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.recordings_dir.mkdir(parents=True, exist_ok=True)
        await self.store.open()
        try:
            repaired = await recover(self.recordings)
            if repaired:
                log.warning("event=studio_recovered recordings=%s", ",".join(repaired))
            size, fps = self.settings.size, float(self.settings.fps)
            self.cameras = await StudioCameras.start(self.rig.cameras, size, fps)
            pictures = [c.source for c in self.cameras.cameras.values() if not c.spec.display_capture]
            display = next((c.source for c in self.cameras.cameras.values() if c.spec.display_capture), None)
            self.program.cam1 = pictures[0] if pictures else None
            self.program.cam2 = pictures[1] if len(pictures) > 1 else None
            self.program.display = display
            self.program.on_switch(lambda s: self._emit({"type": "layout", "layout": str(s.layout)}))
            self.audio.start()
            self.preview.start()
            self._preroll = Preroll(self.bookings, self.wake_up)
            self._spawn(self._preroll.run(), "studio-preroll")
            self.bookings.on_change(lambda: self._emit({"type": "bookings"}))
        except BaseException:
            await self.close()
            raise
        log.info("event=studio_started cameras=%d audio=%s", len(self.cameras.cameras), self.rig.audio_source)

    async def close(self) -> None:
        if self.recorder is not None:
            with contextlib.suppress(StudioError):
                await self.stop_recording()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._preroll is not None:
            self._preroll.close()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self.preview.stop)
        await loop.run_in_executor(None, self.audio.stop)
        await self.cameras.close()
        await self.store.close()

    def _spawn(self, coro: Awaitable[Any], name: str) -> None:
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- events for the page ----------------------------------------------------------

    def on_event(self, listener: Listener) -> Callable[[], None]:
        return self._listeners.add(listener)

    def _emit(self, event: dict[str, Any]) -> None:
        self._listeners.emit(event)

    # --- live controls -----------------------------------------------------------------

    def set_layout(self, layout: Layout) -> None:
        self.program.set_layout(layout)

    async def ptz(self, request: PtzRequest) -> dict[str, Any]:
        control = self.cameras.ptz(request.camera)
        if control is None:
            raise StudioError(f"camera {request.camera!r} has no PTZ control")
        return await control.run(request)

    async def wake_up(self, booking: Booking) -> dict[str, Any]:
        """Pre-roll: displays and cameras on, the booking's presets recalled. Returns what happened."""
        report: dict[str, Any] = {}
        for device_id, options in self.rig.displays:
            try:
                await self.display_power(device_id, options)
                report[device_id] = "on"
            except Exception as err:  # whatever one display does, the others and the cameras still wake up
                swallowed("preroll_display_failed", display=device_id)
                report[device_id] = f"error: {err}"
        for camera_id, camera in self.cameras.cameras.items():
            if camera.ptz is None:
                continue
            try:
                await camera.ptz.run(PtzRequest(camera=camera_id, action="power", on=True))
                preset = booking.presets.get(camera_id)
                if preset is not None:
                    await camera.ptz.run(PtzRequest(camera=camera_id, action="preset_recall", number=preset))
                report[camera_id] = "on" if preset is None else f"on, preset {preset}"
            except PtzError as err:
                report[camera_id] = f"error: {err}"
        self._emit({"type": "preroll", "booking": booking.id, "report": report})
        return report

    # --- recording -----------------------------------------------------------------------

    def disk_free_mb(self) -> int:
        return shutil.disk_usage(self.recordings_dir).free // (1024 * 1024)

    async def start_recording(self, actor: Actor, booking_id: str | None = None) -> Recording:
        if self.recorder is not None:
            raise RecordingError("a recording is already running")
        booking = await (self.bookings.get(booking_id) if booking_id else self.bookings.current())
        if booking is None:
            raise RecordingError("no booking now: a recording belongs to a booking")
        if booking.state != "booked":
            raise RecordingError(f"booking {booking.id!r} is cancelled")
        loop = asyncio.get_running_loop()
        free = await loop.run_in_executor(None, self.disk_free_mb)
        if free < self.settings.min_free_mb:
            raise RecordingError(f"only {free} MB left on disk, {self.settings.min_free_mb} MB needed")
        recording_id = time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]
        recording = await self.recordings.create(
            recording_id, booking_id=booking.id, teacher=booking.teacher, teacher_name=booking.teacher_name,
            title=booking.title, language=self.room.language, subject=booking.subject, grade=booking.grade,
        )  # fmt: skip
        recorder = Recorder(
            self.program, self.audio, self.settings, self.recordings.work_path(recording_id),
            metadata={"title": booking.title, "artist": booking.teacher_name},
            on_encoder_failure=lambda error: self._from_thread(self._encoder_failed, recording_id, error),
        )  # fmt: skip
        try:
            await loop.run_in_executor(None, recorder.start)
        except RecordingError as err:
            await self.recordings.update(recording_id, state="draft", partial=1, error=str(err), ended_at=time.time())
            raise
        self.recorder, self.current = recorder, recording
        log.info("event=studio_recording recording=%s booking=%s by=%s", recording_id, booking.id, actor.username)
        self._emit({"type": "recording", "state": "recording", "id": recording_id})
        return recording

    def _from_thread(self, fn: Callable[..., None], *args: Any) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(fn, *args)

    def _encoder_failed(self, recording_id: str, error: str) -> None:
        if self.current is not None and self.current.id == recording_id:
            self._spawn(self.stop_recording(), "studio-stop-after-failure")

    async def add_chapter(self, title: str) -> float:
        if self.recorder is None or self.current is None:
            raise RecordingError("no recording is running")
        at = self.recorder.media_seconds
        await self.recordings.add_chapter(self.current.id, at, title)
        self._emit({"type": "chapter", "at_s": at, "title": title})
        return at

    async def stop_recording(self) -> Recording:
        async with self._stop_lock:
            recorder, recording = self.recorder, self.current
            if recorder is None or recording is None:
                raise RecordingError("no recording is running")
            result = await asyncio.get_running_loop().run_in_executor(None, recorder.stop)
            self.last_result = result
            self.recorder, self.current = None, None
            finished = await finish_recording(
                self.recordings, recording.id, partial=result.encoder_failed, error=result.error,
                dropped_frames=result.dropped_frames, layouts=recorder.stats.switches,
            )  # fmt: skip
            self._emit({"type": "recording", "state": "stopped", "id": recording.id, "partial": finished.partial})
            return finished

    def status(self) -> dict[str, Any]:
        recorder = self.recorder
        return {
            "recording": None
            if recorder is None or self.current is None
            else {
                "id": self.current.id,
                "booking_id": self.current.booking_id,
                "title": self.current.title,
                "elapsed_s": round(recorder.media_seconds, 1),
                "dropped_frames": recorder.stats.dropped_frames,
            },
            "layout": str(self.program.layout),
            "audio_db": round(self.audio.level_db, 1),
            "audio_error": self.audio.last_error,
            "cameras": [c.describe() for c in self.cameras.cameras.values()],
            "has_display_capture": self.program.display is not None,
        }


async def power_on_directly(device_id: str, options: dict[str, Any]) -> None:
    """Switch a display on through its own driver connection (the display driver's ``power`` command)."""
    driver = driver_for("display").from_options(device_id, options)
    async with driver:
        await driver.execute("power", {"on": True})
