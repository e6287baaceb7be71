"""Battery history for the console's 24-hour chart, kept as ``battery`` device events.

A headset reports its battery every 10 s; storing each would be 350,000 rows a day for a
room. A sample is kept when the level moved by a point, charging started or stopped, or
ten minutes passed, which draws the same curve. The events travel to the central
database with the others (store stream ``device_events``).
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass

from classroom_hub.errors import StoreError
from classroom_hub.registry import DeviceRecord
from classroom_hub.store import TelemetryStore

MIN_STEP_PCT = 1.0
MAX_GAP_S = 600.0


@dataclass(frozen=True, slots=True)
class _Last:
    ts: float
    battery: float
    charging: bool | None


class BatterySampler:
    def __init__(self, store: TelemetryStore, min_step_pct: float = MIN_STEP_PCT, max_gap_s: float = MAX_GAP_S) -> None:
        self._store = store
        self._min_step = min_step_pct
        self._max_gap = max_gap_s
        self._last: dict[str, _Last] = {}
        self.samples = 0

    def on_update(self, record: DeviceRecord) -> None:
        """Registry update listener."""
        if record.battery is None or record.state == "offline":
            return
        now = time.time()
        last = self._last.get(record.id)
        if (
            last is not None
            and abs(record.battery - last.battery) < self._min_step
            and record.charging == last.charging
            and now - last.ts < self._max_gap
        ):
            return
        self._last[record.id] = _Last(now, record.battery, record.charging)
        data = json.dumps({"battery": round(record.battery, 1), "charging": record.charging})
        with contextlib.suppress(StoreError):  # the store says why in its own log; a sample is not worth more
            self._store.keep_device_events([(record.id, now, "battery", data)])
            self.samples += 1
