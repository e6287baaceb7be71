"""What the fleet reads from the hub's store: a device's history for the console's chart, and
how deep the store and its outboxes are (for /metrics).

The store (classroom_hub/store) writes telemetry in group commits on its own thread and
offers no query by device and time; these reads run on the store's second connection
(``store.db``, its own thread), which WAL lets read while the writer writes. The alarms
are the alarm service's (classroom_hub/alarms).
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any

from classroom_hub.store import TelemetryStore
from classroom_hub.store.schema import STREAMS


@dataclass(frozen=True)
class DeviceHistory:
    """What the console's chart draws: state changes and battery samples, oldest first."""

    device_id: str
    since: float
    until: float
    state_before: str | None  # the state at ``since`` (last change before the window)
    states: list[tuple[float, str]] = field(default_factory=list)
    battery: list[tuple[float, float, bool | None]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id,
            "since": self.since,
            "until": self.until,
            "state_before": self.state_before,
            "states": [list(s) for s in self.states],
            "battery": [list(b) for b in self.battery],
        }


@dataclass(frozen=True)
class StoreDepth:
    last_seq: dict[str, int]  # stream -> highest sequence number stored
    outbox: dict[tuple[str, str], int]  # (destination, stream) -> rows not yet confirmed


class Logbook:
    def __init__(self, store: TelemetryStore) -> None:
        self._store = store

    # --- history and depth -----------------------------------------------------------

    async def device_history(self, device_id: str, since: float, until: float | None = None) -> DeviceHistory:
        until = until or time.time()

        def query(c: sqlite3.Connection) -> DeviceHistory:
            before = c.execute(
                "SELECT data FROM device_events WHERE device_id = ? AND type = 'state' AND ts < ? "
                "ORDER BY ts DESC LIMIT 1",
                (device_id, since),
            ).fetchone()
            states = [(ts, _field(data, "to")) for ts, data in c.execute(
                "SELECT ts, data FROM device_events WHERE device_id = ? AND type = 'state' AND ts >= ? AND ts <= ? "
                "ORDER BY ts", (device_id, since, until))]  # fmt: skip
            battery = []
            for ts, data in c.execute(
                "SELECT ts, data FROM device_events WHERE device_id = ? AND type = 'battery' AND ts >= ? AND ts <= ? "
                "ORDER BY ts",
                (device_id, since, until),
            ):
                sample = json.loads(data)
                battery.append((ts, float(sample["battery"]), sample.get("charging")))
            return DeviceHistory(
                device_id, since, until, _field(before[0], "to") if before else None,
                [(ts, s) for ts, s in states if s is not None], battery,
            )  # fmt: skip

        return await self._store.db.run(query)

    async def store_depth(self) -> StoreDepth:
        """Cheap at any size: the highest sequence per stream, minus each destination's cursor."""

        def query(c: sqlite3.Connection) -> StoreDepth:
            last = {s: int(c.execute(f"SELECT coalesce(max(seq), 0) FROM {s}").fetchone()[0]) for s in STREAMS}
            outbox = {
                (dest, stream): max(0, last[stream] - int(seq))
                for dest, stream, seq in c.execute("SELECT destination, stream, last_seq FROM outbox_cursor")
                if stream in last
            }
            return StoreDepth(last, outbox)

        return await self._store.db.run(query)


def _field(data: str, key: str) -> str | None:
    try:
        value = json.loads(data).get(key)
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None
