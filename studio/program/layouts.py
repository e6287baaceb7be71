"""The studio's layouts, as OBS would call its scenes, composed with numpy and OpenCV.

All layouts are drawn into one picture of the program size; an input without a picture (a
camera that has not delivered yet, no display capture configured) shows as a grey "no signal".

| layout | picture |
|---|---|
| ``cam1`` / ``cam2`` | that camera, full frame |
| ``pip`` | camera 1 full frame, camera 2 in a 30 % inset at the bottom right |
| ``side_by_side`` | the two cameras, each fitted into one half (letterboxed) |
| ``display_camera`` | the display capture fitted into the left 75 %, camera 1 cropped to the right 25 % column |
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import cast

import cv2
import numpy as np

from studio.capture.sources import Image

NO_SIGNAL = (64, 64, 64)


class Layout(StrEnum):
    CAM1 = "cam1"
    CAM2 = "cam2"
    PIP = "pip"
    SIDE_BY_SIDE = "side_by_side"
    DISPLAY_CAMERA = "display_camera"


@dataclass(frozen=True)
class Inputs:
    cam1: Image | None = None
    cam2: Image | None = None
    display: Image | None = None


Rect = tuple[int, int, int, int]  # x, y, width, height


def _no_signal(out: Image, rect: Rect) -> None:
    x, y, w, h = rect
    out[y : y + h, x : x + w] = NO_SIGNAL
    scale = max(0.4, h / 400)
    cv2.putText(out, "NO SIGNAL", (x + w // 2 - round(110 * scale), y + h // 2), cv2.FONT_HERSHEY_SIMPLEX, scale,
                (200, 200, 200), max(1, round(2 * scale)))  # fmt: skip


def _scaled(image: Image, width: int, height: int) -> Image:
    if image.shape[1] == width and image.shape[0] == height:
        return image
    shrinking = width < image.shape[1]
    method = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cast(Image, cv2.resize(image, (width, height), interpolation=method))


def fit(out: Image, image: Image | None, rect: Rect) -> None:
    """The whole picture inside ``rect``, keeping its shape; the rest of the rect stays as it is."""
    if image is None:
        _no_signal(out, rect)
        return
    x, y, w, h = rect
    ih, iw = image.shape[:2]
    scale = min(w / iw, h / ih)
    nw, nh = max(2, round(iw * scale)), max(2, round(ih * scale))
    ox, oy = x + (w - nw) // 2, y + (h - nh) // 2
    out[oy : oy + nh, ox : ox + nw] = _scaled(image, nw, nh)


def fill(out: Image, image: Image | None, rect: Rect) -> None:
    """The centre of the picture cropped to ``rect``'s shape, filling it."""
    if image is None:
        _no_signal(out, rect)
        return
    x, y, w, h = rect
    ih, iw = image.shape[:2]
    if iw * h > w * ih:  # wider than the rect: crop the sides
        cw = max(2, round(ih * w / h))
        crop = image[:, (iw - cw) // 2 : (iw - cw) // 2 + cw]
    else:
        ch = max(2, round(iw * h / w))
        crop = image[(ih - ch) // 2 : (ih - ch) // 2 + ch, :]
    out[y : y + h, x : x + w] = _scaled(np.ascontiguousarray(crop), w, h)


def compose(layout: Layout, inputs: Inputs, size: tuple[int, int]) -> Image:
    width, height = size
    out = np.zeros((height, width, 3), np.uint8)
    match layout:
        case Layout.CAM1:
            fill(out, inputs.cam1, (0, 0, width, height))
        case Layout.CAM2:
            fill(out, inputs.cam2, (0, 0, width, height))
        case Layout.PIP:
            fill(out, inputs.cam1, (0, 0, width, height))
            iw, ih = (round(width * 0.3) // 2) * 2, (round(height * 0.3) // 2) * 2
            margin = round(width * 0.025)
            ix, iy = width - iw - margin, height - ih - margin
            out[iy - 2 : iy + ih + 2, ix - 2 : ix + iw + 2] = (255, 255, 255)
            fill(out, inputs.cam2, (ix, iy, iw, ih))
        case Layout.SIDE_BY_SIDE:
            half = width // 2
            fit(out, inputs.cam1, (0, 0, half, height))
            fit(out, inputs.cam2, (half, 0, width - half, height))
        case Layout.DISPLAY_CAMERA:
            left = (round(width * 0.75) // 2) * 2
            fit(out, inputs.display, (0, 0, left, height))
            fill(out, inputs.cam1, (left, 0, width - left, height))
    return out
