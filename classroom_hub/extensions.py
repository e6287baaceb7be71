"""The packages that plug into the hub, named in one place.

Each module has ``setup(app)``, which adds its long-lived parts (``cleanup_ctx``), routes and
health probes. The core names them here and nowhere else, so which packages a hub runs
is one list. A package that cannot be imported (a missing optional dependency, e.g. OpenCV
on a hub without a studio) is reported and its health part is ``down``; the rest of the
hub runs.
"""

from __future__ import annotations

import importlib
import logging

from aiohttp import web

from classroom_hub.keys import HEALTH

log = logging.getLogger(__name__)

# Order matters: a package may use what an earlier one put on the app (the studio uses
# the wired displays of the drivers part, set up by tech_routes).
EXTENSIONS: tuple[str, ...] = (
    "classroom_hub.pusher.web",  # delivery to the central database, /api/push
    "classroom_hub.web.lesson_routes",  # lessons: /teacher /join /display
    "classroom_hub.web.tech_routes",  # fleet, wired drivers, discovery, /tech, /metrics
    "studio.web",  # the lecture studio: /studio
    "firmware_bridge.part",  # kits on USB serial, on the bus
    "stem_labs.web",  # labs: /lab, the Vinaponics kit, experiments, robots
)


def setup_extensions(app: web.Application, names: tuple[str, ...] = EXTENSIONS) -> None:
    for name in names:
        try:
            module = importlib.import_module(name)
        except ImportError as err:
            log.error("event=extension_unavailable module=%s error=%r", name, str(err))
            app[HEALTH].parts[name] = lambda: "down"
            continue
        module.setup(app)
