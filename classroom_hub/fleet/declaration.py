"""The fleet declares itself to the hub (entry point ``fleet``, classroom_hub/packages.py)."""

from __future__ import annotations

from pathlib import Path

from classroom_hub.packages import Package, Page

PACKAGE = Package(
    name="fleet",
    setup="classroom_hub.fleet.web:setup",
    cli="classroom_hub.fleet.scenes.cli:register",
    pages=(Page("tech", ("technician",)),),
    translations=Path(__file__).parent / "i18n",
    metrics="classroom_hub.fleet.metrics:collect",
)
