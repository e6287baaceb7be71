"""The low-rate preview of the program for the studio page: small JPEGs, a few per second.

A worker thread scales the program picture down and JPEG-encodes it; while a recording runs it
reuses the picture the recorder just composed (no second composition), otherwise it composes
one itself. Nothing is encoded while nobody watches. Readers on the event loop wait for the
next picture with ``await preview.next(after)``; no polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time

import cv2

from studio.program.program import Program

JPEG_QUALITY = 70


class Preview:
    def __init__(self, program: Program, *, fps: float, width: int) -> None:
        self.program = program
        self.period = 1.0 / fps
        self.width = width
        self.viewers = 0
        self.jpeg: bytes | None = None
        self.seq = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._fresh = asyncio.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._fresh = asyncio.Event()
        self._thread = threading.Thread(target=self._run, name="studio-preview", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Blocks until the thread ends: call from a worker thread."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    async def next(self, after: int, timeout: float = 5.0) -> tuple[int, bytes | None]:
        """The newest picture once it is newer than ``after`` (or the current one after ``timeout``)."""
        if self.seq <= after:
            event = self._fresh
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout)
        return self.seq, self.jpeg

    def snapshot(self) -> bytes:
        """One picture now, whether or not anyone watches (for GET /api/studio/preview.jpg)."""
        return self._encode(fresh=True)

    def _encode(self, *, fresh: bool) -> bytes:
        recent = self.program.latest is not None and time.monotonic() - self.program.latest_at < 0.2
        picture = self.program.latest if recent and not fresh and self.program.latest is not None else None
        if picture is None:
            picture = self.program.compose()
        height = round(picture.shape[0] * self.width / picture.shape[1]) // 2 * 2
        small = cv2.resize(picture, (self.width, height), interpolation=cv2.INTER_AREA)
        ok, data = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        return data.tobytes() if ok else b""

    def _run(self) -> None:
        while not self._stopping.wait(self.period):
            if self.viewers <= 0:
                continue
            jpeg = self._encode(fresh=False)
            if self._loop is not None and not self._loop.is_closed():
                try:
                    self._loop.call_soon_threadsafe(self._publish, jpeg)
                except RuntimeError:  # the loop closed meanwhile
                    return

    def _publish(self, jpeg: bytes) -> None:
        self.jpeg = jpeg
        self.seq += 1
        event, self._fresh = self._fresh, asyncio.Event()
        event.set()
