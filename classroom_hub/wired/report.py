"""The state of a device the hub talks to itself, told the same way everywhere.

A display on RS-232/TCP or a PTZ camera has no agent of its own: only the hub knows whether it
answers. So the hub is the one owner of its state, and one :class:`DeviceReport` per device
tells that state to the registry (and through it the technician page and the alarms), to the
device's retained ``status`` on the bus (what Home Assistant's availability reads) and to the
log, all at once and from the same facts:

- ``unknown`` until the hub first tried to reach it;
- ``online`` when it answers, even with a refusal (a NAK is an answer), with what it reported;
- ``offline`` when it does not (no connection, no answer), with that reason.

Changes are told when they happen, every time: an outage is one transition to ``offline``
whatever its error text, and the next answer is its recovery. The registry ignores statuses of
such a device read off the bus (``DeviceRegistry.drive``): the hub's own retained status coming
back would otherwise race the hub's newer verdict.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import ValidationError

from classroom_hub.bus.link import MqttLink
from classroom_hub.bus.payloads import DeviceStatus
from classroom_hub.bus.topics import device_topic
from classroom_hub.errors import BusError
from classroom_hub.problems import describe
from classroom_hub.registry import DeviceRegistry
from classroom_hub.rejects import Rejections

log = logging.getLogger(__name__)

State = Literal["unknown", "online", "offline"]
HUB_STOPPED = "hub stopped"


class DeviceReport:
    """What the hub knows of one device it drives; every change goes to the registry and the bus."""

    def __init__(
        self,
        device_id: str,
        kind: str,
        *,
        registry: DeviceRegistry,
        link: MqttLink | None,
        room: str,
        rejections: Rejections | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.device_id = device_id
        self.kind = kind
        self._registry = registry
        self._link = link
        self._topic = device_topic(room, device_id, "status")
        self._rejections = rejections
        self._clock = clock
        self.state: State = "unknown"
        self.fields: dict[str, Any] = {}  # what the device last reported (power, input, ...)
        self.error: str | None = None  # the reason it is offline, or its last problem while online
        self.outages = 0
        self.recoveries = 0
        self._offline_since: float | None = None
        if device_id in registry:
            registry.drive(device_id)

    # --- what happened -----------------------------------------------------------------

    def answered(self, fields: Mapping[str, Any] | None = None, *, replace: bool = False,
                 error: str | None = None) -> None:  # fmt: skip
        """The device answered: online. ``fields`` (merged, or the whole picture with ``replace``)
        is what it said; ``error`` a problem it still has (it refused the last command)."""
        merged = dict(fields or {}) if replace else {**self.fields, **(fields or {})}
        if self.state == "online" and merged == self.fields and error == self.error:
            if self.device_id in self._registry:
                self._registry.seen(self.device_id)  # nothing new: only that it is alive
            return
        if self.state == "offline":
            self.recoveries += 1
            down_s = self._clock() - (self._offline_since or self._clock())
            log.info("event=device_recovered device=%s kind=%s after_s=%.1f", self.device_id, self.kind, down_s)
        self.state, self.fields, self.error, self._offline_since = "online", merged, error, None
        self._tell()

    def unreachable(self, reason: str) -> None:
        """No connection or no answer: offline with ``reason``. One outage, however often it is said."""
        if self.state == "offline":
            if self.device_id in self._registry:
                self._registry.seen(self.device_id)  # still asked, still away: the state stands
            return
        self.outages += 1
        log.warning("event=device_unreachable device=%s kind=%s outage=%d reason=%r",
                    self.device_id, self.kind, self.outages, reason)  # fmt: skip
        self.state, self.error, self._offline_since = "offline", reason[:500], self._clock()
        self._tell()

    def trouble(self, error: str) -> None:
        """A problem that says nothing about whether the device is there (a garbled reply)."""
        if error[:500] == self.error or self.state == "offline":
            return
        self.error = error[:500]
        if self.state == "online":
            self._tell()
        elif self.device_id in self._registry:
            self._registry.note_error(self.device_id, self.error)

    def stopped(self) -> None:
        """The hub stops: nobody asks the device any more, so its retained status says so."""
        if self._link is not None and self._link.is_up:
            status = DeviceStatus(state="offline", ts=self._clock(), kind=self.kind, error=HUB_STOPPED)
            self._publish(status)

    # --- telling it --------------------------------------------------------------------

    def status(self) -> DeviceStatus:
        fields = self.fields if self.state == "online" else {}
        state = "online" if self.state == "online" else "offline"
        base = {"state": state, "ts": self._clock(), "kind": self.kind, "error": self.error}
        try:
            return DeviceStatus.model_validate({**fields, **base})
        except ValidationError as err:
            if self._rejections is not None:
                problem = describe(err, root="status", limit=1)
                self._rejections.add(f"{self.device_id} (status)", "bad_device_status", problem)
            return DeviceStatus.model_validate(base)

    def _tell(self) -> None:
        status = self.status()
        if self.device_id in self._registry:
            self._registry.apply_status(self.device_id, status, from_hub=True)
        self._publish(status)

    def _publish(self, status: DeviceStatus) -> None:
        if self._link is None:
            return
        try:
            self._link.publish(self._topic, status.model_dump_json(exclude_none=True), qos=1, retain=True)
        except BusError as err:
            log.warning("event=device_status_not_published device=%s error=%r", self.device_id, str(err))
