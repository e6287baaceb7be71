"""VISCA over IP on UDP: each message carries a sequence number and replies echo it.

Delivery is not guaranteed, so (Sony BRC-X400 Command List, "Delivery confirmation") after a timeout
the same message is sent once more with the same sequence number. If the camera answers that second
copy with "abnormality in the sequence number", it had already handled the first: a command was
performed (only its reply was lost); an inquiry is asked again under a new number to get its answer.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import Any

from device_drivers.camera.errors import PtzLinkError, PtzSequenceError, PtzTimeout, ViscaFormatError
from device_drivers.camera.link import LinkTrouble, ReplyInbox, Timeouts, ViscaLink, await_answer
from device_drivers.camera.visca import Completion, PacketSplitter, parse_reply
from device_drivers.camera.visca_ip import (
    PORT,
    ControlAcknowledged,
    IpMessage,
    PayloadType,
    decode_message,
    parse_control_reply,
    reset_message,
    sequence_after,
)

_LOG = logging.getLogger(__name__)


class _DatagramReplies(asyncio.DatagramProtocol):
    """Keeps the replies that carry the sequence number being waited for."""

    def __init__(self, peer: str, inbox: ReplyInbox) -> None:
        self._peer = peer
        self._inbox = inbox
        self.waiting_for: int | None = None  # None while resetting: the reset reply's number is not defined
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        try:
            message = decode_message(data)
            if self.waiting_for is not None and message.sequence != self.waiting_for:
                _LOG.debug("%s: skipping reply to sequence %d", self._peer, message.sequence)
                return
            if message.payload_type is PayloadType.CONTROL_REPLY:
                self._inbox.put(parse_control_reply(message.payload))
            elif message.payload_type is PayloadType.VISCA_REPLY:
                # One packet per datagram in practice; split anyway so a packed pair is not lost.
                for packet in PacketSplitter().feed(message.payload):
                    self._inbox.put(parse_reply(packet))
            else:
                kind = message.payload_type.name
                _LOG.warning("%s: ignoring a %s message sent to the controller", self._peer, kind)
        except ViscaFormatError as err:
            _LOG.warning("%s: ignoring %s", self._peer, err)

    def error_received(self, exc: Exception) -> None:
        # An ICMP "port unreachable" lands here: nothing listens at the camera's address.
        self._inbox.put(LinkTrouble(exc))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


class UdpLink(ViscaLink):
    def __init__(self, host: str, port: int = PORT, *, timeouts: Timeouts | None = None) -> None:
        super().__init__(timeouts or Timeouts())
        self.host = host
        self.port = port
        self._peer = f"{host}:{port}"
        self._transport: asyncio.DatagramTransport | None = None
        self._replies: _DatagramReplies | None = None
        self._sequence = 0

    async def open(self) -> None:
        """Open the socket and reset the camera's sequence number, so numbering starts again at 1."""
        if self._transport is not None:
            raise PtzLinkError(f"{self._peer}: already open")
        loop = asyncio.get_running_loop()
        replies = _DatagramReplies(self._peer, self._inbox)
        try:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: replies, remote_addr=(self.host, self.port)
            )
        except OSError as err:
            raise PtzLinkError(f"cannot open a UDP socket to {self._peer}: {err}") from err
        self._transport, self._replies = transport, replies
        try:
            async with self._turn:
                await self._reset_sequence()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        transport, replies = self._transport, self._replies
        self._transport = self._replies = None
        if transport is None or replies is None:
            return
        transport.close()
        await replies.closed

    async def reset_sequence(self) -> None:
        async with self._turn:
            await self._reset_sequence()

    @property
    def sequence(self) -> int:
        """The sequence number of the last message sent."""
        return self._sequence

    async def _reset_sequence(self) -> None:
        replies = self._require_open("sequence reset")
        replies.waiting_for = None
        self._inbox.clear()
        datagram = reset_message(0).encode()
        for attempt in range(2):
            self._send(datagram)
            while (item := await self._inbox.next(self.timeouts.ack)) is not None:
                if isinstance(item, ControlAcknowledged):
                    self._sequence = 0
                    return
                if isinstance(item, LinkTrouble):
                    raise PtzLinkError(f"sequence reset: {self._peer} failed: {item.error}") from item.error
                _LOG.debug("sequence reset: skipping %r", item)
            _LOG.info("sequence reset: no control reply from %s (attempt %d)", self._peer, attempt + 1)
        raise PtzTimeout("sequence reset", "control reply", self.timeouts.ack)

    async def _exchange(self, packet: bytes, *, name: str, inquiry: bool) -> Completion | None:
        try:
            answer = await self._numbered_exchange(packet, name=name, inquiry=inquiry)
        except PtzSequenceError:
            # Another controller (or a camera reboot) moved the camera's count: start again, once.
            _LOG.info("%s: camera refused sequence %d, resetting the numbering", name, self._sequence)
            await self._reset_sequence()
            answer = await self._numbered_exchange(packet, name=name, inquiry=inquiry)
        if answer is None and inquiry:
            _LOG.info("%s: answer lost, asking again under a new sequence number", name)
            answer = await self._numbered_exchange(packet, name=name, inquiry=inquiry)
        return answer

    async def _numbered_exchange(self, packet: bytes, *, name: str, inquiry: bool) -> Completion | None:
        replies = self._require_open(name)
        self._sequence = sequence_after(self._sequence)
        kind = PayloadType.VISCA_INQUIRY if inquiry else PayloadType.VISCA_COMMAND
        datagram = IpMessage(kind, self._sequence, packet).encode()
        self._inbox.clear()
        replies.waiting_for = self._sequence
        self._send(datagram)
        return await await_answer(
            self._inbox,
            name=name,
            inquiry=inquiry,
            timeouts=self.timeouts,
            resend=partial(self._send, datagram),
            matched_by_sequence=True,
        )

    def _require_open(self, name: str) -> _DatagramReplies:
        if self._transport is None or self._replies is None or self._transport.is_closing():
            raise PtzLinkError(f"{name}: UDP link to {self._peer} is not open")
        return self._replies

    def _send(self, datagram: bytes) -> None:
        if self._transport is not None:
            self._transport.sendto(datagram)
