"""Commands to devices with replies: an awaitable per command, keyed by correlation id."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from classroom_hub.bus.link import Message, MqttLink
from classroom_hub.bus.payloads import REPLY, Command, Reply
from classroom_hub.bus.topics import device_topic, parse_device_topic, room_filter
from classroom_hub.errors import CommandFailed, CommandTimeout
from classroom_hub.problems import describe
from classroom_hub.rejects import Rejections


@dataclass(frozen=True, slots=True)
class _Pending:
    device_id: str
    future: asyncio.Future[Reply]


class Commands:
    """Send ``cmd`` to a device and await its ``reply``.

    The command carries its own expiry, so a device that comes back after the hub gave
    up drops it instead of acting late; the hub raises CommandTimeout at the same moment.
    """

    def __init__(self, link: MqttLink, room: str, rejections: Rejections) -> None:
        self._link = link
        self._room = room
        self._rejections = rejections
        self._pending: dict[str, _Pending] = {}
        # Devices the hub answers for itself (a display it drives, a kit it bridges): their replies
        # to commands from Node-RED or Home Assistant are the hub's own, not strays.
        self.answered_by_hub: set[str] = set()
        self.latencies_ms: list[float] = []
        self._unsubscribe = link.subscribe(room_filter(room, "reply"), self._on_reply)

    async def send(
        self, device_id: str, name: str, args: dict[str, Any] | None = None, *, timeout: float = 5.0
    ) -> Reply:
        command = Command(name=name, args=args or {}, expires_at=time.time() + timeout)
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._pending[command.id] = _Pending(device_id, future)
        started = time.perf_counter()
        try:
            self._link.publish(device_topic(self._room, device_id, "cmd"), command.model_dump_json(), qos=1)
            async with asyncio.timeout(timeout):
                reply = await future
        except TimeoutError as err:
            raise CommandTimeout(f"{device_id}: no reply to {name} within {timeout:g} s") from err
        finally:
            del self._pending[command.id]
        self.latencies_ms.append((time.perf_counter() - started) * 1000)
        if len(self.latencies_ms) > 1000:
            del self.latencies_ms[:500]
        if not reply.ok:
            raise CommandFailed(device_id, name, reply.error or "unspecified error")
        return reply

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    def close(self) -> None:
        self._unsubscribe()
        for pending in self._pending.values():
            pending.future.cancel()

    def _on_reply(self, message: Message) -> None:
        where = parse_device_topic(message.topic)
        try:
            reply = REPLY.validate_json(message.payload)
        except ValidationError as err:
            self._rejections.add(message.topic, "malformed_reply", describe(err, root="payload", limit=1))
            return
        pending = self._pending.get(reply.id)
        if pending is None and where is not None and where.device_id in self.answered_by_hub:
            return  # the hub's own answer to someone else's command
        if pending is None:
            # Late (after the timeout) or not ours: normal after a hub restart, worth a count.
            self._rejections.add(message.topic, "unexpected_reply", f"no command {reply.id} in flight")
            return
        if where is None or where.device_id != pending.device_id:
            self._rejections.add(message.topic, "reply_from_wrong_device", f"command went to {pending.device_id}")
            return
        if not pending.future.done():
            pending.future.set_result(reply)
