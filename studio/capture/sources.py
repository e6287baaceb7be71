"""Where a picture comes from: a capture device, an RTSP/HTTP stream or a file, read by OpenCV.

Each OpenCV source has one thread that reads frames as they come and keeps only the newest:
the program takes whatever is newest when it composes, so a slow or stalled camera never
holds up the recording (its picture freezes and ``SourceStats.stale`` says so). A source that
fails is reopened with a growing pause; files loop at their own frame rate, as a demo needs.

Source strings (room file, ``[[devices]] kind = "camera"``, field ``source``):

- ``0``, ``1``, ... or ``/dev/video0``: a V4L2 capture device (USB camera, HDMI capture card)
- ``rtsp://...``, ``http://...``, ``https://...``: a network camera's stream
- ``synthetic`` / ``synthetic:display``: a rendered picture (tests and the demo), see ``synthetic.py``
- anything else: a video file, played in a loop
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import cv2
import numpy as np
import numpy.typing as npt

from classroom_hub.backoff import Backoff
from studio.errors import CaptureError

log = logging.getLogger(__name__)

Image = npt.NDArray[np.uint8]
REOPEN_MIN_S, REOPEN_MAX_S = 0.5, 10.0


@dataclass(frozen=True)
class Frame:
    image: Image  # BGR, height x width x 3
    seq: int
    at: float  # time.monotonic() when it was captured


@dataclass
class SourceStats:
    frames: int = 0
    errors: int = 0
    opens: int = 0
    last_error: str | None = None
    last_frame_at: float | None = None

    def stale(self, now: float, after_s: float = 2.0) -> bool:
        return self.last_frame_at is None or now - self.last_frame_at > after_s


class FrameSource(ABC):
    """A picture input. ``latest()`` never blocks; it returns None until a first frame exists."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.stats = SourceStats()

    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    def stop(self) -> None:
        """Stop and release the device; may block briefly (call it from a worker thread)."""

    @abstractmethod
    def latest(self) -> Frame | None: ...

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "frames": self.stats.frames,
            "errors": self.stats.errors,
            "last_error": self.stats.last_error,
            "stale": self.stats.stale(time.monotonic()),
        }


def _opencv_target(source: str) -> tuple[int | str, int, bool]:
    """(what to pass to VideoCapture, backend, is it a file)."""
    text = source.strip()
    if text.isdigit():
        return int(text), cv2.CAP_V4L2, False
    if text.startswith("/dev/video"):
        return text, cv2.CAP_V4L2, False
    if text.split("://", 1)[0] in ("rtsp", "rtsps", "http", "https", "udp", "tcp", "srt"):
        return text, cv2.CAP_FFMPEG, False
    return text, cv2.CAP_FFMPEG, True


class OpenCvSource(FrameSource):
    def __init__(
        self, name: str, source: str, *, size: tuple[int, int] | None = None, fps: float | None = None
    ) -> None:
        super().__init__(name)
        self.source = source
        self.size = size
        self.fps = fps
        self._target, self._backend, self._is_file = _opencv_target(source)
        if self._is_file and not Path(str(self._target)).is_file():
            raise CaptureError(f"camera {name}: source {source!r} is not a device, a stream URL or an existing file")
        self._latest: Frame | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=f"capture-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def latest(self) -> Frame | None:
        return self._latest

    def _open(self) -> cv2.VideoCapture:
        capture = cv2.VideoCapture(self._target, self._backend)
        if not capture.isOpened():
            capture.release()
            raise CaptureError(f"camera {self.name}: cannot open {self.source!r}")
        if self.size is not None:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.size[0])
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.size[1])
        if self.fps is not None and not self._is_file:
            capture.set(cv2.CAP_PROP_FPS, self.fps)
        self.stats.opens += 1
        log.info("event=camera_opened camera=%s source=%s", self.name, self.source)
        return capture

    def _fail(self, error: str) -> None:
        self.stats.errors += 1
        self.stats.last_error = error
        log.warning("event=camera_error camera=%s error=%r", self.name, error)

    def _run(self) -> None:
        backoff = Backoff(REOPEN_MIN_S, REOPEN_MAX_S, jitter="none")
        while not self._stopping.is_set():
            try:
                capture = self._open()
            except CaptureError as err:
                self._fail(str(err))
                self._stopping.wait(backoff.next())
                continue
            try:
                if self._read_until_failure(capture):
                    backoff.reset()
            finally:
                capture.release()

    def _read_until_failure(self, capture: cv2.VideoCapture) -> bool:
        """Read frames until stopped or the source fails; True if any frame came."""
        rate = self.fps or float(capture.get(cv2.CAP_PROP_FPS) or 0) or 30.0
        period = 1.0 / rate
        due = time.monotonic()
        got_any = False
        while not self._stopping.is_set():
            ok, read = capture.read()
            if not ok or read is None:
                if self._is_file and got_any and capture.set(cv2.CAP_PROP_POS_FRAMES, 0):
                    continue  # loop the file
                self._fail(f"camera {self.name}: {self.source!r} stopped delivering frames")
                return got_any
            got_any = True
            now = time.monotonic()
            image = cast(Image, read)
            if self.size is not None and (image.shape[1], image.shape[0]) != self.size:
                image = cast(Image, cv2.resize(image, self.size, interpolation=cv2.INTER_AREA))
            self.stats.frames += 1
            self.stats.last_frame_at = now
            self._latest = Frame(image, self.stats.frames, now)
            if self._is_file:
                # A file has no clock of its own: play it at its frame rate, not as fast as it decodes.
                due += period
                if due < now - 1.0:
                    due = now  # far behind (machine busy): do not rush to catch up
                self._stopping.wait(max(0.0, due - time.monotonic()))
        return got_any
