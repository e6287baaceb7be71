"""The open connections of a lesson and the fan-out to them.

Fan-out is the hot path: a step change goes to every tablet at once. The message is
serialised once and framed once - a server's WebSocket frames are not masked (RFC 6455,
section 5.1), so the header and payload are the same bytes for every tablet - and those
bytes are written to each connection's transport directly. Writing never waits: a
tablet whose socket buffer is already full (it stopped reading: asleep, out of range) is
cut off instead of holding up the class, and catches up with a delta when it reconnects.
The sockets are opened without compression, so aiohttp writes every frame in one
synchronous call and our writes can never interleave with its own.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from classroom_hub.lessons.protocol import Role, encode
from classroom_hub.lessons.seats import Seat

log = logging.getLogger(__name__)

# A tablet more than this far behind in reading is not coming back soon: drop it.
STALLED_BYTES = 1 << 20


def text_frame(payload: bytes) -> bytes:
    """A final, unmasked text frame carrying ``payload`` (RFC 6455 section 5.2)."""
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x81, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + payload


def frame_of(message: dict[str, Any]) -> bytes:
    return text_frame(encode(message))


@dataclass(eq=False)
class Link:
    """One open WebSocket: a tablet, a teacher's page or a display."""

    role: Role
    ws: web.WebSocketResponse
    transport: asyncio.Transport | None
    peer: str
    user: str | None = None  # the teacher's account
    display: str | None = None  # a paired display's id (lessons/displays.py)
    seat: Seat | None = None  # a tablet's seat once it said hello
    last_heard: float = field(default_factory=time.monotonic)
    dropped: bool = False

    def send_frame(self, frame: bytes) -> bool:
        transport = self.transport
        if self.dropped or self.ws.closed or transport is None or transport.is_closing():
            return False
        if transport.get_write_buffer_size() > STALLED_BYTES:
            log.info("event=tablet_stalled role=%s peer=%s", self.role, self.peer)
            self.drop()
            return False
        transport.write(frame)
        return True

    def send(self, message: dict[str, Any]) -> bool:
        return self.send_frame(frame_of(message))

    def drop(self) -> None:
        """Cut the connection now, without a closing handshake (it is dead or stuck)."""
        self.dropped = True
        if self.transport is not None:
            self.transport.abort()


class Links:
    """Every open lesson connection, by role."""

    def __init__(self) -> None:
        self.tablets: set[Link] = set()
        self.teachers: set[Link] = set()
        self.displays: set[Link] = set()

    def add(self, link: Link) -> None:
        self._set(link.role).add(link)

    def discard(self, link: Link) -> None:
        self._set(link.role).discard(link)

    def _set(self, role: Role) -> set[Link]:
        return {"student": self.tablets, "teacher": self.teachers, "display": self.displays}[role]

    def all(self) -> Iterable[Link]:
        yield from self.tablets
        yield from self.teachers
        yield from self.displays

    def screens(self) -> Iterable[Link]:
        yield from self.teachers
        yield from self.displays

    def broadcast(self, frame: bytes, links: Iterable[Link]) -> int:
        """Write the same frame to each link; returns how many took it."""
        sent = 0
        for link in links:
            if link.send_frame(frame):
                sent += 1
        return sent

    def seated(self) -> Iterable[Link]:
        return (link for link in self.tablets if link.seat is not None)

    def of_seat(self, seat: Seat) -> list[Link]:
        return [link for link in self.tablets if link.seat is seat]

    def silent_since(self, cutoff: float) -> list[Link]:
        return [link for link in self.all() if link.last_heard < cutoff and not link.dropped]
