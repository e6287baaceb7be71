"""What every way of reaching a camera shares: one exchange at a time, ACK then completion, timeouts.

A VISCA command is answered by an ACK naming the socket it runs in (``y0 4z FF``) and later by the
completion of that socket (``y0 5z FF``), or by an error (``y0 6z ee FF``) instead of either. An inquiry
gets no ACK: its answer is a completion on socket 0 carrying data. Replies that belong to an earlier,
abandoned exchange (a late completion on another socket) are skipped rather than mistaken for ours.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from device_drivers.camera.errors import PtzLinkError, PtzRejected, PtzSequenceError, PtzTimeout
from device_drivers.camera.visca import Ack, Completion, ErrorCode, ErrorReply, Reply
from device_drivers.camera.visca_ip import ControlAcknowledged, ControlError, ControlRefused

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Timeouts:
    """Seconds to wait; a real head answers within 4 video frames, but a preset move can take seconds."""

    ack: float = 1.0  # ACK or error for a command, or the answer to an inquiry
    completion: float = 15.0  # completion after the ACK

    def __post_init__(self) -> None:
        if self.ack <= 0 or self.completion <= 0:
            raise ValueError(f"timeouts must be positive, got ack={self.ack} completion={self.completion}")


@dataclass(frozen=True)
class LinkTrouble:
    """The port or socket reported a failure while an exchange was waiting."""

    error: BaseException | None


InboxItem = Reply | ControlAcknowledged | ControlRefused | LinkTrouble


class ReplyInbox:
    """Replies from the camera in arrival order, filled by the transport's callbacks."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[InboxItem] = asyncio.Queue()

    def put(self, item: InboxItem) -> None:
        self._queue.put_nowait(item)

    def clear(self) -> None:
        while not self._queue.empty():
            stale = self._queue.get_nowait()
            _LOG.debug("dropping stale reply %r", stale)

    async def next(self, seconds: float) -> InboxItem | None:
        try:
            async with asyncio.timeout(seconds):
                return await self._queue.get()
        except TimeoutError:
            return None


def _refuses(error: ErrorReply) -> bool:
    """Whether an error can stand in for the ACK: "cancelled" and "no socket" only follow a cancel."""
    return error.code not in (ErrorCode.CANCELLED, ErrorCode.NO_SOCKET)


async def await_answer(
    inbox: ReplyInbox,
    *,
    name: str,
    inquiry: bool,
    timeouts: Timeouts,
    resend: Callable[[], None] | None = None,
    matched_by_sequence: bool = False,
) -> Completion | None:
    """The final answer to the message just sent.

    ``resend`` (VISCA over IP) repeats the same datagram, same sequence number, once after a timeout
    waiting for the ACK (or an inquiry's answer); never after the ACK, so one deadline holds.
    ``matched_by_sequence`` means the inbox only holds replies to this message, so a completion whose
    ACK was lost is still ours. Returns None only when the camera said, after a resend, that it had
    already handled this sequence number: the command was performed but its answer was lost.
    """
    socket: int | None = None
    resent = False
    while True:
        limit = timeouts.completion if socket is not None else timeouts.ack
        item = await inbox.next(limit)
        if item is None:
            # Only a message or an ACK lost on the way is worth a resend; a camera that ACKed and
            # then never completed has the command already: asking again would wait a second
            # ``completion`` for nothing (and say it waited one).
            if resend is not None and not resent and socket is None:
                _LOG.info("%s: no answer within %g s, sending it again with the same number", name, limit)
                resend()
                resent = True
                continue
            waiting_for = "answer" if inquiry else ("completion" if socket is not None else "acknowledgement")
            raise PtzTimeout(name, waiting_for, limit)
        match item:
            case LinkTrouble(error=error):
                raise PtzLinkError(f"{name}: link to the camera failed: {error}") from error
            case ControlRefused(error=ControlError.SEQUENCE) if resent:
                return None
            case ControlRefused(error=ControlError.SEQUENCE):
                raise PtzSequenceError(f"{name}: camera refused the message: {item.meaning}")
            case ControlRefused():
                raise PtzLinkError(f"{name}: camera refused the message: {item.meaning}")
            case ErrorReply() if inquiry or item.socket == socket or (socket is None and _refuses(item)):
                raise PtzRejected(name, item.code, item.meaning, item.socket)
            case Ack() if not inquiry and socket is None:
                socket = item.socket
            case Completion() if inquiry and item.socket == 0:
                return item
            case Completion() if not inquiry and (item.socket == socket or matched_by_sequence):
                return item
            case _:
                _LOG.debug("%s: skipping reply %r that is not ours", name, item)


class ViscaLink(ABC):
    """One way to reach one camera: RS-232 or VISCA over IP. One exchange at a time."""

    def __init__(self, timeouts: Timeouts) -> None:
        self.timeouts = timeouts
        self._inbox = ReplyInbox()
        self._turn = asyncio.Lock()

    @abstractmethod
    async def open(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def _exchange(self, packet: bytes, *, name: str, inquiry: bool) -> Completion | None: ...

    async def command(self, packet: bytes, *, name: str) -> None:
        """Send a command and return once the camera reports it complete."""
        async with self._turn:
            await self._exchange(packet, name=name, inquiry=False)

    async def inquire(self, packet: bytes, *, name: str) -> Completion:
        """Send an inquiry and return the camera's answer."""
        async with self._turn:
            answer = await self._exchange(packet, name=name, inquiry=True)
        if answer is None:
            raise PtzTimeout(name, "answer", self.timeouts.ack)
        return answer
