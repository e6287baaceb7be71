"""The STEM labs declare themselves to the hub (entry point ``labs``, classroom_hub/packages.py)."""

from __future__ import annotations

from pathlib import Path

from classroom_hub.packages import Package, Page

PACKAGE = Package(
    name="labs",
    setup="stem_labs.web:setup",
    after=("kits",),  # the lab part comes after the serial kits' bridge
    cli="stem_labs.cli:register",
    metrics="stem_labs.metrics:collect",
    pages=(Page("lab", ("lab_lead",)),),
    translations=Path(__file__).parent / "i18n",
)
