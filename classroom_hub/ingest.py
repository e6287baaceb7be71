"""From the bus into the hub: validate what devices publish, update the registry, store it.

The hot path is telemetry: one validation (pydantic, compiled once) and one registry touch
per message; the rows of every message read in one wake-up of the event loop go to the
store as one job, and their MQTT acknowledgements wait for that job's commit.

When a commit fails (a full disk, a locked file) nothing of it is acknowledged, and the
broker holds those messages in its in-flight window, which stops new ones too. The broker
sends them again only on a new connection, so after a pause (growing while the store keeps
failing, at most ``RETRY_MAX_S``) the ingest asks the link to reconnect: every failed commit
is retried from the broker's copy until one succeeds, with no restart and nothing lost.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable

from pydantic import ValidationError

from classroom_hub.backoff import Backoff
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
RETRY_MIN_S = 1.0
RETRY_MAX_S = 5.0  # a store that is back is used again within this


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
        self._retry = Backoff(RETRY_MIN_S, RETRY_MAX_S)
        self._redelivery: asyncio.TimerHandle | None = None
        self.failed_commits = 0
        self.last_failure: str | None = None
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

    @property
    def waiting_for_redelivery(self) -> bool:
        """Messages whose commit failed wait on the broker for the next reconnect."""
        return self._redelivery is not None

    def close(self) -> None:
        self._flush()
        if self._redelivery is not None:
            self._redelivery.cancel()
            self._redelivery = None
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
            self._retry.reset()

        def failed(err: StoreError) -> None:
            self.accepted -= len(rows)
            self._store_failed(f"{len(rows)} readings: {err}")

        try:
            self._store.add_readings(rows, durable, failed)
        except StoreError as err:
            failed(err)

    def _store_failed(self, detail: str) -> None:
        """Not acknowledged: the broker keeps the messages; ask for them again after a pause."""
        self.failed_commits += 1
        self.last_failure = detail
        self._rejections.add("telemetry", "store_unavailable", detail)
        if self._redelivery is None:
            first = self._retry.attempt == 0
            delay = self._retry.next()
            log.log(logging.WARNING if first else logging.DEBUG,
                    "event=ingest_commit_failed detail=%r redeliver_in_s=%.1f", detail, delay)  # fmt: skip
            self._redelivery = asyncio.get_running_loop().call_later(delay, self._redeliver)

    def _redeliver(self) -> None:
        self._redelivery = None
        if not self._link.resume_delivery():
            # The link is down: its own reconnect brings the messages again.
            log.info("event=ingest_redelivery_by_reconnect")

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
        def failed(err: StoreError) -> None:
            self._store_failed(f"event of {where.device_id}: {err}")

        try:
            self._store.add_device_events([row], message.defer_ack(), failed)
        except StoreError as err:
            failed(err)

    def _reject(self, message: Message, reason: str, err: ValidationError) -> None:
        self._rejections.add(message.topic, reason, describe(err, root="payload", limit=1))


def _shortened(topic: str) -> str:
    """A topic as the rejection list keeps it: MQTT allows 65,535 characters."""
    return topic if len(topic) <= 200 else topic[:200] + "…"
