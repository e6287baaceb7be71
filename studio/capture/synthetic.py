"""Rendered pictures for tests and the demo: a studio seen through a simulated PTZ head, and slides.

``SyntheticCamera`` crops a panorama of the studio (larger than any view: 400 x 160 degrees) to the
view rectangle of a ``SimulatedHead`` (``head.view()``: centre pan/tilt, width/height in degrees,
narrower as the head zooms in), scales it to the camera's size, draws a ball that moves across the
whiteboard, and stamps the camera's name, frame number, clock time and head position. Drive the
head over VISCA and the picture pans, tilts and zooms with it; a head in standby shows black.

Frames are rendered when asked for (no thread), once per frame period: two readers in the same
period share one rendering.
"""

from __future__ import annotations

import functools
import math
import threading
import time
from datetime import datetime
from typing import cast

import cv2
import numpy as np

from device_drivers.camera.simulated_head import SimulatedHead, ViewRect
from studio.capture.sources import Frame, FrameSource, Image

PX_PER_DEG = 12
PAN_SPAN = (-200.0, 200.0)  # the head pans +-170 degrees; plus half of the widest view
TILT_SPAN = (-50.0, 110.0)  # the head tilts -30..+90 degrees; plus half of the widest view
FIXED_VIEW = ViewRect(0.0, 0.0, 60.0, 33.75)  # a camera without PTZ
FONT = cv2.FONT_HERSHEY_SIMPLEX


def _x(pan: float) -> int:
    return round((pan - PAN_SPAN[0]) * PX_PER_DEG)


def _y(tilt: float) -> int:
    return round((TILT_SPAN[1] - tilt) * PX_PER_DEG)


@functools.cache
def panorama() -> Image:
    """The whole studio as one picture, 12 pixels per degree; built once per process."""
    width, height = _x(PAN_SPAN[1]), _y(TILT_SPAN[0])
    # Wall colour changes with pan (a hue wheel), so any crop shows where the head points.
    hue = np.linspace(0, 179, width, dtype=np.float32).astype(np.uint8)
    hsv = np.empty((height, width, 3), np.uint8)
    hsv[:, :, 0] = hue[None, :]
    hsv[:, :, 1] = 90
    hsv[:, :, 2] = np.linspace(235, 150, height, dtype=np.float32).astype(np.uint8)[:, None]
    scene = cast(Image, cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR))
    scene[_y(-14) :, :] = (60, 70, 90)  # the floor
    for pan in range(int(PAN_SPAN[0]), int(PAN_SPAN[1]) + 1, 10):
        cv2.line(scene, (_x(pan), 0), (_x(pan), height - 1), (80, 80, 80), 3 if pan % 30 == 0 else 1)
    for tilt in range(int(TILT_SPAN[0]), int(TILT_SPAN[1]) + 1, 10):
        cv2.line(scene, (0, _y(tilt)), (width - 1, _y(tilt)), (80, 80, 80), 3 if tilt % 30 == 0 else 1)
    for pan in range(-180, 181, 30):
        for tilt in range(-30, 91, 30):
            cv2.putText(scene, f"{pan:+d}/{tilt:+d}", (_x(pan) + 6, _y(tilt) - 8), FONT, 0.8, (40, 40, 40), 2)
    # The whiteboard the teacher stands at, and the desk.
    cv2.rectangle(scene, (_x(-25), _y(20)), (_x(25), _y(-5)), (250, 250, 250), -1)
    cv2.rectangle(scene, (_x(-25), _y(20)), (_x(25), _y(-5)), (30, 30, 30), 4)
    cv2.putText(scene, "STUDIO - BAI GIANG", (_x(-21), _y(14)), FONT, 1.3, (120, 60, 0), 3)
    cv2.putText(scene, "E = m c^2   a^2 + b^2 = c^2", (_x(-21), _y(5)), FONT, 1.1, (0, 0, 160), 2)
    cv2.rectangle(scene, (_x(-15), _y(-9)), (_x(15), _y(-16)), (40, 80, 140), -1)
    return scene


def _crop(view: ViewRect) -> tuple[int, int, int, int]:
    scene = panorama()
    w = max(2, round(view.width_deg * PX_PER_DEG))
    h = max(2, round(view.height_deg * PX_PER_DEG))
    x0 = min(max(_x(view.pan_deg) - w // 2, 0), scene.shape[1] - w)
    y0 = min(max(_y(view.tilt_deg) - h // 2, 0), scene.shape[0] - h)
    return x0, y0, w, h


def _stamp(image: Image, lines: list[str]) -> None:
    scale = image.shape[0] / 720
    thickness = max(1, round(2 * scale))
    y = round(34 * scale)
    for line in lines:
        origin = (round(14 * scale), y)
        cv2.putText(image, line, origin, FONT, 0.9 * scale, (0, 0, 0), thickness + 2)
        cv2.putText(image, line, origin, FONT, 0.9 * scale, (255, 255, 255), thickness)
        y += round(36 * scale)


class _Rendered(FrameSource):
    def __init__(self, name: str, *, size: tuple[int, int], fps: float) -> None:
        super().__init__(name)
        self.size = size
        self.fps = fps
        self._t0 = time.monotonic()
        self._lock = threading.Lock()
        self._slot = -1
        self._frame: Frame | None = None

    def start(self) -> None:
        self._t0 = time.monotonic()

    def stop(self) -> None:
        pass

    def latest(self) -> Frame:
        now = time.monotonic()
        slot = int((now - self._t0) * self.fps)
        with self._lock:
            if slot != self._slot or self._frame is None:
                self._frame = Frame(self.render(now - self._t0, slot), slot, now)
                self._slot = slot
                self.stats.frames += 1
                self.stats.last_frame_at = now
            return self._frame

    def render(self, t: float, number: int) -> Image:
        raise NotImplementedError


class SyntheticCamera(_Rendered):
    def __init__(
        self, name: str, *, size: tuple[int, int] = (1280, 720), fps: float = 30.0, head: SimulatedHead | None = None
    ) -> None:
        super().__init__(name, size=size, fps=fps)
        self.head = head
        panorama()  # build it now, not in the first recorded frame

    def render(self, t: float, number: int) -> Image:
        width, height = self.size
        if self.head is not None and not self.head.powered:
            image = np.zeros((height, width, 3), np.uint8)
            _stamp(image, [f"{self.name}  STANDBY"])
            return image
        view = self.head.view() if self.head is not None else FIXED_VIEW
        x0, y0, w, h = _crop(view)
        crop = panorama()[y0 : y0 + h, x0 : x0 + w]
        image = cast(Image, cv2.resize(crop, (width, height), interpolation=cv2.INTER_LINEAR))
        # The moving teacher: a ball swinging across the whiteboard every 8 seconds.
        ball_pan = 18.0 * math.sin(2 * math.pi * t / 8.0)
        ball_tilt = 6.0 * abs(math.sin(2 * math.pi * t / 2.0))
        bx = ((_x(ball_pan) - x0) / w) * width
        by = ((_y(ball_tilt) - y0) / h) * height
        radius = max(2, round(2.5 * PX_PER_DEG / w * width))
        if -radius < bx < width + radius and -radius < by < height + radius:
            cv2.circle(image, (round(bx), round(by)), radius, (0, 140, 255), -1, cv2.LINE_AA)
        stamp = datetime.now().strftime("%H:%M:%S.%f")[:-3]
        _stamp(
            image,
            [
                f"{self.name}  #{number}  {stamp}",
                f"pan {view.pan_deg:+.1f}  tilt {view.tilt_deg:+.1f}  fov {view.width_deg:.1f}",
            ],
        )
        return image


class SyntheticDisplay(_Rendered):
    """What the interactive display shows: a slide that changes every 10 s, with a clock."""

    def render(self, t: float, number: int) -> Image:
        width, height = self.size
        slide = int(t // 10) % 5 + 1
        image = self._slide(slide, width, height).copy()
        bar = round((t % 10) / 10 * width)
        image[height - max(4, height // 60) :, :bar] = (0, 160, 0)
        _stamp(image, [f"{self.name}  #{number}  {datetime.now():%H:%M:%S}"])
        return image

    @staticmethod
    @functools.cache
    def _slide(slide: int, width: int, height: int) -> Image:
        image = np.full((height, width, 3), 245, np.uint8)
        scale = height / 720
        cv2.putText(image, f"Slide {slide}", (round(80 * scale), round(200 * scale)), FONT, 2.5 * scale, (120, 40, 0),
                    max(1, round(5 * scale)))  # fmt: skip
        for i in range(4):
            y = round((300 + 80 * i) * scale)
            cv2.putText(image, f"- muc {slide}.{i + 1}", (round(120 * scale), y), FONT, 1.4 * scale, (40, 40, 40),
                        max(1, round(3 * scale)))  # fmt: skip
        return image
