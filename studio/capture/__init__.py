"""Picture inputs: cameras and display captures read with OpenCV, and synthetic ones for tests and the demo."""

from studio.capture.sources import Frame, FrameSource, OpenCvSource, SourceStats, open_source
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
