"""The hub as one aiohttp application: parts start in order and stop in reverse.

Each long-lived part is a ``cleanup_ctx`` generator: the core's (store, accounts, broker,
bus, registry and ingest) first, then each declared package's, in the packages' order
(classroom_hub/packages.py; the core names none of them). Shared objects live under typed
``web.AppKey``s (classroom_hub/keys.py and each package's keys.py) so every page, API and
package reaches them the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Literal

from aiohttp import web

from classroom_hub import __version__
from classroom_hub.alarms import AlarmService
from classroom_hub.alarms.hub import Fault, HubWatch, disk_check, disk_free_bytes
from classroom_hub.auth import Accounts
from classroom_hub.bus.broker import EmbeddedBroker
from classroom_hub.bus.commands import Commands
from classroom_hub.bus.link import MqttLink, Will
from classroom_hub.bus.payloads import HubStatus
from classroom_hub.bus.topics import hub_status_topic
from classroom_hub.clock import SYSTEM, Clock
from classroom_hub.errors import BusError, report_crash
from classroom_hub.health import Health, PartState, running
from classroom_hub.ingest import Ingest
from classroom_hub.keys import (
    ACCOUNTS,
    ALARMS,
    BROKER_URL,
    CLOCK,
    COMMANDS,
    HEALTH,
    HUB_WATCH,
    INGEST,
    LINK,
    LINK_TASK,
    PACKAGES,
    REGISTRY,
    REJECTIONS,
    SETTINGS,
    STORE,
)
from classroom_hub.packages import Package, declared_packages, resolve, unavailable_packages
from classroom_hub.registry import DeviceChange, DeviceRecord, DeviceRegistry
from classroom_hub.rejects import Rejections
from classroom_hub.store import TelemetryStore
from classroom_hub.web.access import JSON_BODY
from classroom_hub.web.routes import page, setup_routes
from classroom_hub.web.security import setup_security
from config.settings import HubSettings

log = logging.getLogger(__name__)

STORE_STALL_S = 5.0  # a group commit takes milliseconds; one this long is stuck

# The keys used to live here; they are in classroom_hub/keys.py (importable from anywhere
# without a cycle). Named again for code written against the old place.
__all__ = [
    "ACCOUNTS", "ALARMS", "BROKER_URL", "CLOCK", "COMMANDS", "HEALTH", "INGEST", "LINK", "LINK_TASK", "REGISTRY",
    "REJECTIONS", "SETTINGS", "STORE", "Health", "PartState", "build_app", "running",
]  # fmt: skip


def build_app(settings: HubSettings, clock: Clock = SYSTEM) -> web.Application:
    # Bodies are small unless a route declares more (classroom_hub/web/access.py): a request
    # over its route's limit is refused before it is read.
    app = web.Application(client_max_size=JSON_BODY)
    setup_security(app)
    app[SETTINGS] = settings
    app[CLOCK] = clock
    app[HEALTH] = Health()
    app[REJECTIONS] = Rejections()
    app[REGISTRY] = _registry_from(settings, clock)
    app.cleanup_ctx.extend(
        [_store_part, _alarms_part, _accounts_part, _broker_part, _bus_part, _registry_part, _watch_part]
    )
    setup_routes(app)
    app[PACKAGES] = setup_packages(app, settings)
    # The link connects once every part is in place (on_startup hooks run after the cleanup
    # contexts): the broker delivers what it queued while the hub was away right after the
    # CONNACK, and the lab, the fleet... must see those messages too.
    app.on_startup.append(_connect_bus)
    return app


def setup_packages(app: web.Application, settings: HubSettings) -> list[Package]:
    """Every declared package's ``setup(app)`` and pages, in their order. A package that cannot
    be imported (a missing optional dependency) is reported: a log line, and its part ``down``
    on /healthz with the reason, unless this room does not need it; the rest of the hub runs."""
    for name, reason in unavailable_packages().items():
        app[HEALTH].down(name, reason)
    done: list[Package] = []
    for package in declared_packages().values():
        try:
            setup: Callable[[web.Application], None] = resolve(package.setup)
        except ImportError as err:
            reason = f"cannot be imported: {err}"
            if package.is_needed(settings):
                log.error("event=package_unavailable package=%s error=%r", package.name, reason)
                app[HEALTH].down(package.name, reason)
            else:
                log.info("event=package_not_loaded package=%s reason=%r needed=no", package.name, reason)
            continue
        setup(app)
        for shown in package.pages:
            app.router.add_get(f"/{shown.name}", page(shown.name, shown.roles))
        done.append(package)
    return done


def _registry_from(settings: HubSettings, clock: Clock) -> DeviceRegistry:
    registry = DeviceRegistry(clock=clock)
    for device_id, device in settings.device_list():
        registry.add(
            DeviceRecord(
                id=device_id,
                kind=device.kind,
                name=device.name,
                group=device.group,
                transport=device.transport.type,
                timeout_s=device.heartbeat_timeout_s,
            )
        )
    return registry


async def _store_part(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    store = TelemetryStore(
        settings.data_dir / "telemetry.db",
        synchronous=settings.store.synchronous,
        batch_max=settings.store.batch_max,
        held_max=settings.store.held_max,
    )
    app[HEALTH].parts["store"] = lambda: "up" if store.state == "up" and store.stalled_s() < STORE_STALL_S else "down"
    await store.open()
    app[STORE] = store
    yield
    await store.close()
    log.info("event=store_closed readings=%d statements=%d", store.stats.readings, store.stats.statements)


async def _alarms_part(app: web.Application) -> AsyncIterator[None]:
    """Every alarm of the room, in the store's file (classroom_hub/alarms)."""
    alarms = AlarmService(app[STORE].db, clock=app[CLOCK])
    await alarms.open()
    app[ALARMS] = alarms
    app[HUB_WATCH] = HubWatch(alarms, interval_s=app[SETTINGS].store.watch_interval_s)
    app[HEALTH].parts["alarms"] = lambda: "up" if alarms.healthy else "down"
    yield
    await alarms.close()


async def _watch_part(app: web.Application) -> AsyncIterator[None]:
    """The hub's own faults as alarms (classroom_hub/alarms/hub.py): the core's checks here,
    packages add theirs in their setup; the first round runs once every part is in place."""
    settings, store, link = app[SETTINGS], app[STORE], app[LINK]
    watch = app[HUB_WATCH]
    health = app[HEALTH]
    free_min = settings.store.disk_free_min_mb

    alarms = app[ALARMS]

    def store_check() -> list[Fault]:
        if alarms.unsaved and store.state == "up":
            alarms.save_unsaved()  # alarm changes whose write failed: the store writes again
        waited = store.stalled_s()
        if waited >= STORE_STALL_S:
            return [Fault("store", "store_failing", f"{store.path.name}: a commit has waited {waited:.0f} s "
                          "(locked by another program, or the disk is failing)")]  # fmt: skip
        if store.state != "failing":
            return []
        detail = f"{store.path.name} cannot be written: {store.stats.last_error}"
        ingest = app.get(INGEST)
        if ingest is not None and ingest.waiting_for_redelivery:
            detail += " (the broker keeps the readings; tried again shortly)"
        else:
            store.probe()  # nothing else may write soon: find out when it can again
        if store.held:
            detail += f"; {store.held} device events the hub wrote itself wait in memory"
        if store.stats.held_dropped_now:
            detail += (f"; device events dropped (more than {store.held_max} waited): "
                       f"{store.stats.held_dropped_now}, the device history misses them")  # fmt: skip
        if alarms.unsaved_dropped:
            detail += f"; alarm changes dropped (more than {alarms.unsaved_max} waited): {alarms.unsaved_dropped}"
        return [Fault("store", "store_failing", detail)]

    broker_down_since: list[float] = []

    def broker_check() -> list[Fault]:
        # A reconnect takes a moment (resume_delivery, a broker restart): alarm after 2 rounds.
        if link.is_up or link.state == "stopped":
            broker_down_since.clear()
            return []
        if not broker_down_since:
            broker_down_since.append(time.monotonic())
        if time.monotonic() - broker_down_since[0] < 2 * watch.interval_s:
            return []
        reason = link.stats.last_error or link.state
        return [Fault("broker", "broker_lost", f"no MQTT connection to {link.url}: {reason}")]

    removers = [
        watch.add("store", store_check),
        watch.add("disk", disk_check(settings.data_dir, free_min)),
        watch.add("broker", broker_check),
    ]

    def disk_state() -> PartState:
        free = disk_free_bytes(settings.data_dir)
        return "up" if free is not None and free >= free_min * 1e6 else "down"

    health.parts["disk"] = disk_state
    health.figures["disk_free_mb"] = lambda: _round_mb(disk_free_bytes(settings.data_dir))
    health.alarms = watch.active
    task = asyncio.create_task(watch.run(), name="hub-watch")
    task.add_done_callback(report_crash("hub_watch_failed"))
    health.parts["watch"] = lambda: running(task)
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    for remove in removers:
        remove()


def _round_mb(free: int | None) -> float | None:
    return None if free is None else round(free / 1e6, 1)


async def _accounts_part(app: web.Application) -> AsyncIterator[None]:
    loop = asyncio.get_running_loop()
    accounts = await loop.run_in_executor(None, Accounts, app[SETTINGS].data_dir / "accounts.db", app[CLOCK])
    app[ACCOUNTS] = accounts
    yield
    accounts.close()


async def _broker_part(app: web.Application) -> AsyncIterator[None]:
    mqtt = app[SETTINGS].mqtt
    if mqtt.url is not None:
        app[BROKER_URL] = mqtt.url
        yield
        return
    broker = EmbeddedBroker("127.0.0.1", mqtt.embedded_port)
    await broker.start()
    app[BROKER_URL] = broker.url
    app[HEALTH].parts["broker"] = broker.state
    yield
    await broker.stop()


async def _bus_part(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    mqtt, room = settings.mqtt, settings.room
    status_topic = hub_status_topic(room.id)
    link: MqttLink

    def announce() -> None:
        # Retained, so a tablet or technician tool that connects later still sees the hub.
        link.publish(status_topic, _hub_status("online"), qos=1, retain=True)

    link = MqttLink(
        app[BROKER_URL],
        client_id=mqtt.client_id or f"hub-{room.school_code}-{room.id}",
        username=mqtt.username,
        password=mqtt.password.get_secret_value() if mqtt.password else None,
        ca_file=str(mqtt.ca_file) if mqtt.ca_file else None,
        cert_file=str(mqtt.cert_file) if mqtt.cert_file else None,
        key_file=str(mqtt.key_file) if mqtt.key_file else None,
        keepalive_s=mqtt.keepalive_s,
        will=Will(status_topic, _hub_status("offline").encode()),
        on_connect=announce,
        reconnect_min_s=mqtt.reconnect_min_s,
        reconnect_max_s=mqtt.reconnect_max_s,
    )
    app[LINK] = link
    app[HEALTH].parts["bus"] = lambda: "up" if link.is_up else "down"
    app[COMMANDS] = Commands(link, room.id, app[REJECTIONS])
    app[INGEST] = Ingest(link, room.id, app[REGISTRY], app[STORE], app[REJECTIONS])
    yield
    # Everything received is committed (and so acknowledged) before we say goodbye.
    await app[STORE].flush()
    await asyncio.sleep(0)  # let the commit callbacks send their acks
    if link.is_up:
        link.publish(status_topic, _hub_status("offline"), qos=1, retain=True)
    await link.close()
    # Only now drop the handlers: with the link closed this does not unsubscribe on the
    # broker, so the persistent session keeps queueing for us while the hub is away.
    app[INGEST].close()
    app[COMMANDS].close()
    task = app.get(LINK_TASK)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _connect_bus(app: web.Application) -> None:
    app[LINK_TASK] = asyncio.create_task(app[LINK].run(), name="mqtt-link")
    # The hub teaches without a broker; wait a moment so the first page view is complete,
    # then carry on and let the link reconnect in the background (it logs each attempt).
    try:
        await app[LINK].wait_up(timeout=5)
    except BusError as err:
        log.warning("event=hub_started_without_broker error=%r", str(err))


async def _registry_part(app: web.Application) -> AsyncIterator[None]:
    registry, store = app[REGISTRY], app[STORE]

    def record_change(change: DeviceChange) -> None:
        # State history feeds the console's 24-hour chart and the central database. If the store
        # refuses it (closing), the registry's listeners log and count it (device_listener_failed).
        data = json.dumps({"from": change.old_state, "to": change.new_state, "reason": change.reason})
        store.keep_device_events([(change.device_id, change.ts, "state", data)])

    remove = registry.on_change(record_change)
    task = asyncio.create_task(registry.watch_timeouts(), name="device-timeouts")
    task.add_done_callback(report_crash("device_timeouts_failed"))
    app[HEALTH].parts["registry"] = lambda: running(task)  # offline devices are found by this task
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)  # a crash was reported when it happened
    remove()


def _hub_status(state: Literal["online", "offline"]) -> str:
    return HubStatus(state=state, ts=time.time(), version=__version__).model_dump_json()
