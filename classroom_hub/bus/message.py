"""What the MQTT link hands to handlers and takes as options: a received message, a last will, counts.

Below the link (classroom_hub/bus/link.py) and importing nothing of the hub at run time, so
the wire-level code that handles messages (drivers, simulators) can import it alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from classroom_hub.bus.link import MqttLink


class Message:
    """One received message. A handler that cannot finish its work now (the store commits
    in batches) calls ``defer_ack()`` and calls the returned function once the message is
    safe; otherwise the link acknowledges it as soon as the handlers return."""

    __slots__ = ("_deferred", "_generation", "_link", "_mid", "payload", "qos", "retain", "topic")

    def __init__(
        self, topic: str, payload: bytes, qos: int = 0, retain: bool = False, link: MqttLink | None = None, mid: int = 0
    ) -> None:
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self._link = link
        self._mid = mid
        self._generation = link._generation if link is not None else 0
        self._deferred = False

    def defer_ack(self) -> Callable[[], None]:
        self._deferred = True
        return self.ack

    def ack(self) -> None:
        if self._link is not None and self.qos > 0:
            self._link._ack(self._mid, self.qos, self._generation)


Handler = Callable[[Message], None]


@dataclass(frozen=True, slots=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


@dataclass
class LinkStats:
    received: int = 0
    published: int = 0
    connects: int = 0
    handler_errors: int = 0
    last_error: str | None = None
    by_topic_kind: dict[str, int] = field(default_factory=dict)
