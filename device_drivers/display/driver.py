"""The 86" interactive display: power, input, volume, mute and status over RS-232 or TCP.

Registered as device kind ``display``. The protocol (Samsung MDC or an ASCII panel table
such as ``viewsonic``) and the transport come from the device's table in the room file.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Annotated, Any, ClassVar, Literal, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from classroom_hub.problems import describe
from device_drivers.base import (
    CommandRefused,
    Driver,
    DriverError,
    DriverHealth,
    InvalidCommand,
    ProtocolError,
    register_driver,
)
from device_drivers.commands import models
from device_drivers.display.commands import (
    CATALOGUE,
    InputCommand,
    MuteCommand,
    PowerCommand,
    StatusQuery,
    VolumeCommand,
)
from device_drivers.display.link import Endpoint, Link, SerialEndpoint, TcpEndpoint
from device_drivers.display.protocols import (
    DisplayStatus,
    Exchange,
    PanelProtocol,
    protocol_for,
    protocol_names,
)

log = logging.getLogger(__name__)
T = TypeVar("T")


# --- configuration -----------------------------------------------------------------------
# The room file's schema (config/) rejects typos; here unknown keys such as ``id`` or
# ``size_inch`` are simply not ours.


class _Options(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class SerialOptions(_Options):
    type: Literal["serial"]
    port: str = Field(min_length=1, description="e.g. /dev/ttyUSB0 or /dev/serial/by-id/...")
    baudrate: int | None = Field(None, gt=0, description="None: the protocol's default (9600)")


class TcpOptions(_Options):
    type: Literal["tcp"]
    host: str = Field(min_length=1)
    port: int | None = Field(None, gt=0, lt=65536, description="None: 1515 for MDC, 5000 for ViewSonic")


class DisplayConfig(_Options):
    protocol: str = "samsung_mdc"
    display_id: int = 1
    transport: Annotated[SerialOptions | TcpOptions, Field(discriminator="type")]
    timeout_s: float = Field(2.0, gt=0, le=30, description="per request, and to connect")

    @model_validator(mode="after")
    def _known_protocol_and_id(self) -> DisplayConfig:
        if self.protocol not in protocol_names():
            raise ValueError(f"protocol {self.protocol!r} is not one of {', '.join(protocol_names())}")
        low, high = protocol_for(self.protocol).display_ids
        if not low <= self.display_id <= high:
            raise ValueError(f"display_id {self.display_id} is outside {low}..{high} for {self.protocol}")
        return self


@register_driver("display")
class DisplayDriver(Driver):
    commands: ClassVar[Mapping[str, type[BaseModel]]] = models(CATALOGUE)

    def __init__(self, device_id: str, config: DisplayConfig) -> None:
        self.device_id = device_id
        self.config = config
        self.protocol: PanelProtocol = protocol_for(config.protocol)
        self._link = Link(self._endpoint(), self.protocol.read_frame, timeout=config.timeout_s)
        self._health = DriverHealth()
        self._running = False

    def _endpoint(self) -> Endpoint:
        t = self.config.transport
        if isinstance(t, TcpOptions):
            return TcpEndpoint(t.host, t.port or self.protocol.tcp_port)
        return SerialEndpoint(t.port, t.baudrate or self.protocol.baudrate)

    @classmethod
    def from_options(cls, device_id: str, options: Mapping[str, Any]) -> Self:
        try:
            config = DisplayConfig.model_validate(dict(options))
        except ValidationError as err:
            raise DriverError(f"display {device_id}: {describe(err, root='value')}") from err
        return cls(device_id, config)

    async def start(self) -> None:
        """Connect now if the display is there; if not, the first command tries again."""
        self._running = True
        try:
            await self._link.open()
        except DriverError as err:
            self._health = replace(self._health, last_error=str(err))
            log.warning(
                "display %s: not reachable at start (%s); retrying on next command", self.device_id, err
            )

    async def stop(self) -> None:
        self._running = False
        await self._link.close()

    def health(self) -> DriverHealth:
        return replace(self._health, connected=self._link.is_open, reconnects=max(0, self._link.opens - 1))

    async def _run(self, what: str, operation: Callable[[Exchange, int], Awaitable[T]]) -> T:
        if not self._running:
            raise DriverError(f"display {self.device_id}: driver is stopped")
        try:
            result = await operation(self._link.exchange, self.config.display_id)
        except InvalidCommand:
            raise  # the caller's mistake, not the display's
        except DriverError as err:
            if isinstance(err, ProtocolError) and not isinstance(err, CommandRefused):
                await self._link.close()  # out of step with the panel: start clean next time
            self._health = self._health.after_failure(err)
            log.warning("display %s: %s failed: %s", self.device_id, what, err)
            raise
        self._health = self._health.after_ok()
        return result

    async def power_on(self) -> None:
        await self._run("power on", lambda ex, i: self.protocol.set_power(ex, i, True))

    async def power_off(self) -> None:
        await self._run("power off", lambda ex, i: self.protocol.set_power(ex, i, False))

    async def set_input(self, source: str) -> None:
        self.protocol.check_input(source)
        await self._run(f"input {source}", lambda ex, i: self.protocol.set_input(ex, i, source))

    async def set_volume(self, level: int) -> None:
        if not 0 <= level <= 100:
            raise InvalidCommand(f"display {self.device_id}: volume {level} is outside 0..100")
        await self._run(f"volume {level}", lambda ex, i: self.protocol.set_volume(ex, i, level))

    async def set_mute(self, on: bool) -> None:
        await self._run(f"mute {'on' if on else 'off'}", lambda ex, i: self.protocol.set_mute(ex, i, on))

    async def status(self) -> DisplayStatus:
        return await self._run("status", self.protocol.status)

    async def handle(self, command: BaseModel) -> dict[str, Any]:
        match command:
            case PowerCommand(on=on):
                await (self.power_on() if on else self.power_off())
                return {"power": on}
            case InputCommand(source=source):
                await self.set_input(source)
                return {"input": source}
            case VolumeCommand(level=level):
                await self.set_volume(level)
                return {"volume": level}
            case MuteCommand(on=on):
                await self.set_mute(on)
                return {"mute": on}
            case StatusQuery():
                return (await self.status()).as_dict()
        raise InvalidCommand(f"display: no handler for {type(command).__name__}")
