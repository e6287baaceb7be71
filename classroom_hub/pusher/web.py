"""The pusher inside the hub: its cleanup_ctx part and the JSON API of the technician console.

``setup(app)`` is named by the pusher's declaration (declaration.py). API (technician role):

- ``GET  /api/push``              the report: destinations, store budget, roster, materials
- ``POST /api/push/now``          wake every courier (and the roster pull) now
- ``GET  /api/push/quarantine``   quarantined records (``?destination=NAME&limit=100``)
- ``POST /api/push/materials``    fetch new lesson packages from the materials bank now
- ``GET  /api/push/metrics``      the same figures in the Prometheus text format
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict

from aiohttp import web

from classroom_hub.alarms import Severity
from classroom_hub.alarms.hub import Fault
from classroom_hub.keys import HEALTH, HUB_WATCH, SETTINGS, STORE
from classroom_hub.metrics import Config, Exposition
from classroom_hub.pusher.keys import PUSHER
from classroom_hub.pusher.metrics import prometheus_text
from classroom_hub.pusher.pusher import Pusher
from classroom_hub.web.access import allow
from classroom_hub.web.routes import require
from classroom_hub.web.security import problem

log = logging.getLogger(__name__)

PREFIX = "/api/push"


def setup(app: web.Application) -> None:
    # The part lives on the hub's application (its key is read by /metrics and the studio); the
    # API is a sub-application under its own prefix, reading shared objects through config_dict.
    app.cleanup_ctx.append(_pusher_part)
    api = web.Application()
    api.router.add_get("", push_status)
    api.router.add_post("/now", push_now)
    api.router.add_get("/quarantine", push_quarantine)
    api.router.add_post("/materials", push_materials)
    api.router.add_get("/metrics", push_metrics)
    app.add_subapp(PREFIX, api)


async def _pusher_part(app: web.Application) -> AsyncIterator[None]:
    pusher = Pusher(app[SETTINGS], app[STORE])
    app[PUSHER] = pusher
    # Over the disk budget the hub still teaches, but /healthz says so (and the console alarms).
    app[HEALTH].parts["pusher"] = lambda: "down" if pusher.budget.state.level == "over" else "up"
    app[HEALTH].figures["backlog_age_s"] = _backlog_age(pusher)
    remove = app[HUB_WATCH].add("pusher", lambda: _faults(pusher))
    await pusher.start()
    yield
    remove()
    await pusher.close()


def _faults(pusher: Pusher) -> list[Fault]:
    """A destination the couriers cannot reach (the central database, an LRS), a failing roster
    pull or materials sync (the centre away, bad rows, a refused package) and a store over its
    budget, as the hub's alarms; each clears when its part succeeds again."""
    faults = []
    for name, courier in pusher.couriers.items():
        if courier.state == "waiting":
            where = courier.destination.describe()
            faults.append(Fault(name, "push_failing", f"{where}: {courier.last_error}", "warning"))
    for name, reason in pusher.unavailable.items():
        faults.append(Fault(name, "push_failing", reason, "warning"))
    roster = pusher.roster
    if roster is not None and roster.last_error is not None:  # cleared by the next good pull
        faults.append(Fault("roster", "roster_pull_failing", roster.last_error, "warning"))
    if pusher.materials_error is not None:  # the bank away or answering nonsense; cleared by the next sync
        faults.append(Fault("materials", "materials_sync_failing", pusher.materials_error, "warning"))
    elif pusher.materials_report is not None and pusher.materials_report.failed:  # packages refused or not fetched
        failed = pusher.materials_report.failed
        detail = f"{len(failed)} package(s) not installed: " + "; ".join(sorted(failed.values()))
        faults.append(Fault("materials", "materials_sync_failing", detail[:1000], "warning"))
    budget = pusher.budget.state
    # The store's own size; a disk filling up for any reason is the hub's disk_low alarm.
    if budget.percent >= pusher.central.disk_alarm_percent:
        severity: Severity = "alarm" if budget.percent >= 100 else "warning"
        faults.append(Fault("store", "store_budget", budget.message(), severity))
    return faults


def _backlog_age(pusher: Pusher, every_s: float = 5.0) -> Callable[[], Awaitable[float | None]]:
    """Seconds since the oldest record no destination has confirmed yet was stored (None: none
    waiting), for /healthz; measured at most every ``every_s`` (the page is open to anyone)."""
    measured_at = [-every_s]
    value: list[float | None] = [None]

    async def age() -> float | None:
        if time.monotonic() - measured_at[0] >= every_s:
            measured_at[0] = time.monotonic()
            report = await pusher.report()
            ages = [d.oldest_undelivered_s for d in report.destinations if d.oldest_undelivered_s is not None]
            value[0] = round(max(ages), 1) if ages else None
        return value[0]

    return age


async def _require_technician(request: web.Request) -> None:
    await require(request, "technician")


@allow("technician")
async def push_status(request: web.Request) -> web.Response:
    await _require_technician(request)
    report = await request.config_dict[PUSHER].report()
    return web.json_response(report.as_json())


@allow("technician")
async def push_now(request: web.Request) -> web.Response:
    await _require_technician(request)
    pusher = request.config_dict[PUSHER]
    pusher.wake()
    return web.json_response({"woken": sorted(pusher.couriers)}, status=202)


@allow("technician")
async def push_quarantine(request: web.Request) -> web.Response:
    await _require_technician(request)
    destination = request.query.get("destination") or None
    try:
        limit = max(1, min(1000, int(request.query.get("limit", "100"))))
    except ValueError:
        raise problem(400, "malformed_request", "limit must be a number") from None
    items = await request.config_dict[PUSHER].ledger.quarantined(destination, limit)
    return web.json_response({"quarantined": [asdict(item) for item in items]})


@allow("technician")
async def push_materials(request: web.Request) -> web.Response:
    await _require_technician(request)
    report = await request.config_dict[PUSHER].sync_materials()  # a MaterialsError is a 502 (web/security.py)
    return web.json_response(asdict(report))


async def metrics(app: Config, out: Exposition) -> None:
    """The pusher's figures (queue depth, oldest undelivered, quarantined) per destination, for ``/metrics``."""
    pusher = app.get(PUSHER)
    if pusher is not None:
        out.text(prometheus_text(await pusher.report()))


@allow("technician")
async def push_metrics(request: web.Request) -> web.Response:
    await _require_technician(request)
    report = await request.config_dict[PUSHER].report()
    return web.Response(text=prometheus_text(report), content_type="text/plain")
