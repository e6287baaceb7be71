"""The lessons declare themselves to the hub (entry point ``lessons``, classroom_hub/packages.py)."""

from __future__ import annotations

from pathlib import Path

from classroom_hub.lessons.settings import SECTION, Lessons
from classroom_hub.packages import Package, Page, Section
from classroom_hub.web.access import ANYONE

PACKAGE = Package(
    name="lessons",
    setup="classroom_hub.lessons.web:setup",
    settings=Section(SECTION, Lessons),
    cli="classroom_hub.lessons.cli:register",
    # Tablets and the big screen have no accounts: /join and /display are open to the room's LAN.
    # /gradebook: a class's marks across lessons, and each lesson's printable results (docs/results.md).
    pages=(Page("teacher", ("teacher",)), Page("join", (ANYONE,)), Page("display", (ANYONE,)),
           Page("gradebook", ("teacher",))),
    translations=Path(__file__).parent / "i18n",
    demo_links="classroom_hub.lessons.web_displays:demo_links",
    metrics="classroom_hub.lessons.metrics:collect",
)
