"""The pusher declares itself to the hub (entry point ``pusher``, classroom_hub/packages.py)."""

from __future__ import annotations

from pathlib import Path

from classroom_hub.packages import Package, Section
from classroom_hub.pusher.settings import SECTION, Central, demo_central, summary

PACKAGE = Package(
    name="pusher",
    setup="classroom_hub.pusher.web:setup",
    settings=Section(SECTION, Central),
    cli="classroom_hub.pusher.cli:register",
    translations=Path(__file__).parent / "i18n",
    metrics="classroom_hub.pusher.web:metrics",
    summary=summary,
    demo_settings=demo_central,
)
