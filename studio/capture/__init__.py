"""Picture inputs: cameras and display captures read with OpenCV, and synthetic ones for tests and the demo."""

from typing import Any

from studio.capture.sources import Frame, FrameSource, OpenCvSource, SourceStats
from studio.capture.synthetic import SyntheticCamera, SyntheticDisplay

__all__ = [
    "Frame",
    "FrameSource",
    "OpenCvSource",
    "SourceStats",
    "SyntheticCamera",
    "SyntheticDisplay",
    "open_source",
]


def open_source(name: str, source: str, **options: Any) -> FrameSource:
    """The FrameSource for a source string; synthetic sources need ``head`` (or none) in options."""
    size = options.get("size") or (1280, 720)
    fps = options.get("fps") or 30.0
    if source == "synthetic:display":
        return SyntheticDisplay(name, size=size, fps=fps)
    if source == "synthetic" or source.startswith("synthetic:"):
        return SyntheticCamera(name, size=size, fps=fps, head=options.get("head"))
    return OpenCvSource(name, source, size=options.get("size"), fps=options.get("fps"))
