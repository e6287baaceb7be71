"""The program: which layout is on air, and the picture composed from the newest input frames.

``compose()`` runs in the recorder's or the preview's worker thread, never on the event loop;
switching the layout is one attribute write, seen by the next composed frame.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from classroom_hub.events import Listeners
from studio.capture.sources import FrameSource, Image
from studio.program.layouts import Inputs, Layout, compose


@dataclass(frozen=True)
class LayoutSwitch:
    at: float  # time.monotonic()
    layout: Layout


class Program:
    def __init__(
        self,
        size: tuple[int, int],
        *,
        cam1: FrameSource | None = None,
        cam2: FrameSource | None = None,
        display: FrameSource | None = None,
        layout: Layout = Layout.CAM1,
    ) -> None:
        self.size = size
        self.cam1, self.cam2, self.display = cam1, cam2, display
        self._layout = layout
        self._lock = threading.Lock()
        self._listeners: Listeners[[LayoutSwitch]] = Listeners("layout_listener_failed")
        self.latest: Image | None = None
        self.latest_at = 0.0

    @property
    def sources(self) -> list[FrameSource]:
        return [s for s in (self.cam1, self.cam2, self.display) if s is not None]

    @property
    def layout(self) -> Layout:
        return self._layout

    def set_layout(self, layout: Layout) -> None:
        with self._lock:
            if layout == self._layout:
                return
            self._layout = layout
            switch = LayoutSwitch(time.monotonic(), layout)
        self._listeners.emit(switch)

    def on_switch(self, listener: Callable[[LayoutSwitch], None]) -> Callable[[], None]:
        return self._listeners.add(listener)

    def compose(self) -> Image:
        def image(source: FrameSource | None) -> Image | None:
            frame = source.latest() if source is not None else None
            return frame.image if frame is not None else None

        picture = compose(self._layout, Inputs(image(self.cam1), image(self.cam2), image(self.display)), self.size)
        self.latest, self.latest_at = picture, time.monotonic()
        return picture
