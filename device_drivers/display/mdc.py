"""Samsung MDC (Multiple Display Control) frames: pure encode/decode, no I/O.

Sources (see docs/display-control.md): Samsung "MDC Protocol" v13.7c (2015) and v15.0
(2020), and the "Control Codes" chapter of the MD/DM/UD/MX user manuals.

    request  AA cmd id len data.. cs        cs = (cmd + id + len + sum(data)) mod 256
    ACK      AA FF  id len 'A' r-cmd val.. cs   len counts 'A', r-cmd and the values
    NAK      AA FF  id 03  'N' r-cmd err   cs

Same bytes on RS-232 (9600 8N1) and on TCP port 1515. Id 0xFE addresses every display
on a daisy chain and is never acknowledged.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from device_drivers.base import InvalidCommand, ProtocolError

HEADER = 0xAA
REPLY = 0xFF
ACK = ord("A")
NAK = ord("N")
BROADCAST_ID = 0xFE
TCP_PORT = 1515
BAUDRATE = 9600
MIN_FRAME = 5  # AA cmd id len cs
MAX_DATA = 255


class Command(IntEnum):
    STATUS = 0x00  # get only: power, volume, mute, input, aspect, N-time, F-time
    POWER = 0x11
    VOLUME = 0x12
    MUTE = 0x13
    INPUT = 0x14


# Input source codes (MDC v15.0, "Input Source Control"). Names are the hub's.
INPUT_CODES: dict[str, int] = {
    "vga": 0x14,  # "PC"
    "dvi": 0x18,
    "magicinfo": 0x20,
    "hdmi1": 0x21,
    "hdmi2": 0x23,
    "displayport": 0x25,
    "hdmi3": 0x31,
    "hdmi4": 0x33,
    "ops": 0x50,  # "Plug-in module"
    "hdbaset": 0x55,
    "whiteboard": 0x64,  # "IWB" on Samsung Flip
}
# A panel may report the "PC" flavour of an HDMI input; it is the same socket.
_INPUT_ALIASES = {0x22: "hdmi1", 0x24: "hdmi2", 0x32: "hdmi3", 0x34: "hdmi4", 0x60: "magicinfo"}
INPUT_NAMES: dict[int, str] = {code: name for name, code in INPUT_CODES.items()} | _INPUT_ALIASES


def input_name(code: int) -> str:
    """The hub's name for an input code; unknown codes stay visible as ``unknown:0xNN``."""
    return INPUT_NAMES.get(code, f"unknown:0x{code:02X}")


def hexdump(frame: bytes) -> str:
    return frame.hex(" ").upper()


def checksum(body: bytes) -> int:
    """Sum of the bytes after the 0xAA header, modulo 256."""
    return sum(body) & 0xFF


def _check_byte(name: str, value: int) -> None:
    if not 0 <= value <= 0xFF:
        raise InvalidCommand(f"MDC {name} {value} does not fit in one byte (0..255)")


def encode(command: int, display_id: int, data: bytes = b"") -> bytes:
    """One request frame; empty ``data`` is a query ("get")."""
    _check_byte("command", command)
    _check_byte("display id", display_id)
    if len(data) > MAX_DATA:
        raise InvalidCommand(f"MDC data of {len(data)} bytes is longer than 255")
    body = bytes((command, display_id, len(data))) + data
    return bytes((HEADER,)) + body + bytes((checksum(body),))


def encode_power(display_id: int, on: bool | None = None) -> bytes:
    return encode(Command.POWER, display_id, b"" if on is None else bytes((int(on),)))


def encode_volume(display_id: int, level: int | None = None) -> bytes:
    if level is not None and not 0 <= level <= 100:
        raise InvalidCommand(f"MDC volume {level} is outside 0..100")
    return encode(Command.VOLUME, display_id, b"" if level is None else bytes((level,)))


def encode_mute(display_id: int, on: bool | None = None) -> bytes:
    return encode(Command.MUTE, display_id, b"" if on is None else bytes((int(on),)))


def encode_input(display_id: int, source: str | None = None) -> bytes:
    if source is None:
        return encode(Command.INPUT, display_id)
    try:
        code = INPUT_CODES[source]
    except KeyError:
        raise InvalidCommand(
            f"MDC has no input {source!r} (known: {', '.join(sorted(INPUT_CODES))})"
        ) from None
    return encode(Command.INPUT, display_id, bytes((code,)))


def encode_status(display_id: int) -> bytes:
    return encode(Command.STATUS, display_id)


def frame_length(head: bytes) -> int:
    """Total length of the frame whose first four bytes are ``head`` (header, cmd, id, len)."""
    if len(head) < 4:
        raise ProtocolError(f"MDC frame head needs 4 bytes, got {len(head)}: {hexdump(head)}")
    if head[0] != HEADER:
        raise ProtocolError(f"MDC frame must start with 0xAA, got 0x{head[0]:02X} ({hexdump(head)})")
    return MIN_FRAME + head[3]


def _check_frame(frame: bytes, what: str) -> None:
    if len(frame) < MIN_FRAME:
        raise ProtocolError(f"MDC {what} of {len(frame)} bytes is shorter than 5: {hexdump(frame)}")
    expected = frame_length(frame[:4])
    if len(frame) != expected:
        raise ProtocolError(
            f"MDC {what} says {frame[3]} data bytes (frame of {expected}) but has {len(frame)}: "
            f"{hexdump(frame)}"
        )
    want = checksum(frame[1:-1])
    if frame[-1] != want:
        raise ProtocolError(
            f"MDC {what} checksum is 0x{frame[-1]:02X}, the bytes after 0xAA sum to 0x{want:02X}: "
            f"{hexdump(frame)}"
        )


@dataclass(frozen=True)
class Request:
    command: int
    display_id: int
    data: bytes

    @property
    def is_query(self) -> bool:
        return not self.data


def decode_request(frame: bytes) -> Request:
    _check_frame(frame, "request")
    return Request(command=frame[1], display_id=frame[2], data=bytes(frame[4:-1]))


@dataclass(frozen=True)
class Reply:
    display_id: int
    ack: bool
    command: int  # the r-cmd: which command this answers
    values: bytes  # ACK: the values; NAK: one error code

    @property
    def error_code(self) -> int | None:
        return None if self.ack or not self.values else self.values[0]


def decode_reply(frame: bytes) -> Reply:
    _check_frame(frame, "reply")
    if frame[1] != REPLY:
        raise ProtocolError(f"MDC reply must have command 0xFF, got 0x{frame[1]:02X}: {hexdump(frame)}")
    if frame[3] < 2:
        raise ProtocolError(f"MDC reply needs 'A'/'N' and r-cmd, has {frame[3]} data bytes: {hexdump(frame)}")
    if frame[4] not in (ACK, NAK):
        raise ProtocolError(f"MDC reply byte 5 must be 'A' or 'N', got 0x{frame[4]:02X}: {hexdump(frame)}")
    return Reply(display_id=frame[2], ack=frame[4] == ACK, command=frame[5], values=bytes(frame[6:-1]))


def encode_reply(display_id: int, command: int, values: bytes, *, ack: bool = True) -> bytes:
    """ACK (or NAK with ``values`` = error code), as the panel sends it."""
    data = bytes((ACK if ack else NAK, command)) + values
    return encode(REPLY, display_id, data)


def take_frame(buffer: bytearray) -> bytes | None:
    """Cut one complete frame off the front of ``buffer``, dropping noise before a 0xAA.

    Returns None while the frame is incomplete. The frame is not checked: decode it.
    """
    start = buffer.find(HEADER)
    if start < 0:
        buffer.clear()
        return None
    del buffer[:start]
    if len(buffer) < 4:
        return None
    size = frame_length(bytes(buffer[:4]))
    if len(buffer) < size:
        return None
    frame = bytes(buffer[:size])
    del buffer[:size]
    return frame


@dataclass(frozen=True)
class Status:
    """Values of the 0x00 status reply."""

    power: bool
    volume: int
    mute: bool
    input: int
    aspect: int = 0
    n_time_nf: int = 0
    f_time_nf: int = 0

    def encode(self) -> bytes:
        return bytes(
            (
                int(self.power),
                self.volume,
                int(self.mute),
                self.input,
                self.aspect,
                self.n_time_nf,
                self.f_time_nf,
            )
        )


def decode_status(values: bytes) -> Status:
    # Older panels send fewer trailing timer bytes; the first four are what the hub needs.
    if len(values) < 4:
        raise ProtocolError(f"MDC status reply has {len(values)} values, needs at least 4: {hexdump(values)}")
    if values[1] > 100:
        raise ProtocolError(f"MDC status reply has volume {values[1]}, above 100: {hexdump(values)}")
    padded = values[:7].ljust(7, b"\0")
    return Status(
        power=values[0] == 1,
        volume=values[1],
        mute=values[2] == 1,
        input=values[3],
        aspect=padded[4],
        n_time_nf=padded[5],
        f_time_nf=padded[6],
    )
