"""VISCA command and reply codec: pure functions and frozen dataclasses, no I/O.

Byte layouts follow the published command tables (see docs/visca.md for the full list):

- Sony SRG-X400/BRC-X400 Command List, "VISCA Command/ACK Protocol" and "PAN TILT DRIVE"
  (https://easymanua.ls/sony/srg-x400/manual/36555?p=7 and ?p=20): ACK ``90 4z FF``, completion
  ``90 5z FF``, errors ``90 6z ee FF``, ``8x 01 06 01 vv ww pp tt FF`` with pan speed 01-18 and
  tilt speed 01-17, absolute position ``8x 01 06 02 vv ww 0p 0p 0p 0p 0t 0t 0t 0t FF``,
  home ``8x 01 06 04 FF``.
- PTZOptics VISCA Command List rev 1.3, parts 1 and 4
  (https://manualshive.com/en/manual/ptzoptics/eptz-ndi-hx-zcam-g2/1623554?page=11 and ?page=19):
  error codes 02/03/04/05/41, CAM_Power ``8x 01 04 00 02|03 FF``, CAM_Zoom ``8x 01 04 07 00|02|03|2p|3p FF``,
  direct zoom ``8x 01 04 47 0p 0q 0r 0s FF``.
- Sony EVI-D100 Inquiry Command List (https://azmanual.top/manuals/144564/sony-evi-d100.html?page=30):
  Pan-tiltPosInq ``8x 09 06 12 FF`` -> ``y0 50 0w 0w 0w 0w 0z 0z 0z 0z FF``.
- Vaddio RoboSHOT VISCA table (https://manualshive.com/en/manual/vaddio/roboshot-usb-series/3324690?page=78):
  CAM_Memory ``8x 01 04 3F 0a pp FF`` (a: 0 reset, 1 set, 2 recall), CAM_ZoomPosInq ``8x 09 04 47 FF``.
- PTZOptics/Tekvox inquiry list: CAM_PowerInq ``8x 09 04 00 FF`` -> ``y0 50 02 FF`` on,
  ``y0 50 03 FF`` standby.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import ClassVar, Final

from device_drivers.camera.errors import ViscaFormatError

TERMINATOR: Final = 0xFF
MAX_PACKET_SIZE: Final = 16  # header + up to 14 message bytes + terminator
PAN_SPEED_MAX: Final = 0x18
TILT_SPEED_MAX: Final = 0x17
ZOOM_SPEED_MAX: Final = 7
MEMORY_MAX: Final = 0x7F  # data bytes keep their top bit clear so they never look like a header
POSITION_MIN: Final = -0x8000
POSITION_MAX: Final = 0x7FFF
ZOOM_POSITION_MAX: Final = 0xFFFF


def _check_range(what: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ViscaFormatError(f"{what} must be {low}..{high} (0x{low:02X}..0x{high:02X}), got {value}")


def command_header(address: int) -> int:
    """Header byte ``8x`` of a message from the controller (address 0) to camera ``x`` (1-7)."""
    _check_range("camera address", address, 1, 7)
    return 0x80 | address


def reply_header(address: int) -> int:
    """Header byte ``y0`` of a message from camera ``x`` to the controller, with ``y = x + 8``."""
    _check_range("camera address", address, 1, 7)
    return (address + 8) << 4


def to_nibbles(value: int, count: int) -> bytes:
    """``value`` spread over ``count`` bytes of one nibble each, most significant first (``0p 0q 0r 0s``)."""
    return bytes((value >> (4 * (count - 1 - i))) & 0x0F for i in range(count))


def from_nibbles(data: bytes, where: str) -> int:
    value = 0
    for index, byte in enumerate(data):
        if byte > 0x0F:
            raise ViscaFormatError(f"{where}: byte {index} is 0x{byte:02X}, expected a nibble 0x00-0x0F")
        value = value << 4 | byte
    return value


def _signed16(value: int) -> int:
    return value - 0x10000 if value & 0x8000 else value


def _check_frame(packet: bytes, what: str) -> None:
    where = f"{what} {packet.hex(' ')}"
    if len(packet) < 3:
        raise ViscaFormatError(f"{where}: {len(packet)} bytes, a VISCA packet has at least 3")
    if len(packet) > MAX_PACKET_SIZE:
        raise ViscaFormatError(f"{where}: {len(packet)} bytes, longer than {MAX_PACKET_SIZE}")
    if packet[-1] != TERMINATOR:
        raise ViscaFormatError(f"{where}: last byte is 0x{packet[-1]:02X}, not the FF terminator")
    if TERMINATOR in packet[:-1]:
        raise ViscaFormatError(f"{where}: FF terminator inside the packet")


# --------------------------------------------------------------------------------------------- commands


class Direction(StrEnum):
    """Where the head drives; the values are the words the studio page sends."""

    UP = "up"
    DOWN = "down"
    LEFT = "left"
    RIGHT = "right"
    UP_LEFT = "up_left"
    UP_RIGHT = "up_right"
    DOWN_LEFT = "down_left"
    DOWN_RIGHT = "down_right"
    STOP = "stop"


# Last two bytes of Pan-tiltDrive: pan (01 left, 02 right, 03 none), tilt (01 up, 02 down, 03 none).
_DRIVE_CODES: Final[dict[Direction, tuple[int, int]]] = {
    Direction.UP: (0x03, 0x01),
    Direction.DOWN: (0x03, 0x02),
    Direction.LEFT: (0x01, 0x03),
    Direction.RIGHT: (0x02, 0x03),
    Direction.UP_LEFT: (0x01, 0x01),
    Direction.UP_RIGHT: (0x02, 0x01),
    Direction.DOWN_LEFT: (0x01, 0x02),
    Direction.DOWN_RIGHT: (0x02, 0x02),
    Direction.STOP: (0x03, 0x03),
}
_DIRECTION_OF_CODES: Final = {codes: direction for direction, codes in _DRIVE_CODES.items()}


class ZoomDirection(StrEnum):
    TELE = "tele"
    WIDE = "wide"
    STOP = "stop"


class MemoryAction(IntEnum):
    RESET = 0x00
    SET = 0x01
    RECALL = 0x02


class ViscaCommand(ABC):
    """A message from the controller; ``encode`` adds the ``8x`` header and the ``FF`` terminator."""

    inquiry: ClassVar[bool] = False

    @abstractmethod
    def body(self) -> bytes:
        """The bytes between header and terminator."""

    def encode(self, address: int = 1) -> bytes:
        return bytes([command_header(address)]) + self.body() + bytes([TERMINATOR])

    @property
    def name(self) -> str:
        return type(self).__name__


@dataclass(frozen=True)
class PanTiltDrive(ViscaCommand):
    direction: Direction
    pan_speed: int = 1
    tilt_speed: int = 1

    def __post_init__(self) -> None:
        _check_range("pan speed", self.pan_speed, 1, PAN_SPEED_MAX)
        _check_range("tilt speed", self.tilt_speed, 1, TILT_SPEED_MAX)

    def body(self) -> bytes:
        return bytes([0x01, 0x06, 0x01, self.pan_speed, self.tilt_speed, *_DRIVE_CODES[self.direction]])


@dataclass(frozen=True)
class PanTiltAbsolute(ViscaCommand):
    """Move to ``pan``/``tilt`` (signed 16-bit, camera units; Sony: 0x0990 = +170 degrees of pan)."""

    pan: int
    tilt: int
    pan_speed: int = PAN_SPEED_MAX
    tilt_speed: int = TILT_SPEED_MAX

    def __post_init__(self) -> None:
        _check_range("pan position", self.pan, POSITION_MIN, POSITION_MAX)
        _check_range("tilt position", self.tilt, POSITION_MIN, POSITION_MAX)
        _check_range("pan speed", self.pan_speed, 1, PAN_SPEED_MAX)
        _check_range("tilt speed", self.tilt_speed, 1, TILT_SPEED_MAX)

    def body(self) -> bytes:
        return (
            bytes([0x01, 0x06, 0x02, self.pan_speed, self.tilt_speed])
            + to_nibbles(self.pan & 0xFFFF, 4)
            + to_nibbles(self.tilt & 0xFFFF, 4)
        )


@dataclass(frozen=True)
class PanTiltHome(ViscaCommand):
    def body(self) -> bytes:
        return bytes([0x01, 0x06, 0x04])


@dataclass(frozen=True)
class ZoomDrive(ViscaCommand):
    """Zoom tele/wide at the standard speed (``speed=None``) or a variable speed 0 (slow) - 7 (fast)."""

    direction: ZoomDirection
    speed: int | None = None

    def __post_init__(self) -> None:
        if self.speed is not None:
            if self.direction is ZoomDirection.STOP:
                raise ViscaFormatError("zoom stop takes no speed")
            _check_range("zoom speed", self.speed, 0, ZOOM_SPEED_MAX)

    def body(self) -> bytes:
        if self.direction is ZoomDirection.STOP:
            code = 0x00
        elif self.speed is None:
            code = 0x02 if self.direction is ZoomDirection.TELE else 0x03
        else:
            code = (0x20 if self.direction is ZoomDirection.TELE else 0x30) | self.speed
        return bytes([0x01, 0x04, 0x07, code])


@dataclass(frozen=True)
class ZoomDirect(ViscaCommand):
    """Zoom to ``position`` (0 = wide end; the tele end is camera-specific, often 0x4000)."""

    position: int

    def __post_init__(self) -> None:
        _check_range("zoom position", self.position, 0, ZOOM_POSITION_MAX)

    def body(self) -> bytes:
        return bytes([0x01, 0x04, 0x47]) + to_nibbles(self.position, 4)


@dataclass(frozen=True)
class Memory(ViscaCommand):
    """CAM_Memory: reset, set or recall preset ``number``."""

    action: MemoryAction
    number: int

    def __post_init__(self) -> None:
        _check_range("preset number", self.number, 0, MEMORY_MAX)

    def body(self) -> bytes:
        return bytes([0x01, 0x04, 0x3F, self.action, self.number])


@dataclass(frozen=True)
class Power(ViscaCommand):
    on: bool

    def body(self) -> bytes:
        return bytes([0x01, 0x04, 0x00, 0x02 if self.on else 0x03])


@dataclass(frozen=True)
class PanTiltPositionInquiry(ViscaCommand):
    inquiry: ClassVar[bool] = True

    def body(self) -> bytes:
        return bytes([0x09, 0x06, 0x12])


@dataclass(frozen=True)
class ZoomPositionInquiry(ViscaCommand):
    inquiry: ClassVar[bool] = True

    def body(self) -> bytes:
        return bytes([0x09, 0x04, 0x47])


@dataclass(frozen=True)
class PowerInquiry(ViscaCommand):
    inquiry: ClassVar[bool] = True

    def body(self) -> bytes:
        return bytes([0x09, 0x04, 0x00])


def _zoom_drive(code: int) -> ZoomDrive:
    if code == 0x00:
        return ZoomDrive(ZoomDirection.STOP)
    if code in (0x02, 0x03):
        return ZoomDrive(ZoomDirection.TELE if code == 0x02 else ZoomDirection.WIDE)
    if code & 0xF0 in (0x20, 0x30) and code & 0x0F <= ZOOM_SPEED_MAX:
        return ZoomDrive(ZoomDirection.TELE if code & 0xF0 == 0x20 else ZoomDirection.WIDE, code & 0x0F)
    raise ViscaFormatError(f"CAM_Zoom: unknown zoom code 0x{code:02X}")


def parse_command(packet: bytes) -> tuple[int, ViscaCommand]:
    """``(camera address, command)`` of a controller message; ViscaFormatError for anything unsupported."""
    _check_frame(packet, "command")
    header = packet[0]
    if not 0x81 <= header <= 0x87:
        raise ViscaFormatError(f"command {packet.hex(' ')}: header 0x{header:02X} is not 81-87")
    address = header & 0x07
    body = packet[1:-1]
    match tuple(body):
        case (0x01, 0x06, 0x01, pan_speed, tilt_speed, pan_code, tilt_code):
            direction = _DIRECTION_OF_CODES.get((pan_code, tilt_code))
            if direction is None:
                raise ViscaFormatError(f"Pan-tiltDrive {packet.hex(' ')}: unknown direction bytes")
            return address, PanTiltDrive(direction, pan_speed, tilt_speed)
        case (0x01, 0x06, 0x02, pan_speed, tilt_speed, *position) if len(position) == 8:
            pan = _signed16(from_nibbles(bytes(position[:4]), "absolute pan"))
            tilt = _signed16(from_nibbles(bytes(position[4:]), "absolute tilt"))
            return address, PanTiltAbsolute(pan, tilt, pan_speed, tilt_speed)
        case (0x01, 0x06, 0x04):
            return address, PanTiltHome()
        case (0x01, 0x04, 0x07, code):
            return address, _zoom_drive(code)
        case (0x01, 0x04, 0x47, *position) if len(position) == 4:
            return address, ZoomDirect(from_nibbles(bytes(position), "zoom position"))
        case (0x01, 0x04, 0x3F, 0x00 | 0x01 | 0x02 as action, number):
            return address, Memory(MemoryAction(action), number)
        case (0x01, 0x04, 0x00, 0x02 | 0x03 as state):
            return address, Power(state == 0x02)
        case (0x09, 0x06, 0x12):
            return address, PanTiltPositionInquiry()
        case (0x09, 0x04, 0x47):
            return address, ZoomPositionInquiry()
        case (0x09, 0x04, 0x00):
            return address, PowerInquiry()
    raise ViscaFormatError(f"command {packet.hex(' ')}: not a command this codec knows")


# ---------------------------------------------------------------------------------------------- replies


class ErrorCode(IntEnum):
    MESSAGE_LENGTH = 0x01
    SYNTAX = 0x02
    BUFFER_FULL = 0x03
    CANCELLED = 0x04
    NO_SOCKET = 0x05
    NOT_EXECUTABLE = 0x41


_ERROR_MEANINGS: Final[dict[int, str]] = {
    ErrorCode.MESSAGE_LENGTH: "message length error",
    ErrorCode.SYNTAX: "syntax error",
    ErrorCode.BUFFER_FULL: "command buffer full",
    ErrorCode.CANCELLED: "command cancelled",
    ErrorCode.NO_SOCKET: "no socket (nothing to cancel)",
    ErrorCode.NOT_EXECUTABLE: "command not executable",
}


def error_meaning(code: int) -> str:
    return _ERROR_MEANINGS.get(code, f"unknown error 0x{code:02X}")


@dataclass(frozen=True)
class Ack:
    """``y0 4z FF``: the command was accepted into socket ``z``."""

    address: int
    socket: int

    def encode(self) -> bytes:
        return bytes([reply_header(self.address), 0x40 | self.socket, TERMINATOR])


@dataclass(frozen=True)
class Completion:
    """``y0 5z ... FF``: command ``z`` finished, or an inquiry's answer (socket 0) with its ``data``."""

    address: int
    socket: int
    data: bytes = b""

    def encode(self) -> bytes:
        return bytes([reply_header(self.address), 0x50 | self.socket]) + self.data + bytes([TERMINATOR])


@dataclass(frozen=True)
class ErrorReply:
    """``y0 6z ee FF``: the command in socket ``z`` (0 when none was taken) failed with ``code``."""

    address: int
    socket: int
    code: int

    @property
    def meaning(self) -> str:
        return error_meaning(self.code)

    def encode(self) -> bytes:
        return bytes([reply_header(self.address), 0x60 | self.socket, self.code, TERMINATOR])


Reply = Ack | Completion | ErrorReply


def parse_reply(packet: bytes) -> Reply:
    _check_frame(packet, "reply")
    header = packet[0]
    if header & 0x0F or not 0x90 <= header <= 0xF0:
        raise ViscaFormatError(f"reply {packet.hex(' ')}: header 0x{header:02X} is not y0 with y = 9-F")
    address = (header >> 4) - 8
    kind, socket = packet[1] >> 4, packet[1] & 0x0F
    if kind == 0x4 and len(packet) == 3:
        return Ack(address, socket)
    if kind == 0x5:
        return Completion(address, socket, bytes(packet[2:-1]))
    if kind == 0x6 and len(packet) == 4:
        return ErrorReply(address, socket, packet[2])
    raise ViscaFormatError(f"reply {packet.hex(' ')}: not an ACK, completion or error message")


# ------------------------------------------------------------------------------------ inquiry answers


class PowerState(IntEnum):
    ON = 0x02
    STANDBY = 0x03
    FAULT = 0x04  # "internal power circuit error" on some PTZOptics-family heads


def pan_tilt_position_answer(address: int, pan: int, tilt: int) -> Completion:
    _check_range("pan position", pan, POSITION_MIN, POSITION_MAX)
    _check_range("tilt position", tilt, POSITION_MIN, POSITION_MAX)
    return Completion(address, 0, to_nibbles(pan & 0xFFFF, 4) + to_nibbles(tilt & 0xFFFF, 4))


def decode_pan_tilt_position(answer: Completion) -> tuple[int, int]:
    if len(answer.data) != 8:
        raise ViscaFormatError(f"Pan-tiltPosInq answer has {len(answer.data)} data bytes, expected 8")
    return (
        _signed16(from_nibbles(answer.data[:4], "pan position")),
        _signed16(from_nibbles(answer.data[4:], "tilt position")),
    )


def zoom_position_answer(address: int, zoom: int) -> Completion:
    _check_range("zoom position", zoom, 0, ZOOM_POSITION_MAX)
    return Completion(address, 0, to_nibbles(zoom, 4))


def decode_zoom_position(answer: Completion) -> int:
    if len(answer.data) != 4:
        raise ViscaFormatError(f"CAM_ZoomPosInq answer has {len(answer.data)} data bytes, expected 4")
    return from_nibbles(answer.data, "zoom position")


def power_answer(address: int, state: PowerState) -> Completion:
    return Completion(address, 0, bytes([state]))


def decode_power_state(answer: Completion) -> PowerState:
    if len(answer.data) != 1 or answer.data[0] not in (0x02, 0x03, 0x04):
        raise ViscaFormatError(f"CAM_PowerInq answer {answer.data.hex(' ')}: expected 02, 03 or 04")
    return PowerState(answer.data[0])


# ---------------------------------------------------------------------------------------------- framing


class PacketSplitter:
    """Cuts an RS-232 byte stream into packets at each ``FF``; over-long runs are dropped whole."""

    def __init__(self, max_size: int = MAX_PACKET_SIZE) -> None:
        self._max_size = max_size
        self._buffer = bytearray()
        self._skipping = False
        self.dropped_bytes = 0

    def feed(self, data: bytes) -> list[bytes]:
        packets: list[bytes] = []
        for byte in data:
            if self._skipping:
                self.dropped_bytes += 1
                self._skipping = byte != TERMINATOR
                continue
            self._buffer.append(byte)
            if byte == TERMINATOR:
                packets.append(bytes(self._buffer))
                self._buffer.clear()
            elif len(self._buffer) >= self._max_size:
                # No terminator where one must be: throw the run away up to the next FF.
                self.dropped_bytes += len(self._buffer)
                self._buffer.clear()
                self._skipping = True
        return packets
