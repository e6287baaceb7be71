"""The roster as lessons use it: where the hub keeps it, and which classes this room teaches."""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path
from typing import Any

from classroom_hub.roster import RosterCache, import_oneroster
from classroom_hub.roster.location import ROSTER_FILE, roster_path

log = logging.getLogger(__name__)

__all__ = ["DEMO_SCHOOL_CODE", "ROSTER_FILE", "open_roster", "room_classes", "roster_path"]

DEMO_SCHOOL_CODE = "THCS-DEMO"


def open_roster(path: Path, school_code: str) -> RosterCache:
    """The hub's roster cache; a demo-school room gets the demo roster when the cache is empty."""
    cache = RosterCache(path)
    if school_code == DEMO_SCHOOL_CODE and not cache.classes():
        bundle = Path(str(resources.files("classroom_hub.roster") / "samples" / "demo-school"))
        report = import_oneroster(bundle)
        cache.replace(report.roster)
        log.info("event=demo_roster_imported classes=%d problems=%d", len(report.roster.classes), len(report.problems))
    return cache


def room_classes(roster: RosterCache, school_code: str, room_id: str) -> list[dict[str, Any]]:
    """The classes of the school with ``school_code`` (all classes if none matches), this room's first."""
    everything = roster.roster()
    schools = {sid for sid, school in everything.schools.items() if (school.code or "") == school_code}
    classes = [c for c in everything.classes.values() if c.status != "tobedeleted"]
    if schools:
        classes = [c for c in classes if c.school_sourced_id in schools]
    counts = {c.sourced_id: len(roster.students(c.sourced_id)) for c in classes}
    classes.sort(key=lambda c: (c.location != room_id, c.title))
    return [
        {"id": c.sourced_id, "title": c.title, "grade": c.grade, "location": c.location,
         "students": counts[c.sourced_id]}
        for c in classes
    ]
