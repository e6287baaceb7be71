"""One open serial connection to a kit board: handshake, heartbeats, commands, dispatch.

Reading is event driven: pyserial-asyncio-fast (firmware_bridge/serial_port.py) registers the
port's file descriptor with the event loop, and every chunk goes straight through the
:class:`FrameDecoder` to the listener.
A :class:`KitLink` lives for one connection; reconnecting is the supervisor's job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Self

import serial

from classroom_hub.errors import swallowed
from firmware_bridge.errors import (
    CommandNacked,
    CommandUnanswered,
    FrameError,
    HandshakeFailed,
    LinkLost,
    PayloadError,
    PortUnavailable,
)
from firmware_bridge.frames import (
    PROTOCOL_VERSION,
    SUPPORTED_VERSIONS,
    Frame,
    FrameDecoder,
    FrameType,
    encode_frame,
)
from firmware_bridge.kit import KitIdentity, KitListener
from firmware_bridge.payload import Fields, Value, decode_fields, encode_fields
from firmware_bridge.serial_port import open_serial

_LOG = logging.getLogger(__name__)
_KNOWN_TYPES = frozenset(int(t) for t in FrameType)
_DEVICE_STREAM = frozenset(
    {FrameType.IDENTIFY, FrameType.HEARTBEAT, FrameType.TELEMETRY, FrameType.EVENT, FrameType.CONSOLE}
)
_SESSION_ONLY = frozenset({FrameType.HEARTBEAT, FrameType.TELEMETRY, FrameType.EVENT, FrameType.CONSOLE})
MAX_TELEMETRY_PARTS = 8
"""A board sends TELEMETRY in parts (``more`` = true on all but the last, docs/serial-protocol.md §9);
the link merges at most this many, so a board that never sends a last part still reports."""
STATS_COMMAND = "stats"
"""Every board answers it with its counters (docs/serial-protocol.md §8); see :meth:`KitLink.stats`."""


class _SerialFrames(asyncio.Protocol):
    def __init__(self, link: KitLink) -> None:
        self._link = link

    def data_received(self, data: bytes) -> None:
        self._link._on_data(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self._link._on_connection_lost(exc)


class KitLink:
    """An async context manager around one port: ``async with KitLink(path) as link: ...``.

    Entering opens the port and completes the HELLO/IDENTIFY handshake; leaving closes it.
    Not re-entrant; make a new link to reconnect.
    """

    def __init__(
        self,
        port: str,
        *,
        baudrate: int = 115_200,
        hello_timeout: float = 3.0,
        hello_retry: float = 0.5,
        heartbeat_interval: float = 0.5,
        command_timeout: float = 0.25,
        command_attempts: int = 4,
    ) -> None:
        self.port = port
        self.listener: KitListener | None = None  # set by the owner once it accepts the board
        self.identity: KitIdentity | None = None
        self.decoder = FrameDecoder()
        self.counters: dict[str, int] = dict.fromkeys(
            ("tx_frames", "unknown_type", "bad_payload", "missed_frames", "retransmits", "stray_replies",
             "before_session"),
            0,
        )  # fmt: skip
        self._baudrate = baudrate
        self._hello_timeout = hello_timeout
        self._hello_retry = hello_retry
        self._heartbeat_interval = heartbeat_interval
        self._command_timeout = command_timeout
        self._command_attempts = max(1, command_attempts)
        self._transport: asyncio.Transport | None = None
        self._transport_closed: asyncio.Future[None] | None = None
        self._lost: asyncio.Future[LinkLost] | None = None
        self._identified: asyncio.Future[KitIdentity] | None = None
        self._heartbeat_task: asyncio.Task[None] | None = None
        self._pending: dict[int, tuple[str, asyncio.Future[Fields]]] = {}
        self._seq = 0
        self._expected_seq: int | None = None
        self._last_rx = 0.0
        self._last_uptime = -1
        self._in_session = False  # an IDENTIFY with the negotiated version has arrived
        self._telemetry: Fields = {}  # the parts of a TELEMETRY set received so far
        self._telemetry_parts = 0

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def open(self) -> KitIdentity:
        """Open the port and handshake; raises PortUnavailable or HandshakeFailed."""
        if self._lost is not None:
            raise FrameError(f"{self.port}: a KitLink opens once; make a new one to reconnect")
        loop = asyncio.get_running_loop()
        self._lost = loop.create_future()
        self._transport_closed = loop.create_future()
        try:
            transport = await open_serial(
                loop, lambda: _SerialFrames(self), self.port, baudrate=self._baudrate, exclusive=True
            )
        except (serial.SerialException, OSError, ValueError) as err:
            self._lose(LinkLost(f"{self.port}: could not open"))
            self._transport_closed.set_result(None)
            raise PortUnavailable(f"{self.port}: cannot open serial port: {err}") from err
        self._transport = transport
        try:
            self.identity = await self._handshake()
        except BaseException:
            await self.close()
            raise
        self._heartbeat_task = asyncio.create_task(self._heartbeat(), name=f"kit-heartbeat {self.port}")
        return self.identity

    async def close(self) -> None:
        """Stop heartbeats, fail pending commands, close the port and wait until it is closed."""
        self._lose(LinkLost(f"{self.port}: link closed by the hub"))
        if self._heartbeat_task is not None:
            self._heartbeat_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat_task
        if self._transport is not None and not self._transport.is_closing():
            self._transport.abort()  # no flush: a dead board would block tcdrain forever
        if self._transport_closed is not None:
            await self._transport_closed

    @property
    def lost(self) -> LinkLost | None:
        """Why the link died, once it has; None while it lives (or before it was opened)."""
        if self._lost is None or not self._lost.done() or self._lost.cancelled():
            return None
        return self._lost.result()

    async def wait_lost(self) -> LinkLost:
        """Wait until the link dies; returns why (port vanished, board silent or restarted)."""
        if self._lost is None:
            raise FrameError(f"{self.port}: link was never opened")
        return await asyncio.shield(self._lost)

    @property
    def is_up(self) -> bool:
        return self.identity is not None and self._lost is not None and not self._lost.done()

    # -- commands --------------------------------------------------------------------------

    async def command(self, name: str, args: Mapping[str, Value] | None = None) -> Fields:
        """Send a COMMAND and wait for its ACK (returns the result fields) or NACK (raises).

        Unanswered attempts are retransmitted with the same seq, which the board answers from
        its reply cache without running the command twice.
        """
        device_id = self.identity.device_id if self.identity else self.port
        if not self.is_up or self._lost is None:
            raise LinkLost(f"{device_id}: link is down, cannot send {name!r}")
        wire = encode_frame(Frame(FrameType.COMMAND, self._next_seq(), self._command_payload(name, args)))
        seq = self._seq
        reply: asyncio.Future[Fields] = asyncio.get_running_loop().create_future()
        self._pending[seq] = (name, reply)
        try:
            for attempt in range(self._command_attempts):
                if attempt:
                    self.counters["retransmits"] += 1
                    _LOG.debug("%s: retransmitting %s seq=%d (attempt %d)", device_id, name, seq, attempt + 1)
                self._write(wire)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._command_timeout):
                        return await asyncio.shield(reply)
            raise CommandUnanswered(
                f"{device_id}: no ACK for {name!r} after {self._command_attempts} attempts "
                f"of {self._command_timeout * 1000:.0f} ms"
            )
        finally:
            del self._pending[seq]
            if not reply.done():
                reply.cancel()
            elif not reply.cancelled():
                reply.exception()  # mark a late failure as seen; the caller already has its answer

    async def stats(self) -> dict[str, dict[str, int]]:
        """Both ends' counters: ``board`` from the board's ``stats`` ACK, ``host`` from this link.

        The names they share mean the same on each side (``bad_crc``: frames that side received
        with a bad CRC), so a technician reads the line's quality in both directions at once.
        """
        board = await self.command(STATS_COMMAND)
        counts = {key: value for key, value in board.items() if isinstance(value, int) and not isinstance(value, bool)}
        return {"board": counts, "host": self.line_counters()}

    def line_counters(self) -> dict[str, int]:
        """This end's counters under the protocol's names (the board's ``stats`` uses the same)."""
        return {"rx_frames": self.decoder.frames, **self.decoder.dropped, **self.counters}

    @staticmethod
    def _command_payload(name: str, args: Mapping[str, Value] | None) -> bytes:
        items: list[tuple[str, Value]] = [("cmd", name)]
        items += (args or {}).items()
        return encode_fields(items)

    # -- sending ---------------------------------------------------------------------------

    def _next_seq(self) -> int:
        self._seq = (self._seq + 1) & 0xFFFF
        return self._seq

    def _write(self, data: bytes) -> None:
        if self._transport is None or self._transport.is_closing():
            raise LinkLost(f"{self.port}: port is closed")
        self._transport.write(data)
        if len(data) > 1:  # a frame, not the lone delimiter that opens a handshake
            self.counters["tx_frames"] += 1

    def _send(self, frame_type: FrameType, payload: bytes = b"") -> None:
        self._write(encode_frame(Frame(frame_type, self._next_seq(), payload)))

    async def _handshake(self) -> KitIdentity:
        loop = asyncio.get_running_loop()
        identified: asyncio.Future[KitIdentity] = loop.create_future()
        self._identified = identified
        deadline = loop.time() + self._hello_timeout
        try:
            self._write(b"\x00")  # ends whatever partial frame the board was receiving
            while True:
                self._send_hello()
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise HandshakeFailed(
                        f"{self.port}: no IDENTIFY within {self._hello_timeout:.1f} s of HELLO "
                        f"({self.decoder.frames} good frames, dropped {self.decoder.dropped})"
                    )
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(min(self._hello_retry, remaining)):
                        return await asyncio.shield(identified)
        finally:
            if not identified.done():
                identified.cancel()

    def _send_hello(self) -> None:
        hello: dict[str, Value] = {"pmin": SUPPORTED_VERSIONS[0], "pmax": SUPPORTED_VERSIONS[-1], "host": "hub"}
        self._send(FrameType.HELLO, encode_fields(hello))

    async def _heartbeat(self) -> None:
        assert self.identity is not None
        loop = asyncio.get_running_loop()
        interval = min(self._heartbeat_interval, self.identity.host_timeout_ms / 3000)
        silence_limit = 3 * self.identity.heartbeat_ms / 1000 + interval
        while True:
            await asyncio.sleep(interval)
            silent = loop.time() - self._last_rx
            if silent > silence_limit:
                self._lose(LinkLost(f"{self.identity.device_id}: board silent for {silent * 1000:.0f} ms"))
                return
            try:
                self._send(FrameType.HEARTBEAT)
            except LinkLost:
                return

    # -- receiving -------------------------------------------------------------------------

    def _on_data(self, data: bytes) -> None:
        for frame in self.decoder.feed(data):
            try:
                self._on_frame(frame)
            except PayloadError as err:
                self.counters["bad_payload"] += 1
                _LOG.debug("%s: dropped %s: %s", self.port, frame.describe(), err)

    def _on_frame(self, frame: Frame) -> None:
        self._last_rx = asyncio.get_running_loop().time()
        kind = frame.type
        if kind in _DEVICE_STREAM:
            self._track_seq(frame.seq)
        if self._telemetry_parts and kind != FrameType.TELEMETRY:
            self._flush_telemetry()  # what the board said between two parts comes after them
        if kind in _SESSION_ONLY and not self._in_session:
            # Before its IDENTIFY of a session a board sends nothing but IDENTIFY and NACKs (§6):
            # anything else is from an older session or a confused board, and is not passed on.
            self.counters["before_session"] += 1
            return
        if kind == FrameType.TELEMETRY:
            self._on_telemetry(decode_fields(frame.payload))
        elif kind == FrameType.EVENT:
            fields = decode_fields(frame.payload)
            name = fields.pop("event", None)
            if not isinstance(name, str):
                raise PayloadError("EVENT without a string 'event' field")
            self._notify(lambda listener, device: listener.on_event(device, name, fields))
        elif kind == FrameType.ACK or kind == FrameType.NACK:
            self._on_reply(frame)
        elif kind == FrameType.HEARTBEAT:
            self._check_uptime(decode_fields(frame.payload).get("up"))
        elif kind == FrameType.CONSOLE:
            text = frame.payload.decode("utf-8", "replace")
            self._notify(lambda listener, device: listener.on_console(device, text))
        elif kind == FrameType.IDENTIFY:
            self._on_identify(KitIdentity.from_fields(decode_fields(frame.payload), self.port))
        elif kind not in _KNOWN_TYPES:
            self.counters["unknown_type"] += 1

    def _on_telemetry(self, fields: Fields) -> None:
        """Merges a TELEMETRY part; the last part (no ``more``) passes the set on.

        The board builds each part when it sends it, so an ACK or EVENT that arrives between two
        parts is newer than the parts before it: those go to the listener first, on their own,
        and the parts after it make a second, partial set. A listener thus sees everything in
        the order the board said it (a reading after an ACK shows the command's effect), and a
        set may hold only some of the keys. A lost part leaves its readings out of that set.
        """
        more = fields.pop("more", False) is True
        self._telemetry.update(fields)  # a repeated key keeps its latest value
        self._telemetry_parts += 1
        if not more or self._telemetry_parts >= MAX_TELEMETRY_PARTS:
            self._flush_telemetry()

    def _flush_telemetry(self) -> None:
        readings, self._telemetry, self._telemetry_parts = self._telemetry, {}, 0
        if readings:
            self._notify(lambda listener, device: listener.on_telemetry(device, readings))

    def _on_identify(self, identity: KitIdentity) -> None:
        handshaking = self._identified is not None and not self._identified.done()
        if identity.protocol == 0:
            if identity.protocol_max < SUPPORTED_VERSIONS[0] or identity.protocol_min > SUPPORTED_VERSIONS[-1]:
                error = HandshakeFailed(
                    f"{self.port}: board {identity.device_id!r} speaks protocol "
                    f"{identity.protocol_min}..{identity.protocol_max}, the hub {list(SUPPORTED_VERSIONS)}"
                )
                if handshaking and self._identified is not None:
                    self._identified.set_exception(error)
                return
            if handshaking:
                self._send_hello()  # the board just booted: ask again rather than wait a retry
            elif self.identity is not None:
                self._lose(LinkLost(f"{identity.device_id}: board restarted"))
            return
        if handshaking and self._identified is not None:
            if identity.protocol != PROTOCOL_VERSION:
                self._identified.set_exception(
                    HandshakeFailed(f"{self.port}: board chose protocol {identity.protocol}")
                )
                return
            self._last_uptime = identity.uptime_ms
            self._in_session = True
            self._identified.set_result(identity)

    def _on_reply(self, frame: Frame) -> None:
        pending = self._pending.get(frame.seq)
        if pending is None or pending[1].done():
            self.counters["stray_replies"] += 1  # a late duplicate ACK of a retransmitted command
            return
        name, reply = pending
        fields = decode_fields(frame.payload)
        if frame.type == FrameType.ACK:
            reply.set_result(fields)
            return
        code = fields.get("code", 0)
        error = fields.get("err", "refused")
        device_id = self.identity.device_id if self.identity else self.port
        reply.set_exception(
            CommandNacked(device_id, name, code if isinstance(code, int) else 0, str(error))
        )

    def _track_seq(self, seq: int) -> None:
        if self._expected_seq is not None:
            gap = (seq - self._expected_seq) & 0xFFFF
            if 0 < gap < 1024:
                self.counters["missed_frames"] += gap
        self._expected_seq = (seq + 1) & 0xFFFF

    def _check_uptime(self, uptime: Value | None) -> None:
        if not isinstance(uptime, int) or isinstance(uptime, bool):
            return
        if 0 <= uptime + 1000 < self._last_uptime and self.identity is not None:
            self._lose(LinkLost(f"{self.identity.device_id}: board restarted (uptime went back)"))
        self._last_uptime = uptime

    def _notify(self, call: Callable[[KitListener, str], None]) -> None:
        if self.listener is None or self.identity is None or not self.is_up:
            return
        try:
            call(self.listener, self.identity.device_id)
        except PayloadError:
            raise
        except Exception:
            swallowed("kit_listener_failed", device=self.identity.device_id)

    def _lose(self, reason: LinkLost) -> None:
        if self._lost is None or self._lost.done():
            return
        _LOG.info("%s", reason)
        self._lost.set_result(reason)
        if self._identified is not None and not self._identified.done():
            self._identified.set_exception(reason)
        for _, reply in self._pending.values():
            if not reply.done():
                reply.set_exception(reason)
        if self._transport is not None and not self._transport.is_closing():
            self._transport.abort()

    def _on_connection_lost(self, exc: Exception | None) -> None:
        if self._transport_closed is not None and not self._transport_closed.done():
            self._transport_closed.set_result(None)
        self._lose(LinkLost(f"{self.port}: port closed ({exc or 'by the hub'})"))
