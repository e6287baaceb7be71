"""What each display protocol does for power, input, volume, mute and status.

A ``PanelProtocol`` turns one display operation into request frames (through the codec
of its protocol) and reads the replies; the bytes travel through an ``exchange``
callable (the driver's link), so protocols are tested without any socket.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from device_drivers.base import CommandRefused, DriverError, InvalidCommand, ProtocolError
from device_drivers.display import mdc, viewsonic

log = logging.getLogger(__name__)

Exchange = Callable[[bytes], Awaitable[bytes]]
MDC = "samsung_mdc"


@dataclass(frozen=True)
class DisplayStatus:
    """What the panel reports; None where it declined to say."""

    power: bool
    input: str | None
    volume: int | None
    mute: bool | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class PanelProtocol(ABC):
    name: str
    tcp_port: int
    baudrate: int
    display_ids: tuple[int, int]

    @property
    @abstractmethod
    def inputs(self) -> Sequence[str]:
        """The input names ``set_input`` accepts."""

    @abstractmethod
    async def read_frame(self, reader: asyncio.StreamReader) -> bytes:
        """Read one reply frame and check its integrity (framing, checksum)."""

    @abstractmethod
    async def set_power(self, exchange: Exchange, display_id: int, on: bool) -> None: ...

    @abstractmethod
    async def set_input(self, exchange: Exchange, display_id: int, source: str) -> None: ...

    @abstractmethod
    async def set_volume(self, exchange: Exchange, display_id: int, level: int) -> None: ...

    @abstractmethod
    async def set_mute(self, exchange: Exchange, display_id: int, on: bool) -> None: ...

    @abstractmethod
    async def status(self, exchange: Exchange, display_id: int) -> DisplayStatus: ...

    def check_input(self, source: str) -> None:
        if source not in self.inputs:
            raise InvalidCommand(f"{self.name} has no input {source!r} (known: {', '.join(self.inputs)})")


class MdcProtocol(PanelProtocol):
    """Samsung MDC binary protocol (see ``mdc``)."""

    name = MDC
    tcp_port = mdc.TCP_PORT
    baudrate = mdc.BAUDRATE
    display_ids = (0, mdc.BROADCAST_ID - 1)  # 0xFE is never acknowledged

    def __init__(self) -> None:
        self.all_status: bool | None = None  # does this panel answer 0x00? None: not asked yet

    @property
    def inputs(self) -> Sequence[str]:
        return list(mdc.INPUT_CODES)

    async def read_frame(self, reader: asyncio.StreamReader) -> bytes:
        head = await reader.readexactly(4)
        frame = head + await reader.readexactly(mdc.frame_length(head) - 4)
        mdc.decode_reply(frame)
        return frame

    async def _ask(self, exchange: Exchange, request: bytes, what: str) -> bytes:
        sent = mdc.decode_request(request)
        reply = mdc.decode_reply(await exchange(request))
        # A panel addressed as id 0 (direct cable) may answer with its configured id.
        if sent.display_id not in (0, reply.display_id):
            raise ProtocolError(
                f"MDC {what}: reply from display id {reply.display_id}, sent to {sent.display_id}"
            )
        if reply.command != sent.command:
            raise ProtocolError(
                f"MDC {what}: reply is for command 0x{reply.command:02X}, not 0x{sent.command:02X}"
            )
        if not reply.ack:
            code = reply.error_code
            detail = f"error code 0x{code:02X}" if code is not None else "no error code"
            raise CommandRefused(f"display {sent.display_id} refused {what} (MDC NAK, {detail})")
        return reply.values

    async def set_power(self, exchange: Exchange, display_id: int, on: bool) -> None:
        await self._ask(exchange, mdc.encode_power(display_id, on), f"power {'on' if on else 'off'}")

    async def set_input(self, exchange: Exchange, display_id: int, source: str) -> None:
        self.check_input(source)
        await self._ask(exchange, mdc.encode_input(display_id, source), f"input {source}")

    async def set_volume(self, exchange: Exchange, display_id: int, level: int) -> None:
        await self._ask(exchange, mdc.encode_volume(display_id, level), f"volume {level}")

    async def set_mute(self, exchange: Exchange, display_id: int, on: bool) -> None:
        await self._ask(exchange, mdc.encode_mute(display_id, on), f"mute {'on' if on else 'off'}")

    async def status(self, exchange: Exchange, display_id: int) -> DisplayStatus:
        """The all-status request ``0x00``; from a panel that refuses it, the per-field gets.

        Some panels answer NAK to ``0x00`` while they answer every single get. The first NAK
        is remembered for this panel: from then on its status is asked field by field.
        """
        if self.all_status is not False:
            try:
                values = await self._ask(exchange, mdc.encode_status(display_id), "status")
            except CommandRefused as err:
                self.all_status = False
                log.info("event=display_status_by_field display_id=%d reason=%r", display_id, str(err))
            else:
                self.all_status = True
                state = mdc.decode_status(values)
                return DisplayStatus(
                    power=state.power, input=mdc.input_name(state.input), volume=state.volume, mute=state.mute
                )
        return await self._status_by_field(exchange, display_id)

    async def _status_by_field(self, exchange: Exchange, display_id: int) -> DisplayStatus:
        power = await self._get(exchange, mdc.encode_power(display_id), "get power")
        if power is None:
            raise CommandRefused(f"display {display_id} refused both the status and the power get (MDC NAK)")
        volume = await self._get(exchange, mdc.encode_volume(display_id), "get volume")
        mute = await self._get(exchange, mdc.encode_mute(display_id), "get mute")
        source = await self._get(exchange, mdc.encode_input(display_id), "get input")
        if volume is not None and volume > 100:
            raise ProtocolError(f"MDC get volume: {volume} is above 100")
        return DisplayStatus(
            power=power == 1,
            input=None if source is None else mdc.input_name(source),
            volume=volume,
            mute=None if mute is None else mute == 1,
        )

    async def _get(self, exchange: Exchange, request: bytes, what: str) -> int | None:
        """One value of a get; None when the panel declines it (some do in standby)."""
        try:
            values = await self._ask(exchange, request, what)
        except CommandRefused:
            return None
        if len(values) != 1:
            raise ProtocolError(f"MDC {what}: expected one value, got {len(values)}: {mdc.hexdump(values)}")
        return values[0]


class AsciiProtocol(PanelProtocol):
    """The LFD ASCII framing (see ``viewsonic``) with the codes of one ``PanelTable``."""

    def __init__(self, table: viewsonic.PanelTable) -> None:
        self.table = table
        self.name = table.name
        self.tcp_port = table.tcp_port
        self.baudrate = table.baudrate
        self.display_ids = table.display_ids

    @property
    def inputs(self) -> Sequence[str]:
        return list(self.table.input.codes)

    async def read_frame(self, reader: asyncio.StreamReader) -> bytes:
        try:
            frame = await reader.readuntil(viewsonic.CR)
        except asyncio.LimitOverrunError as err:
            raise ProtocolError(f"{self.name}: reply of {err.consumed}+ bytes without a CR") from err
        if len(frame) > viewsonic.MAX_FRAME + 1:
            raise ProtocolError(f"{self.name}: reply of {len(frame)} bytes is too long: {frame!r}")
        viewsonic.decode_reply(frame)
        return frame

    async def _reply(self, exchange: Exchange, request: bytes, what: str) -> viewsonic.Reply:
        sent = viewsonic.decode_request(request)
        reply = viewsonic.decode_reply(await exchange(request))
        if reply.display_id != sent.display_id:
            raise ProtocolError(
                f"{self.name} {what}: reply from display id {reply.display_id:02d}, "
                f"asked {sent.display_id:02d}"
            )
        if reply.kind == viewsonic.INVALID:
            raise CommandRefused(f"display {sent.display_id:02d} refused {what} ('-' reply: invalid command)")
        return reply

    async def _set(self, exchange: Exchange, display_id: int, letter: str, value: str, what: str) -> None:
        request = viewsonic.encode_request(display_id, viewsonic.SET, letter, value)
        reply = await self._reply(exchange, request, what)
        if reply.kind != viewsonic.OK:
            raise ProtocolError(f"{self.name} {what}: expected '+' or '-', got {reply.kind!r}")

    async def _get(self, exchange: Exchange, display_id: int, letter: str, what: str) -> str:
        request = viewsonic.encode_request(display_id, viewsonic.GET, letter)
        reply = await self._reply(exchange, request, what)
        if reply.kind != viewsonic.VALUE or reply.command != letter or reply.value is None:
            raise ProtocolError(f"{self.name} {what}: expected 'r' {letter!r} + value, got {reply}")
        return reply.value

    async def _get_optional(self, exchange: Exchange, display_id: int, letter: str, what: str) -> str | None:
        try:
            return await self._get(exchange, display_id, letter, what)
        except CommandRefused:
            return None  # some panels decline some reads (e.g. in standby): report "unknown"

    def _switch(self, value: str | None, switch: viewsonic.Switch, what: str) -> bool | None:
        if value is None:
            return None
        if value in (switch.on, switch.off):
            return value == switch.on
        raise ProtocolError(f"{self.name} {what}: {value!r} is neither {switch.on!r} nor {switch.off!r}")

    async def set_power(self, exchange: Exchange, display_id: int, on: bool) -> None:
        power = self.table.power
        await self._set(
            exchange, display_id, power.set, power.on if on else power.off, f"power {'on' if on else 'off'}"
        )

    async def set_input(self, exchange: Exchange, display_id: int, source: str) -> None:
        self.check_input(source)
        table = self.table.input
        await self._set(exchange, display_id, table.set, table.codes[source], f"input {source}")

    async def set_volume(self, exchange: Exchange, display_id: int, level: int) -> None:
        if not 0 <= level <= self.table.volume.max:
            raise InvalidCommand(f"{self.name} volume {level} is outside 0..{self.table.volume.max}")
        await self._set(exchange, display_id, self.table.volume.set, f"{level:03d}", f"volume {level}")

    async def set_mute(self, exchange: Exchange, display_id: int, on: bool) -> None:
        mute = self.table.mute
        value, what = (mute.on, "mute on") if on else (mute.off, "mute off")
        await self._set(exchange, display_id, mute.set, value, what)

    async def status(self, exchange: Exchange, display_id: int) -> DisplayStatus:
        t = self.table
        power = await self._get(exchange, display_id, t.power.get, "get power")
        source = await self._get_optional(exchange, display_id, t.input.get, "get input")
        volume = await self._get_optional(exchange, display_id, t.volume.get, "get volume")
        mute = await self._get_optional(exchange, display_id, t.mute.get, "get mute")
        if volume is not None and not (volume.isdigit() and int(volume) <= t.volume.max):
            raise ProtocolError(f"{self.name} get volume: {volume!r} is not a number 000..{t.volume.max:03d}")
        return DisplayStatus(
            power=bool(self._switch(power, t.power, "power")),
            input=None if source is None else t.input.name_of(source),
            volume=None if volume is None else int(volume),
            mute=self._switch(mute, t.mute, "mute"),
        )


def protocol_names() -> list[str]:
    """Every protocol a room file may name: MDC and one per ASCII panel table."""
    return [MDC, *(name for name in viewsonic.table_names() if name != MDC)]


def protocol_for(name: str) -> PanelProtocol:
    if name == MDC:
        return MdcProtocol()
    if name not in viewsonic.table_names():
        raise DriverError(f"unknown display protocol {name!r} (known: {', '.join(protocol_names())})")
    return AsciiProtocol(viewsonic.load_table(name))
