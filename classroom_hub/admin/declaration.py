"""The admin page declares itself to the hub (entry point ``admin``, classroom_hub/packages.py)."""

from __future__ import annotations

from pathlib import Path

from classroom_hub.packages import Package, Page

PACKAGE = Package(
    name="admin",
    setup="classroom_hub.admin.web:setup",
    # The roster it imports into is the lessons' (their part opens it first).
    after=("lessons",),
    cli="classroom_hub.admin.cli:register",
    pages=(Page("admin", ("admin",)),),
    translations=Path(__file__).parent / "i18n",
)
