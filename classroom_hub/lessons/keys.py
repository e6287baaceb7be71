"""The lessons' shared objects (imports nothing of the hub at run time)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from classroom_hub.lessons.classroom import Classroom
    from classroom_hub.lessons.displays import DisplayPairings
    from classroom_hub.lessons.gradebook import Gradebook

LESSONS: web.AppKey[Classroom] = web.AppKey("lessons")
DISPLAYS: web.AppKey[DisplayPairings] = web.AppKey("displays")
GRADEBOOK: web.AppKey[Gradebook] = web.AppKey("gradebook")  # every lesson's marks, from the stored statements
