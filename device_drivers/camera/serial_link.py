"""VISCA on RS-232 (9600 8N1 by default) through pyserial-asyncio-fast."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import serial
import serial_asyncio_fast

from device_drivers.camera.errors import PtzLinkError, ViscaFormatError
from device_drivers.camera.link import LinkTrouble, ReplyInbox, Timeouts, ViscaLink, await_answer
from device_drivers.camera.visca import Completion, PacketSplitter, parse_reply

_LOG = logging.getLogger(__name__)


class _SerialReplies(asyncio.Protocol):
    """Cuts the incoming bytes into replies and drops them in the inbox."""

    def __init__(self, port: str, inbox: ReplyInbox) -> None:
        self._port = port
        self._inbox = inbox
        self._splitter = PacketSplitter()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        dropped = self._splitter.dropped_bytes
        for packet in self._splitter.feed(data):
            try:
                self._inbox.put(parse_reply(packet))
            except ViscaFormatError as err:
                _LOG.warning("%s: ignoring %s", self._port, err)
        if self._splitter.dropped_bytes != dropped:
            lost = self._splitter.dropped_bytes - dropped
            _LOG.warning("%s: dropped %d bytes without a terminator", self._port, lost)

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None:
            self._inbox.put(LinkTrouble(exc))
        if not self.closed.done():
            self.closed.set_result(None)


class SerialLink(ViscaLink):
    def __init__(self, port: str, *, baudrate: int = 9600, timeouts: Timeouts | None = None) -> None:
        super().__init__(timeouts or Timeouts())
        self.port = port
        self.baudrate = baudrate
        self._transport: Any = None
        self._replies: _SerialReplies | None = None

    async def open(self) -> None:
        if self._transport is not None:
            raise PtzLinkError(f"{self.port}: already open")
        loop = asyncio.get_running_loop()
        replies = _SerialReplies(self.port, self._inbox)
        try:
            transport, _ = await serial_asyncio_fast.create_serial_connection(
                loop, lambda: replies, self.port, baudrate=self.baudrate
            )
        except (serial.SerialException, OSError, ValueError) as err:
            raise PtzLinkError(f"cannot open serial port {self.port}: {err}") from err
        self._transport, self._replies = transport, replies

    async def close(self) -> None:
        transport, replies = self._transport, self._replies
        self._transport = self._replies = None
        if transport is None or replies is None:
            return
        transport.close()
        await replies.closed

    async def _exchange(self, packet: bytes, *, name: str, inquiry: bool) -> Completion | None:
        if self._transport is None or self._transport.is_closing():
            raise PtzLinkError(f"{name}: serial port {self.port} is not open")
        self._inbox.clear()
        self._transport.write(packet)
        return await await_answer(self._inbox, name=name, inquiry=inquiry, timeouts=self.timeouts)
