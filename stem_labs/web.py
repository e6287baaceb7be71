"""The labs in the hub: the long-lived part, the /lab page, the live sockets and the data share.

``setup(app)`` is named by the labs' declaration (declaration.py); it adds the
lab part (after the bus and the firmware bridge), the HTTP API (stem_labs/api.py) and:

* ``/lab``: the lab lead's page (kits, live sensors, alarms, calibration, experiments, robots);
* ``/ws/lab``: a snapshot, then every change live (lab lead, teacher, technician);
* ``/api/lab/share`` and ``/ws/lab/share``: the run the teacher shares, read-only and open to
  the room's LAN like /join (tablets have no accounts): the "data share".
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web

from classroom_hub.alarms.hub import Fault
from classroom_hub.keys import ALARMS, COMMANDS, HEALTH, HUB_WATCH, INGEST, LINK, REGISTRY, SETTINGS, STORE
from classroom_hub.web.access import ANYONE, allow
from classroom_hub.web.routes import Push, live_socket, require
from stem_labs import api
from stem_labs.keys import LAB
from stem_labs.lab import Lab
from stem_labs.labbook import LabBook

log = logging.getLogger(__name__)

WATCHERS = ("lab_lead", "teacher", "technician")
OUTBOX = 2000


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(lab_part)
    app.router.add_get("/ws/lab", lab_ws)
    app.router.add_get("/api/lab/share", shared_run)
    app.router.add_get("/ws/lab/share", share_ws)
    api.add_routes(app)


async def lab_part(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    book = LabBook(settings.data_dir / "labs" / "labs.db")
    await book.open()
    lab = Lab(settings, app[REGISTRY], app[COMMANDS], app[LINK], app[STORE], book, ingest=app[INGEST],
              alarms=app[ALARMS])  # fmt: skip
    await lab.start()
    app[LAB] = lab
    app[HEALTH].parts["labs"] = lambda: "up"

    def book_check() -> list[Fault]:
        book.retry_kept()  # writes that failed (disk full, locked): again, in order
        if not book.last_write_failed and not book.kept:
            return []
        detail = f"{book.path.name} cannot be written: {book.last_error}; {book.kept} lab book writes wait in memory"
        if book.kept_dropped:
            detail += f"; dropped (more than {book.keep_max} waited): {book.kept_dropped}"
        return [Fault("labs", "store_failing", detail)]

    remove_check = app[HUB_WATCH].add("labs", book_check)
    try:
        yield
    finally:
        remove_check()
        await lab.close()
        await book.close()


Accept = Callable[[dict[str, Any]], dict[str, Any] | None]


def _lab_feed(lab: Lab, accept: Accept) -> Callable[[Push], Callable[[], None]]:
    """The lab's messages that ``accept(message)`` lets through (it returns what to send, or None)."""

    def subscribe(push: Push) -> Callable[[], None]:
        def forward(message: dict[str, Any]) -> None:
            chosen = accept(message)
            if chosen is not None:
                push(chosen)

        return lab.subscribe(forward)

    return subscribe


@allow(*WATCHERS)
async def lab_ws(request: web.Request) -> web.WebSocketResponse:
    await require(request, *WATCHERS)
    lab = request.config_dict[LAB]
    return await live_socket(request, lambda: {"type": "snapshot", **lab.snapshot()}, lab.subscribe, limit=OUTBOX)


def _share_view(lab: Lab) -> dict[str, Any]:
    """What the tablets see: the run's data, not who runs it or where its records go."""
    run = lab.experiments.shared_run()
    if run is None:
        return {"type": "share", "run": None}
    view = run.as_dict(samples=True)
    for private in ("created_by", "statement_id", "summary"):
        view.pop(private, None)
    view["annotations"] = [{k: v for k, v in a.items() if k != "author"} for a in view["annotations"]]
    return {"type": "share", "run": view}


@allow(ANYONE)
async def shared_run(request: web.Request) -> web.Response:
    return web.json_response(_share_view(request.config_dict[LAB]))


@allow(ANYONE)
async def share_ws(request: web.Request) -> web.WebSocketResponse:
    """Read-only: whatever the tablet sends is ignored; only the shared run's messages go out."""
    lab = request.config_dict[LAB]

    def accept(message: dict[str, Any]) -> dict[str, Any] | None:
        if message["type"] == "run":
            # A run shared or unshared: the tablet re-reads the whole shared view.
            return _share_view(lab) if message["shared"] or message["run"]["id"] == current.get("id") else None
        if message["type"] in ("sample", "annotation") and message["shared"]:
            return message
        return None

    first = _share_view(lab)
    current: dict[str, Any] = first["run"] or {}

    def track(message: dict[str, Any]) -> dict[str, Any] | None:
        out = accept(message)
        if out is not None and out["type"] == "share":
            current.clear()
            current.update(out["run"] or {})
        return out

    return await live_socket(request, lambda: first, _lab_feed(lab, track), limit=OUTBOX)
