"""Home Assistant discovery declares itself to the hub (entry point ``discovery``, classroom_hub/packages.py)."""

from __future__ import annotations

from pathlib import Path

from classroom_hub.packages import Package

PACKAGE = Package(
    name="discovery", setup="classroom_hub.discovery.part:setup", translations=Path(__file__).parent / "i18n"
)
