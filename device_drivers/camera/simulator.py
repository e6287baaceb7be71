"""A simulated PTZ camera answering exact VISCA bytes over a pseudo-terminal and over VISCA over IP.

    async with SerialCameraSimulator() as camera_1, IpCameraSimulator() as camera_2:
        PtzCamera.over_serial(camera_1.port)          # the pty's slave path, like /dev/ttyUSB0
        PtzCamera.over_ip(*camera_2.address)          # 127.0.0.1 and the port the OS picked

Both share ``SimulatedHead`` (mechanics and VISCA answers); ``head.view()`` is where a synthetic
picture will later read which part of the studio the camera looks at.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tty
from abc import ABC, abstractmethod
from types import TracebackType
from typing import Any, Self

from device_drivers.camera.errors import PtzLinkError, ViscaFormatError
from device_drivers.camera.simulated_head import SimulatedHead
from device_drivers.camera.visca import PacketSplitter
from device_drivers.camera.visca_ip import (
    CONTROL_ACK,
    CONTROL_RESET,
    ControlError,
    IpMessage,
    PayloadType,
    control_error,
    decode_message,
    is_newer,
)

_LOG = logging.getLogger(__name__)


class _Simulator(ABC):
    def __init__(self, head: SimulatedHead | None) -> None:
        self.head = head if head is not None else SimulatedHead()
        self.muted = False  # receive but never answer: a camera that is unplugged from the far end

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


class SerialCameraSimulator(_Simulator):
    """A camera behind a pseudo-terminal; clients open ``port`` as they would an RS-232 adapter."""

    def __init__(self, head: SimulatedHead | None = None) -> None:
        super().__init__(head)
        self._master = self._slave = -1
        self._port: str | None = None
        self._splitter = PacketSplitter(max_size=64)  # longer runs still reach the head: error 01
        self._pending = bytearray()
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def port(self) -> str:
        if self._port is None:
            raise PtzLinkError("the serial simulator is not started")
        return self._port

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._master, self._slave = os.openpty()
        # Raw line discipline: no echo and no CR/LF translation, so VISCA bytes pass untouched.
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self._port = os.ttyname(self._slave)
        self._loop.add_reader(self._master, self._on_readable)

    async def close(self) -> None:
        if self._loop is not None and self._master >= 0:
            self._loop.remove_reader(self._master)
            self._loop.remove_writer(self._master)
        for fd in (self._master, self._slave):
            if fd >= 0:
                os.close(fd)
        self._master = self._slave = -1
        self._port = None

    def _on_readable(self) -> None:
        try:
            data = os.read(self._master, 1024)
        except BlockingIOError:
            return
        except OSError as err:
            _LOG.warning("serial simulator: reading the pty failed: %s", err)
            return
        for packet in self._splitter.feed(data):
            if not self.muted:
                for reply in self.head.handle(packet):
                    self._pending += reply
        self._flush()

    def _flush(self) -> None:
        assert self._loop is not None
        while self._pending:
            try:
                written = os.write(self._master, self._pending)
            except BlockingIOError:
                self._loop.add_writer(self._master, self._flush)
                return
            del self._pending[:written]
        self._loop.remove_writer(self._master)


class _DatagramCamera(asyncio.DatagramProtocol):
    def __init__(self, simulator: IpCameraSimulator) -> None:
        self._simulator = simulator

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self._simulator.on_datagram(data, addr)

    def connection_lost(self, exc: Exception | None) -> None:
        self._simulator.on_closed()


class IpCameraSimulator(_Simulator):
    """A camera speaking VISCA over IP on UDP, on 127.0.0.1 and a free port unless told otherwise.

    It keeps the sequence number of the last message it handled: a message that does not come after
    it (a retransmission, or a controller that never reset the numbering) is answered with control
    error ``0F 01``. ``lose_requests`` / ``lose_replies`` make the next datagrams vanish, as on a lossy LAN.
    """

    def __init__(self, head: SimulatedHead | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(head)
        self._bind = (host, port)
        self._transport: asyncio.DatagramTransport | None = None
        self._closed: asyncio.Future[None] | None = None
        self._last_sequence: int | None = None
        self.received: list[IpMessage] = []
        self.lose_requests = 0
        self.lose_replies = 0

    @property
    def address(self) -> tuple[str, int]:
        if self._transport is None:
            raise PtzLinkError("the VISCA-over-IP simulator is not started")
        host, port = self._transport.get_extra_info("sockname")[:2]
        return str(host), int(port)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._closed = loop.create_future()
        self._transport, _ = await loop.create_datagram_endpoint(
            lambda: _DatagramCamera(self), local_addr=self._bind
        )

    async def close(self) -> None:
        if self._transport is not None and self._closed is not None:
            self._transport.close()
            await self._closed
        self._transport = None

    def on_closed(self) -> None:
        if self._closed is not None and not self._closed.done():
            self._closed.set_result(None)

    def on_datagram(self, data: bytes, addr: tuple[Any, ...]) -> None:
        try:
            message = decode_message(data)
        except ViscaFormatError as err:
            _LOG.warning("VISCA-over-IP simulator: ignoring %s", err)
            return
        self.received.append(message)
        if self.muted:
            return
        if self.lose_requests > 0:
            self.lose_requests -= 1
            return
        for reply in self._answer(message):
            self._send(reply, addr)

    def _answer(self, message: IpMessage) -> list[IpMessage]:
        sequence = message.sequence
        if message.payload_type is PayloadType.CONTROL_COMMAND:
            if message.payload != CONTROL_RESET:
                return [control_error(sequence, ControlError.MESSAGE_TYPE)]
            self._last_sequence = None
            return [IpMessage(PayloadType.CONTROL_REPLY, sequence, CONTROL_ACK)]
        if message.payload_type not in (PayloadType.VISCA_COMMAND, PayloadType.VISCA_INQUIRY):
            return [control_error(sequence, ControlError.MESSAGE_TYPE)]
        if self._last_sequence is not None and not is_newer(sequence, self._last_sequence):
            return [control_error(sequence, ControlError.SEQUENCE)]
        self._last_sequence = sequence
        category = message.payload[1] if len(message.payload) > 1 else None
        says_inquiry = message.payload_type is PayloadType.VISCA_INQUIRY
        if category in (0x01, 0x09) and (category == 0x09) != says_inquiry:
            return [control_error(sequence, ControlError.MESSAGE_TYPE)]
        replies = self.head.handle(message.payload)
        return [IpMessage(PayloadType.VISCA_REPLY, sequence, reply) for reply in replies]

    def _send(self, message: IpMessage, addr: tuple[Any, ...]) -> None:
        if self.lose_replies > 0:
            self.lose_replies -= 1
            return
        if self._transport is not None:
            self._transport.sendto(message.encode(), addr)
