"""One request, one reply, over RS-232 or TCP: the byte pipe a display driver talks through.

Both transports give an asyncio (reader, writer) pair, so the rest of the driver does not
care which one it has. The link opens lazily, serialises requests, turns a silence into
``DriverTimeout`` and a broken pipe into ``LinkError``, and drops the connection after
either so the next request starts on a clean one (reopening a serial port also flushes
stale input). A request that finds its old connection dead is retried once on a new one:
display commands are absolute (power on, volume 30), so repeating one is harmless.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Self

import serial
import serial_asyncio_fast

from device_drivers.base import DriverTimeout, LinkError, ProtocolError

log = logging.getLogger(__name__)

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]
ReadFrame = Callable[[asyncio.StreamReader], Awaitable[bytes]]


class Endpoint(ABC):
    """Where the display is: opens a fresh (reader, writer) pair."""

    @abstractmethod
    async def open(self) -> Streams: ...

    @abstractmethod
    def __str__(self) -> str: ...


class TcpEndpoint(Endpoint):
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port

    async def open(self) -> Streams:
        return await asyncio.open_connection(self.host, self.port)

    def __str__(self) -> str:
        return f"tcp://{self.host}:{self.port}"


class SerialEndpoint(Endpoint):
    """RS-232, 8 data bits, no parity, 1 stop bit, no flow control."""

    def __init__(self, path: str, baudrate: int) -> None:
        self.path, self.baudrate = path, baudrate

    async def open(self) -> Streams:
        return await serial_asyncio_fast.open_serial_connection(
            url=self.path,
            baudrate=self.baudrate,
            bytesize=serial.EIGHTBITS,
            parity=serial.PARITY_NONE,
            stopbits=serial.STOPBITS_ONE,
        )

    def __str__(self) -> str:
        return f"serial://{self.path}@{self.baudrate}"


class _Lost(Exception):
    """The connection died under a request."""


class Link:
    """Request/response over one endpoint. Use as ``async with Link(...)`` or open/close."""

    def __init__(self, endpoint: Endpoint, read_frame: ReadFrame, timeout: float = 2.0) -> None:
        self.endpoint = endpoint
        self._read_frame = read_frame
        self._timeout = timeout
        self._streams: Streams | None = None
        self._lock = asyncio.Lock()
        self.opens = 0  # how many connections were opened; > 1 means reconnects

    @property
    def is_open(self) -> bool:
        if self._streams is None:
            return False
        reader, writer = self._streams
        return not (writer.is_closing() or reader.at_eof() or reader.exception() is not None)

    async def open(self) -> None:
        async with self._lock:
            await self._ensure_open()

    async def close(self) -> None:
        async with self._lock:
            await self._drop()

    async def exchange(self, request: bytes) -> bytes:
        """Send ``request`` and return the reply frame (as delimited by ``read_frame``)."""
        async with self._lock:
            for attempt in (1, 2):
                fresh = await self._ensure_open()
                try:
                    return await self._exchange_once(request)
                except _Lost as err:
                    await self._drop()
                    if fresh or attempt == 2:
                        raise LinkError(f"{self.endpoint}: connection lost ({err})") from err.__cause__
                    log.info("%s: connection was stale (%s), reconnecting", self.endpoint, err)
                except (DriverTimeout, ProtocolError):
                    await self._drop()
                    raise
                except asyncio.CancelledError:
                    self._abandon()  # its reply may still come: never read it as the next one's
                    raise
            raise AssertionError("unreachable")

    async def _exchange_once(self, request: bytes) -> bytes:
        assert self._streams is not None
        reader, writer = self._streams
        try:
            async with asyncio.timeout(self._timeout):
                writer.write(request)
                await writer.drain()
                return await self._read_frame(reader)
        except TimeoutError as err:
            raise DriverTimeout(
                f"{self.endpoint}: no reply within {self._timeout:g} s to {request.hex(' ').upper()}"
            ) from err
        except asyncio.IncompleteReadError as err:
            got = f", {len(err.partial)} bytes of a reply" if err.partial else ""
            raise _Lost(f"closed by the other side{got}") from err
        except (OSError, serial.SerialException) as err:
            raise _Lost(str(err) or type(err).__name__) from err

    async def _ensure_open(self) -> bool:
        """Open a connection if there is no live one; True if this call opened it."""
        if self.is_open:
            return False
        await self._drop()
        try:
            async with asyncio.timeout(self._timeout):
                self._streams = await self.endpoint.open()
        except TimeoutError as err:
            raise DriverTimeout(f"{self.endpoint}: could not connect within {self._timeout:g} s") from err
        except (OSError, serial.SerialException, ValueError) as err:
            raise LinkError(f"{self.endpoint}: cannot open: {err}") from err
        self.opens += 1
        if self.opens > 1:
            log.info("%s: reconnected", self.endpoint)
        return True

    def _abandon(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None

    async def _drop(self) -> None:
        if self._streams is None:
            return
        _, writer = self._streams
        self._streams = None
        writer.close()
        try:
            await writer.wait_closed()
        except (OSError, serial.SerialException) as err:
            # The peer already went away: the connection is closed either way.
            log.debug("%s: while closing: %s", self.endpoint, err)

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
