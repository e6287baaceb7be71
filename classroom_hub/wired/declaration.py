"""The wired devices declare themselves to the hub (entry point ``wired``, classroom_hub/packages.py)."""

from __future__ import annotations

from pathlib import Path

from classroom_hub.packages import Package

PACKAGE = Package(
    name="wired",
    setup="classroom_hub.wired.part:setup",
    after=("fleet",),  # a wired device is the fleet's direct route: the fleet is set up first
    metrics="classroom_hub.wired.part:metrics",
    translations=Path(__file__).parent / "i18n",
)
