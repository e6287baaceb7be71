"""From the bus into the hub: validate what devices publish, update the registry, store it.

The hot path is telemetry: one validation (pydantic, compiled once) and one registry touch
per message; the rows of every message read in one wake-up of the event loop go to the
store as one job, and their MQTT acknowledgements wait for that job's commit.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable

from pydantic import ValidationError

from classroom_hub.bus.link import Message, MqttLink
from classroom_hub.bus.payloads import EVENT, STATUS, TELEMETRY, Telemetry
from classroom_hub.bus.topics import DeviceTopic, parse_device_topic, room_filter
from classroom_hub.errors import StoreError
from classroom_hub.events import Listeners
from classroom_hub.problems import describe
from classroom_hub.registry import DeviceRegistry
from classroom_hub.rejects import Rejections
from classroom_hub.store import TelemetryStore
from config.settings import ID_PATTERN

log = logging.getLogger(__name__)
_DEVICE_ID = re.compile(ID_PATTERN)


class Ingest:
    def __init__(
        self,
        link: MqttLink,
        room: str,
        registry: DeviceRegistry,
        store: TelemetryStore,
        rejections: Rejections,
    ) -> None:
        self._link = link
        self._registry = registry
        self._store = store
        self._rejections = rejections
        self.accepted = 0
        self._topics: dict[str, DeviceTopic] = {}
        self._rows: list[tuple[str, str, float, float, str | None]] = []
        self._acks: list[Message] = []
        self._flush_scheduled = False
        self._listeners: Listeners[[str, Telemetry]] = Listeners("telemetry_listener_failed")
        self._unsubscribe = [
            link.subscribe(room_filter(room, "telemetry"), self._on_telemetry),
            link.subscribe(room_filter(room, "status"), self._on_status),
            link.subscribe(room_filter(room, "event"), self._on_event),
        ]

    def on_telemetry(self, listener: Callable[[str, Telemetry], None]) -> Callable[[], None]:
        """``listener(device_id, telemetry)`` for every valid telemetry message of a known device,
        so other parts (the lab's alarms and experiments) do not parse the same bytes again."""
        return self._listeners.add(listener)

    def close(self) -> None:
        self._flush()
        for unsubscribe in self._unsubscribe:
            unsubscribe()

    def _device(self, message: Message) -> DeviceTopic | None:
        topic = message.topic
        where = self._topics.get(topic)
        if where is not None:
            return where
        where = parse_device_topic(topic)
        if where is None:
            self._rejections.add(_shortened(topic), "bad_topic", "not classroom/{room}/devices/{id}/{channel}")
            return None
        if where.device_id not in self._registry:
            # Not in the room file: reported, never trusted (its data is not stored).
            if not _DEVICE_ID.match(where.device_id):
                self._rejections.add(_shortened(topic), "bad_topic", f"device id is not {ID_PATTERN}")
                return None
            self._registry.note_unknown(where.device_id, topic)
            self._rejections.add(topic, "unknown_device", where.device_id)
            return None
        # Only the room's own devices' topics: invented ids must not grow this.
        if len(self._topics) < 10_000:
            self._topics[topic] = where
        return where

    def _on_telemetry(self, message: Message) -> None:
        where = self._device(message)
        if where is None:
            return
        try:
            telemetry = TELEMETRY.validate_json(message.payload)
        except ValidationError as err:
            self._reject(message, "malformed_telemetry", err)
            return
        now = time.time()
        self._registry.seen(where.device_id, now)
        default_ts = telemetry.ts or now
        device_id = where.device_id
        self._listeners.emit(device_id, telemetry)  # a listener's bug does not cost a reading
        self._rows.extend([(device_id, r.key, r.ts or default_ts, r.value, r.unit) for r in telemetry.readings])
        message.defer_ack()
        self._acks.append(message)
        self.accepted += len(telemetry.readings)
        if not self._flush_scheduled:
            # After every message of this wake-up has been read: one store job for all of them.
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if not self._rows:
            return
        rows, acks = self._rows, self._acks
        self._rows, self._acks = [], []

        def durable() -> None:
            self._link.ack_all(acks)

        try:
            self._store.add_readings(rows, durable)
        except StoreError as err:
            # Not acknowledged: the broker keeps them and redelivers after the store recovers.
            self.accepted -= len(rows)
            self._rejections.add("telemetry", "store_unavailable", f"{len(rows)} readings: {err}")

    def _on_status(self, message: Message) -> None:
        if not message.payload:
            return  # a cleared retained status
        where = self._device(message)
        if where is None:
            return
        try:
            status = STATUS.validate_json(message.payload)
        except ValidationError as err:
            self._reject(message, "malformed_status", err)
            return
        self._registry.apply_status(where.device_id, status)

    def _on_event(self, message: Message) -> None:
        where = self._device(message)
        if where is None:
            return
        try:
            event = EVENT.validate_json(message.payload)
        except ValidationError as err:
            self._reject(message, "malformed_event", err)
            return
        now = time.time()
        self._registry.seen(where.device_id, now)
        row = (where.device_id, event.ts or now, event.type, json.dumps(event.data, ensure_ascii=False))
        try:
            self._store.add_device_events([row], message.defer_ack())
        except StoreError as err:
            self._rejections.add(message.topic, "store_unavailable", str(err))

    def _reject(self, message: Message, reason: str, err: ValidationError) -> None:
        self._rejections.add(message.topic, reason, describe(err, root="payload", limit=1))


def _shortened(topic: str) -> str:
    """A topic as the rejection list keeps it: MQTT allows 65,535 characters."""
    return topic if len(topic) <= 200 else topic[:200] + "…"
