"""The simulated panel's transports: a TCP port (its LAN socket) and a pseudo-terminal (its RS-232).

Both cut the incoming bytes into requests and write the panel's replies back, from event-loop
callbacks (no task runs in the background), as the panel's profile says: at once, late, or a few
bytes at a time (device_drivers/display/profiles.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import tty
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Self

from device_drivers.base import ProtocolError
from device_drivers.display.profiles import BAUD_9600_BYTE_S

if TYPE_CHECKING:
    from device_drivers.display.simulator import SimulatedPanel

log = logging.getLogger(__name__)


class _Conversation:
    """Cuts one byte stream into requests and writes the panel's replies back."""

    def __init__(self, panel: SimulatedPanel, write: Callable[[bytes], None], drop: Callable[[], None]) -> None:
        self.panel, self._line, self._drop = panel, write, drop
        self._buffer = bytearray()
        self._late: set[asyncio.TimerHandle] = set()
        self._chunks: set[asyncio.TimerHandle] = set()
        self._busy = False  # working on a request: what arrives waits in the (small) buffer

    def feed(self, data: bytes) -> None:
        self._buffer += data
        self._overflow()
        while not self._busy:
            try:
                frame = self.panel.take_frame(self._buffer)
            except ProtocolError as err:
                log.info("simulated panel discards noise: %s", err)
                self._buffer.clear()
                return
            if frame is None:
                return
            response = self.panel.respond(frame)
            if response.drop:
                self._drop()
                return
            if response.reply is not None and response.delay_s > 0:
                self._busy = response.busy
                self._overflow()
                self._send_later(response.delay_s, response.reply)
            elif response.reply is not None:
                self._write(response.reply)

    def _overflow(self) -> None:
        """While the panel works on a request, its receive buffer keeps only so many bytes."""
        limit = self.panel.profile.rx_buffer
        if self._busy and limit and len(self._buffer) > limit:
            self.panel.overrun += len(self._buffer) - limit
            del self._buffer[limit:]

    def _send_later(self, delay_s: float, reply: bytes) -> None:
        def send() -> None:
            self._late.discard(handle)
            self._write(reply)
            self.panel.late_settled += 1
            if self._busy:
                self._busy = False
                self.feed(b"")  # now the requests that waited

        handle = asyncio.get_running_loop().call_later(delay_s, send)
        self._late.add(handle)

    def _write(self, reply: bytes) -> None:
        chunk = self.panel.profile.reply_chunk
        if not chunk or len(reply) <= chunk:
            self._line(reply)
            return
        self._line(reply[:chunk])

        def rest() -> None:  # the next bytes follow at line speed
            self._chunks.discard(handle)
            self._write(reply[chunk:])

        handle = asyncio.get_running_loop().call_later(chunk * BAUD_9600_BYTE_S, rest)
        self._chunks.add(handle)

    def close(self) -> None:
        """The line is gone: late replies have nowhere to go."""
        for handle in self._chunks:
            handle.cancel()
        self._chunks.clear()
        for handle in self._late:
            handle.cancel()
        self.panel.late_settled += len(self._late)
        self._late.clear()


class _TcpPeer(asyncio.Protocol):
    def __init__(self, server: PanelTcpServer) -> None:
        self._server = server
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._talk = _Conversation(self._server.panel, transport.write, transport.close)
        self._server.peers.add(self)

    def data_received(self, data: bytes) -> None:
        self._talk.feed(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self._talk.close()
        self._server.peers.discard(self)
        if not self.closed.done():
            self.closed.set_result(None)


class PanelTcpServer:
    """The panel on a TCP port, as on its LAN socket (MDC 1515, ViewSonic 5000)."""

    def __init__(self, panel: SimulatedPanel) -> None:
        self.panel = panel
        self.peers: set[_TcpPeer] = set()
        self._server: asyncio.Server | None = None
        self.host, self.port = "127.0.0.1", 0

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _TcpPeer(self), host, port)
        self.host, self.port = self._server.sockets[0].getsockname()[:2]

    async def drop_connections(self) -> None:
        """Close every client connection; the server keeps listening."""
        peers = list(self.peers)
        for peer in peers:
            if peer.transport is not None:
                peer.transport.close()
        await asyncio.gather(*(peer.closed for peer in peers))

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        await self.drop_connections()

    async def __aenter__(self) -> Self:
        await self.start(self.host, self.port)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


class PanelSerialPort:
    """The panel behind a pseudo-terminal: the driver opens ``path`` as its RS-232 port."""

    def __init__(self, panel: SimulatedPanel) -> None:
        self.panel = panel
        self.path = ""
        self._fds: tuple[int, int] | None = None
        self._talk: _Conversation | None = None

    def open(self) -> str:
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no CR/LF translation: bytes pass as they are
        os.set_blocking(master, False)
        self._fds = (master, slave)  # keep the slave open so the pty outlives the driver's handle
        self.path = os.ttyname(slave)
        self._talk = _Conversation(self.panel, self._write, self.close)
        asyncio.get_running_loop().add_reader(master, self._readable, self._talk)
        return self.path

    def _readable(self, talk: _Conversation) -> None:
        assert self._fds is not None
        try:
            data = os.read(self._fds[0], 4096)
        except OSError:  # EAGAIN, or EIO while nobody holds the slave: nothing to read
            return
        talk.feed(data)

    def _write(self, data: bytes) -> None:
        if self._fds is not None:
            os.write(self._fds[0], data)

    def close(self) -> None:
        """Unplug the cable: the driver's port reports an error on its next read or write."""
        if self._fds is None:
            return
        master, slave = self._fds
        self._fds = None
        if self._talk is not None:
            self._talk.close()
        asyncio.get_running_loop().remove_reader(master)
        os.close(master)
        os.close(slave)

    async def __aenter__(self) -> Self:
        self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
