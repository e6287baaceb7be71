"""The mechanics and VISCA answers of a simulated PTZ camera: no I/O, time read from a clock.

Positions are in Sony units: 14.4 per degree (0x0990 = +170 degrees of pan), so the head pans
-170..+170 degrees, tilts -30..+90 degrees and zooms 0 (wide) .. 0x4000 (tele, 12x optical).
Driving moves an axis at a rate proportional to the VISCA speed byte; the position is worked out
from the time the drive started whenever someone asks, so no background task is needed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from device_drivers.camera.errors import ViscaFormatError
from device_drivers.camera.visca import (
    MAX_PACKET_SIZE,
    Ack,
    Completion,
    Direction,
    ErrorCode,
    ErrorReply,
    Memory,
    MemoryAction,
    PanTiltAbsolute,
    PanTiltDrive,
    PanTiltHome,
    PanTiltPositionInquiry,
    Power,
    PowerInquiry,
    PowerState,
    ViscaCommand,
    ZoomDirect,
    ZoomDirection,
    ZoomDrive,
    ZoomPositionInquiry,
    pan_tilt_position_answer,
    parse_command,
    power_answer,
    zoom_position_answer,
)

UNITS_PER_DEGREE: Final = 14.4
PAN_LIMITS: Final = (-2448.0, 2448.0)
TILT_LIMITS: Final = (-432.0, 1296.0)
ZOOM_LIMITS: Final = (0.0, float(0x4000))
PAN_TILT_RATE_PER_STEP: Final = 30.0  # units per second per speed step: speed 0x18 = 50 degrees/s
ZOOM_RATE_STANDARD: Final = 4096.0  # units per second: wide to tele in 4 s
ZOOM_RATE_PER_STEP: Final = 1024.0  # variable speed p moves (p + 1) * this per second
WIDE_FIELD_OF_VIEW: Final = 60.0  # horizontal degrees at the wide end
OPTICAL_ZOOM: Final = 12.0
ASPECT: Final = 16 / 9

# Sign of the pan and tilt rate for each drive direction (pan right and tilt up are positive).
_DRIVE_SIGNS: Final = {
    Direction.UP: (0, 1),
    Direction.DOWN: (0, -1),
    Direction.LEFT: (-1, 0),
    Direction.RIGHT: (1, 0),
    Direction.UP_LEFT: (-1, 1),
    Direction.UP_RIGHT: (1, 1),
    Direction.DOWN_LEFT: (-1, -1),
    Direction.DOWN_RIGHT: (1, -1),
    Direction.STOP: (0, 0),
}


@dataclass
class _Axis:
    low: float
    high: float
    value: float = 0.0
    rate: float = 0.0
    since: float = 0.0

    def at(self, now: float) -> float:
        return min(max(self.value + self.rate * (now - self.since), self.low), self.high)

    def drive(self, rate: float, now: float) -> None:
        self.value, self.rate, self.since = self.at(now), rate, now

    def put(self, value: float, now: float) -> None:
        self.value, self.rate, self.since = min(max(value, self.low), self.high), 0.0, now


@dataclass(frozen=True)
class ViewRect:
    """What the camera sees: centre and size in degrees around the camera (the seam for the picture)."""

    pan_deg: float
    tilt_deg: float
    width_deg: float
    height_deg: float


@dataclass(frozen=True)
class _Preset:
    pan: float
    tilt: float
    zoom: float


@dataclass
class SimulatedHead:
    address: int = 1
    clock: Callable[[], float] = time.monotonic
    powered: bool = True
    presets: dict[int, _Preset] = field(default_factory=dict)
    executed: list[ViscaCommand] = field(default_factory=list)
    # A head that ACKs a command and never reports it complete (a jammed motor, a firmware that
    # hangs mid-move): its two sockets stay taken, and later commands get "buffer full".
    completes: bool = True

    def __post_init__(self) -> None:
        now = self.clock()
        self._pan = _Axis(*PAN_LIMITS, since=now)
        self._tilt = _Axis(*TILT_LIMITS, since=now)
        self._zoom = _Axis(*ZOOM_LIMITS, since=now)
        self._last_socket = 2
        self._stuck: set[int] = set()  # sockets of commands that never complete

    def position(self) -> tuple[int, int, int]:
        now = self.clock()
        return round(self._pan.at(now)), round(self._tilt.at(now)), round(self._zoom.at(now))

    def view(self) -> ViewRect:
        now = self.clock()
        magnification = 1 + (OPTICAL_ZOOM - 1) * self._zoom.at(now) / ZOOM_LIMITS[1]
        width = WIDE_FIELD_OF_VIEW / magnification
        return ViewRect(
            self._pan.at(now) / UNITS_PER_DEGREE, self._tilt.at(now) / UNITS_PER_DEGREE, width, width / ASPECT
        )

    def handle(self, packet: bytes) -> list[bytes]:
        """The reply packets, in order, that a camera sends for one received packet."""
        if len(packet) > MAX_PACKET_SIZE:
            return [ErrorReply(self.address, 0, ErrorCode.MESSAGE_LENGTH).encode()]
        try:
            address, command = parse_command(packet)
        except ViscaFormatError:
            return [ErrorReply(self.address, 0, ErrorCode.SYNTAX).encode()]
        if address != self.address:
            return []
        if command.inquiry:
            return [self._answer(command).encode()]
        socket = 1 if self._last_socket == 2 else 2
        if not self.powered and not isinstance(command, Power):
            # In standby a head takes only power-on and inquiries.
            return [ErrorReply(self.address, socket, ErrorCode.NOT_EXECUTABLE).encode()]
        if not self.completes:
            if len(self._stuck) == 2:
                return [ErrorReply(self.address, 0, ErrorCode.BUFFER_FULL).encode()]
            socket = 1 if 1 not in self._stuck else 2
            self._stuck.add(socket)
            self._last_socket = socket
            self.executed.append(command)
            return [Ack(self.address, socket).encode()]
        self._last_socket = socket
        self._execute(command, self.clock())
        self.executed.append(command)
        return [Ack(self.address, socket).encode(), Completion(self.address, socket).encode()]

    def _answer(self, inquiry: ViscaCommand) -> Completion:
        pan, tilt, zoom = self.position()
        match inquiry:
            case PanTiltPositionInquiry():
                return pan_tilt_position_answer(self.address, pan, tilt)
            case ZoomPositionInquiry():
                return zoom_position_answer(self.address, zoom)
            case PowerInquiry():
                return power_answer(self.address, PowerState.ON if self.powered else PowerState.STANDBY)
        raise AssertionError(f"inquiry {inquiry!r} parsed but not answered")

    def _execute(self, command: ViscaCommand, now: float) -> None:
        match command:
            case PanTiltDrive(direction=direction, pan_speed=pan_speed, tilt_speed=tilt_speed):
                pan_sign, tilt_sign = _DRIVE_SIGNS[direction]
                self._pan.drive(pan_sign * pan_speed * PAN_TILT_RATE_PER_STEP, now)
                self._tilt.drive(tilt_sign * tilt_speed * PAN_TILT_RATE_PER_STEP, now)
            case PanTiltAbsolute(pan=pan, tilt=tilt):
                self._pan.put(pan, now)
                self._tilt.put(tilt, now)
            case PanTiltHome():
                self._pan.put(0, now)
                self._tilt.put(0, now)
            case ZoomDrive(direction=ZoomDirection.STOP):
                self._zoom.drive(0, now)
            case ZoomDrive(direction=direction, speed=speed):
                rate = ZOOM_RATE_STANDARD if speed is None else (speed + 1) * ZOOM_RATE_PER_STEP
                self._zoom.drive(rate if direction is ZoomDirection.TELE else -rate, now)
            case ZoomDirect(position=position):
                self._zoom.put(position, now)
            case Memory(action=MemoryAction.SET, number=number):
                self.presets[number] = _Preset(self._pan.at(now), self._tilt.at(now), self._zoom.at(now))
            case Memory(action=MemoryAction.RECALL, number=number):
                # An empty preset behaves like the factory default: home, wide.
                preset = self.presets.get(number, _Preset(0, 0, 0))
                self._pan.put(preset.pan, now)
                self._tilt.put(preset.tilt, now)
                self._zoom.put(preset.zoom, now)
            case Memory(action=MemoryAction.RESET, number=number):
                self.presets.pop(number, None)
            case Power(on=on):
                if not on:
                    for axis in (self._pan, self._tilt, self._zoom):
                        axis.drive(0, now)
                self.powered = on


# How a simulated head departs from the happy path (docs/visca.md, "Simulator"): by name, for tests,
# benches and the studio's synthetic cameras.
HEAD_PROFILES: Final[dict[str, bool]] = {  # name -> does the head complete its commands
    "reference": True,  # ACK then completion for every command, as the command lists show
    "acks_never_completes": False,
}


def head_with_profile(profile: str, *, address: int = 1) -> SimulatedHead:
    try:
        completes = HEAD_PROFILES[profile]
    except KeyError:
        raise ValueError(f"no camera profile {profile!r} (known: {', '.join(HEAD_PROFILES)})") from None
    return SimulatedHead(address=address, completes=completes)
