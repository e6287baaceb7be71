"""Each tablet in the teacher's grid: what it reports of itself and how its link is.

A tablet's page sends ``status`` when it connects and whenever its page is shown or hidden
(the Page Visibility API: hidden is another tab, the screen off, or the browser in the
background) or its battery changes (the Battery API, which browsers give only to pages served
over https or from localhost). Where the page has no battery, the tablet's agent has: a page
opened as ``/join?device=T07`` names its device, and the hub reads the battery from that
device's MQTT status (docs/devices.md). It sends ``shown`` once what the teacher sent is on
its screen. The hub keeps the last report on the student's seat.

A student can make their page report anything (it is their tablet): these figures help the
teacher look, they prove nothing. A claimed device that is not a tablet of this room is ignored.

The teacher's row gets, besides the class list's fields (report.py): ``visible``, ``battery``,
``charging``, ``battery_from`` (``tablet`` or ``agent``), ``device``, ``missed`` (heartbeats
sent since the last one the tablet answered, the one on its way not counted) and ``shown``.
"""

from __future__ import annotations

from typing import Any, Protocol

from classroom_hub.lessons.protocol import Shown, Status
from classroom_hub.lessons.seats import Seat

# Missed heartbeats that make a link fair, then poor (the hub cuts it after dead_after_s).
FAIR_MISSED = 1
POOR_MISSED = 2
_ORDER = ("good", "fair", "poor", "offline")


class DeviceRecord(Protocol):
    kind: str
    battery: float | None
    charging: bool | None


class Devices(Protocol):
    """The room's devices as the hub's registry knows them (classroom_hub/registry.py)."""

    def get(self, device_id: str) -> DeviceRecord | None: ...


def report(seat: Seat, message: Status | Shown, sent: dict[str, Any] | None) -> bool:
    """Keep what the tablet says; returns whether the teacher's row changes."""
    if isinstance(message, Shown):
        if sent is None or message.n > sent["n"] or message.n <= seat.shown:
            return False  # not sent yet, or already known
        seat.shown = message.n
        return True
    before = (seat.visible, seat.battery, seat.charging, seat.device)
    seat.visible = message.visible
    seat.battery = None if message.battery is None else round(message.battery, 1)
    seat.charging = message.charging
    seat.device = message.device
    return before != (seat.visible, seat.battery, seat.charging, seat.device)


def heard(seat: Seat, beat: int | None) -> None:
    """The tablet answered heartbeat ``beat``."""
    if beat is not None and beat > seat.beat_heard:
        seat.beat_heard = beat


def fields(seat: Seat, row: dict[str, Any], beat: int, devices: Devices | None) -> dict[str, Any]:
    """The grid's fields of one student, added to (and refining) the class list's ``row``."""
    battery, charging, source = seat.battery, seat.charging, "tablet" if seat.battery is not None else None
    device = None
    if seat.device is not None and devices is not None:
        record = devices.get(seat.device)
        if record is not None and record.kind == "tablet":
            device = seat.device
            if battery is None and record.battery is not None:
                battery, charging, source = record.battery, record.charging, "agent"
    missed = max(0, beat - seat.beat_heard - 1) if seat.online else 0
    quality = row["quality"]
    if missed >= POOR_MISSED:
        quality = _worse(quality, "poor")
    elif missed >= FAIR_MISSED:
        quality = _worse(quality, "fair")
    return {
        "visible": seat.visible,
        "battery": battery,
        "charging": charging,
        "battery_from": source,
        "device": device,
        "missed": missed,
        "quality": quality,
        "shown": seat.shown,
    }


def _worse(a: str, b: str) -> str:
    return a if _ORDER.index(a) >= _ORDER.index(b) else b
