"""The lessons as a long-lived part of the hub.

``lessons_part`` (a ``cleanup_ctx``) opens the lesson library, the roster cache (with the
demo school's roster when the room belongs to the demo school), the PINs, the secret of the
lesson files' addresses and the paired displays; imports the sample lessons into an empty
library; and runs the :class:`~classroom_hub.lessons.classroom.Classroom`
and the headsets that follow its VR steps.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from classroom_hub.fleet.keys import FLEET
from classroom_hub.health import PartState, running
from classroom_hub.keys import ALARMS, CLOCK, HEALTH, REGISTRY, SETTINGS, STORE
from classroom_hub.lessons import LessonLibrary, sample_packages
from classroom_hub.lessons.classroom import Classroom
from classroom_hub.lessons.displays import DISPLAYS_FILE, DisplayPairings
from classroom_hub.lessons.errors import LessonError
from classroom_hub.lessons.file_keys import KEY_FILE, FileKeys
from classroom_hub.lessons.headsets import LessonHeadsets
from classroom_hub.lessons.keys import DISPLAYS, LESSONS
from classroom_hub.lessons.pins import PIN_FILE, PinBook
from classroom_hub.lessons.rosters import open_roster, roster_path
from classroom_hub.lessons.run_store import RUNS_FILE
from classroom_hub.lessons.sync import frame_of

log = logging.getLogger(__name__)


async def lessons_part(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    data = settings.data_dir
    loop = asyncio.get_running_loop()
    library = LessonLibrary(data / "lessons")
    await loop.run_in_executor(None, stock_library, library)
    roster = await loop.run_in_executor(None, open_roster, roster_path(data), settings.room.school_code)
    try:
        pins = await loop.run_in_executor(None, PinBook.load, data / PIN_FILE)
    except LessonError as err:
        log.error("event=pins_unreadable problems=%r", str(err))
        pins = PinBook(data / PIN_FILE)
    file_keys = await loop.run_in_executor(None, FileKeys.load, data / KEY_FILE)
    displays, damaged = await loop.run_in_executor(None, DisplayPairings.open_or_start_over, data / DISPLAYS_FILE,
                                                   app[CLOCK])  # fmt: skip
    if damaged is not None:
        log.error("event=displays_unreadable problems=%r action='set aside as %s.damaged: pair the displays again'",
                  str(damaged), DISPLAYS_FILE)  # fmt: skip
    classroom = Classroom(settings, app[STORE], library, roster, pins, file_keys, app[CLOCK])
    classroom.devices = app[REGISTRY]  # a tablet's agent tells its battery when the page cannot
    if ALARMS in app:
        alarms = app[ALARMS]

        def saving(error: str | None) -> None:  # on /tech while answers wait unacknowledged
            if error is None:
                alarms.clear(RUNS_FILE, "lesson_not_saved", source="lessons")
            else:
                alarms.raise_alarm(RUNS_FILE, "lesson_not_saved", error, source="lessons")

        classroom.runs.on_failing = saving

    def to_teachers(message: dict[str, Any]) -> None:
        classroom.links.broadcast(frame_of(message), classroom.links.teachers)

    # A vr_scene step launches its scene on the room's headsets, through the fleet when there is one.
    # Where they fetch a missing bundle: the configured address, or the hub's own (web/address.py).
    headsets = LessonHeadsets(app[REGISTRY], lambda: app.get(FLEET), to_teachers, settings.http.public_url)
    classroom.headsets = headsets
    headsets.start()
    await classroom.start()
    app[LESSONS] = classroom
    app[DISPLAYS] = displays
    health = app[HEALTH]

    def probe() -> PartState:
        failing = classroom.failing()  # answers wait unacknowledged while the disk fails: say why
        if failing is not None:
            health.reasons["lessons"] = failing
            return "down"
        health.reasons.pop("lessons", None)
        return running(*classroom.background(), headsets.task)

    health.parts["lessons"] = probe
    try:
        yield
    finally:
        await headsets.close()
        await classroom.close()
        roster.close()
        displays.close()


def stock_library(library: LessonLibrary) -> None:
    """Import the sample lessons into an empty library, so a new hub has lessons to teach."""
    if library.list():
        return
    for folder in sample_packages():
        record = library.import_package(folder)
        log.info("event=sample_lesson_imported lesson=%s hash=%s", record.id, record.hash[:12])
