"""``GET /metrics``: the hub in the Prometheus text exposition format (version 0.0.4).

Hand-written rather than a client library: a scrape reads counters the parts keep anyway
(bus, registry, rejections, store; then each package's own figures, from the ``metrics``
of its declaration: fleet, wired drivers, pusher...), so there is nothing to register and
no dependency to carry. Format: https://prometheus.io/docs/instrumenting/exposition_formats/
Open without login, like /healthz: it holds counts and device ids, never content.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Literal, Protocol

from aiohttp import ChainMapProxy, web

from classroom_hub import __version__
from classroom_hub.alarms.hub import HUB_ALARM_KINDS, SOURCE, disk_free_bytes
from classroom_hub.errors import SWALLOWED
from classroom_hub.keys import (
    ALARMS,
    COMMANDS,
    HEALTH,
    HUB_WATCH,
    LINK,
    PACKAGES,
    REGISTRY,
    REJECTIONS,
    SETTINGS,
    STORE,
)
from classroom_hub.packages import resolve
from classroom_hub.web.access import ANYONE, allow

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
NS = "classroom_hub"
MetricType = Literal["gauge", "counter", "histogram"]
Labels = Mapping[str, str]
Config = web.Application | ChainMapProxy


class Histogram(Protocol):
    """Cumulative buckets per label value (the fleet's command latency)."""

    buckets: tuple[float, ...]
    counts: dict[str, list[int]]
    sums: dict[str, float]
    totals: dict[str, int]


# A package's figures: added to the exposition from what the package keeps on the app.
Collector = Callable[[Config, "Exposition"], Awaitable[None]]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    return repr(int(value)) if float(value).is_integer() and abs(value) < 2**53 else repr(float(value))


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


class Exposition:
    """Collects metric families and renders them, each with its HELP and TYPE lines."""

    def __init__(self) -> None:
        self._lines: list[str] = []

    def add(self, name: str, kind: MetricType, help_text: str, samples: Iterable[tuple[Labels, float]]) -> None:
        full = f"{NS}_{name}"
        self._lines.append(f"# HELP {full} {help_text}")
        self._lines.append(f"# TYPE {full} {kind}")
        for labels, value in samples:
            self._lines.append(f"{full}{_labels(labels)} {_number(value)}")

    def one(self, name: str, kind: MetricType, help_text: str, value: float) -> None:
        self.add(name, kind, help_text, [({}, value)])

    def histogram(self, name: str, help_text: str, histogram: Histogram, label: str) -> None:
        full = f"{NS}_{name}"
        self._lines.append(f"# HELP {full} {help_text}")
        self._lines.append(f"# TYPE {full} histogram")
        for key in sorted(histogram.totals):
            counts = histogram.counts[key]
            for bound, count in zip(histogram.buckets, counts, strict=True):
                self._lines.append(f"{full}_bucket{_labels({label: key, 'le': _number(bound)})} {count}")
            total = histogram.totals[key]
            self._lines.append(f"{full}_bucket{_labels({label: key, 'le': '+Inf'})} {total}")
            self._lines.append(f"{full}_sum{_labels({label: key})} {_number(histogram.sums[key])}")
            self._lines.append(f"{full}_count{_labels({label: key})} {total}")

    def text(self, text: str) -> None:
        """Families already in the exposition format (the pusher's)."""
        self._lines.extend(line for line in text.splitlines() if line)

    def render(self) -> str:
        return "\n".join(self._lines) + "\n"


async def collect(app: Config) -> Exposition:
    out = Exposition()
    settings = app[SETTINGS]
    room = {"school": settings.room.school_code, "room": settings.room.id}
    out.add("info", "gauge", "The hub's version and room.", [({**room, "version": __version__}, 1)])
    health = app[HEALTH]
    out.one("uptime_seconds", "gauge", "Seconds since the hub started.", time.time() - health.started_at)
    _, parts = health.report()
    out.add("part_up", "gauge", "1 when the part is up.", [({"part": p}, s == "up") for p, s in sorted(parts.items())])
    out.add("swallowed_errors_total", "counter", "Exceptions the hub absorbed (logged with a traceback), by event.",
            [({"event": e}, n) for e, n in sorted(SWALLOWED.items())])  # fmt: skip

    registry = app[REGISTRY]
    counts = sorted(registry.counts().items())
    out.add("devices", "gauge", "Configured devices by kind and state.",
            [({"kind": k, "state": s}, n) for k, per in counts for s, n in per.items()])
    devices = sorted(registry.all(), key=lambda d: d.id)
    out.add("device_online", "gauge", "1 when the device is online.",
            [({"device": d.id, "kind": d.kind}, d.state == "online") for d in devices])
    out.add("device_battery_percent", "gauge", "Last reported battery level.",
            [({"device": d.id, "kind": d.kind}, d.battery) for d in devices if d.battery is not None])
    temperatures = [({"device": d.id, "kind": d.kind}, d.temperature) for d in devices if d.temperature is not None]
    out.add("device_temperature_celsius", "gauge", "Last reported device temperature.", temperatures)
    out.one("unknown_devices", "gauge", "Devices not in the room file that published anyway (the most recent ones).",
            len(registry.unknown))  # fmt: skip
    out.one("unknown_devices_forgotten_total", "counter", "Unknown devices pushed out of that bounded list.",
            registry.unknown_forgotten)  # fmt: skip

    if LINK in app:
        link = app[LINK]
        out.one("mqtt_connected", "gauge", "1 when the hub's MQTT link is up.", link.is_up)
        out.one("mqtt_messages_received_total", "counter", "MQTT messages received.", link.stats.received)
        out.one("mqtt_messages_published_total", "counter", "MQTT messages published.", link.stats.published)
        out.one("mqtt_connects_total", "counter", "Successful MQTT connections.", link.stats.connects)
        out.one("mqtt_handler_errors_total", "counter", "Messages whose handler failed.", link.stats.handler_errors)
    rejections = app[REJECTIONS]
    out.add("rejected_total", "counter", "Input rejected, by reason (malformed payload, unknown device...).",
            [({"reason": r}, n) for r, n in sorted(rejections.by_reason.items())])
    if COMMANDS in app:
        out.one("commands_in_flight", "gauge", "MQTT commands waiting for a reply.", app[COMMANDS].in_flight)

    if STORE in app:
        store = app[STORE]
        out.one("store_up", "gauge", "1 when the store commits.", store.state == "up")
        out.one("store_commits_total", "counter", "Store group commits.", store.stats.commits)
        out.one("store_duplicates_ignored_total", "counter", "Readings already stored (redeliveries).",
                store.stats.duplicates_ignored)
        out.one("store_held", "gauge", "Device events the hub wrote itself, waiting for the store to heal.",
                store.held)
        out.one("store_held_dropped_total", "counter",
                "Device events the hub wrote itself, dropped while the store failed (more than store.held_max).",
                store.stats.held_dropped)
        if ALARMS in app:
            out.one("alarms_unsaved", "gauge", "Alarms whose last change waits for the store to heal.",
                    app[ALARMS].unsaved)  # fmt: skip
            out.one("alarms_unsaved_dropped_total", "counter",
                    "Alarm changes dropped while the store failed (more than 10,000 alarms waited).",
                    app[ALARMS].unsaved_dropped)  # fmt: skip
        out.one("store_last_commit_seconds", "gauge", "Duration of the last commit.", store.stats.last_commit_ms / 1000)
    free = disk_free_bytes(settings.data_dir)
    if free is not None:
        out.one("disk_free_bytes", "gauge", "Free space on the disk of the hub's data directory.", free)
    if HUB_WATCH in app:
        alarms = app[HUB_WATCH].alarms
        active = alarms.active(source=SOURCE)
        out.add("hub_alarm_active", "gauge", "1 for each active alarm of the hub itself, by part and kind.",
                [({"part": a.device_id, "kind": a.kind, "severity": a.severity}, 1) for a in active])
        out.add("hub_alarms_raised_total", "counter", "Alarms of the hub itself raised since start, by kind.",
                [({"kind": k}, alarms.raised[(SOURCE, k)]) for k in HUB_ALARM_KINDS])


    return out


@allow(ANYONE)
async def metrics(request: web.Request) -> web.Response:
    exposition = await collect(request.config_dict)
    for package in request.config_dict[PACKAGES]:
        if package.metrics is not None:
            collector: Collector = resolve(package.metrics)
            await collector(request.config_dict, exposition)
    return web.Response(body=exposition.render().encode(), headers={"Content-Type": CONTENT_TYPE})
