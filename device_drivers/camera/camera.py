"""A studio PTZ camera driven over VISCA, on RS-232 or VISCA over IP.

    async with PtzCamera.over_ip("127.0.0.1", port) as camera:
        await camera.drive(Direction.LEFT, pan_speed=8, tilt_speed=8)
        await camera.stop()
        pan, tilt, zoom = await camera.position()

The camera object is reusable (open again after closing) but not re-entrant.
"""

from __future__ import annotations

from types import TracebackType
from typing import NamedTuple, Self

from device_drivers.camera.link import Timeouts, ViscaLink
from device_drivers.camera.serial_link import SerialLink
from device_drivers.camera.udp_link import UdpLink
from device_drivers.camera.visca import (
    Completion,
    Direction,
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
    decode_pan_tilt_position,
    decode_power_state,
    decode_zoom_position,
)
from device_drivers.camera.visca_ip import PORT


class PtzPosition(NamedTuple):
    """Where the head points, in the camera's own units (Sony: 0x0990 = 170 degrees of pan)."""

    pan: int
    tilt: int
    zoom: int


class PtzCamera:
    def __init__(self, link: ViscaLink, *, address: int = 1) -> None:
        self.link = link
        self.address = address

    @classmethod
    def over_serial(
        cls, port: str, *, baudrate: int = 9600, address: int = 1, timeouts: Timeouts | None = None
    ) -> PtzCamera:
        return cls(SerialLink(port, baudrate=baudrate, timeouts=timeouts), address=address)

    @classmethod
    def over_ip(cls, host: str, port: int = PORT, *, timeouts: Timeouts | None = None) -> PtzCamera:
        # VISCA over IP locks the camera address to 1; the IP address picks the camera.
        return cls(UdpLink(host, port, timeouts=timeouts), address=1)

    async def __aenter__(self) -> Self:
        await self.link.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.link.close()

    async def send(self, command: ViscaCommand) -> Completion | None:
        """Any command or inquiry of the codec; inquiries return their answer."""
        packet = command.encode(self.address)
        if command.inquiry:
            return await self.link.inquire(packet, name=command.name)
        await self.link.command(packet, name=command.name)
        return None

    async def send_raw(self, packet: bytes, *, inquiry: bool = False) -> Completion | None:
        """A packet the codec does not model (a technician's console); still ACK/completion-checked."""
        name = f"raw {packet.hex(' ')}"
        if inquiry:
            return await self.link.inquire(packet, name=name)
        await self.link.command(packet, name=name)
        return None

    async def drive(self, direction: Direction, pan_speed: int = 8, tilt_speed: int = 8) -> None:
        """Start moving (pan speed 1-0x18, tilt speed 1-0x17); the head keeps going until ``stop``."""
        await self.send(PanTiltDrive(direction, pan_speed, tilt_speed))

    async def stop(self) -> None:
        await self.send(PanTiltDrive(Direction.STOP))

    async def move_to(self, pan: int, tilt: int, *, pan_speed: int = 0x18, tilt_speed: int = 0x17) -> None:
        await self.send(PanTiltAbsolute(pan, tilt, pan_speed, tilt_speed))

    async def home(self) -> None:
        await self.send(PanTiltHome())

    async def zoom(self, direction: ZoomDirection, speed: int | None = None) -> None:
        """Zoom tele/wide at the standard speed, or at ``speed`` 0 (slow) - 7 (fast); STOP stops."""
        await self.send(ZoomDrive(direction, speed))

    async def zoom_to(self, position: int) -> None:
        await self.send(ZoomDirect(position))

    async def preset_set(self, number: int) -> None:
        await self.send(Memory(MemoryAction.SET, number))

    async def preset_recall(self, number: int) -> None:
        await self.send(Memory(MemoryAction.RECALL, number))

    async def preset_reset(self, number: int) -> None:
        await self.send(Memory(MemoryAction.RESET, number))

    async def power(self, on: bool) -> None:
        await self.send(Power(on))

    async def position(self) -> PtzPosition:
        pan, tilt = decode_pan_tilt_position(await self._inquire(PanTiltPositionInquiry()))
        zoom = decode_zoom_position(await self._inquire(ZoomPositionInquiry()))
        return PtzPosition(pan, tilt, zoom)

    async def power_state(self) -> PowerState:
        return decode_power_state(await self._inquire(PowerInquiry()))

    async def _inquire(self, inquiry: ViscaCommand) -> Completion:
        return await self.link.inquire(inquiry.encode(self.address), name=inquiry.name)
