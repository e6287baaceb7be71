"""The small async interface every device driver implements.

The hub core never imports a driver by name: it asks ``driver_for(kind)``
(device_drivers/kinds.py, from the kind's declaration) for the class, builds it with
``from_options`` from the device's table in the room file, and sends it commands by name
with ``execute`` (validated against the driver's typed command models, from the kind's
command catalogue).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ValidationError

from classroom_hub.errors import HubError
from classroom_hub.problems import describe


class DriverError(HubError):
    """Base of every error a driver raises on purpose."""

    code = "device_error"
    http_status = 502


class DriverTimeout(DriverError):
    """The device did not answer before the deadline."""

    code = "no_reply"
    http_status = 504


class ProtocolError(DriverError):
    """The device answered with bytes that break its protocol (bad checksum, wrong frame...)."""

    code = "bad_device_reply"
    http_status = 502


class CommandRefused(ProtocolError):
    """The device understood the command and said no (a NAK)."""

    code = "device_refused"
    http_status = 502


class LinkError(DriverError):
    """The serial port or TCP connection could not be opened, or was lost."""

    code = "device_unreachable"
    http_status = 503


class InvalidCommand(DriverError):
    """Unknown command name or parameters that do not fit the command."""

    code = "invalid_command"
    http_status = 400


@dataclass(frozen=True)
class DriverHealth:
    """What the technician console shows for one driver."""

    connected: bool = False
    last_ok: datetime | None = None
    last_error: str | None = None
    commands_ok: int = 0
    commands_failed: int = 0
    reconnects: int = 0

    def after_ok(self) -> DriverHealth:
        return replace(self, last_ok=datetime.now(UTC), commands_ok=self.commands_ok + 1)

    def after_failure(self, error: BaseException) -> DriverHealth:
        return replace(self, last_error=str(error), commands_failed=self.commands_failed + 1)


class Driver(ABC):
    """One device behind one link. ``async with driver:`` starts and stops it."""

    kind: ClassVar[str] = ""
    #: command name -> the pydantic model its parameters must fit
    commands: ClassVar[Mapping[str, type[BaseModel]]] = {}

    @classmethod
    @abstractmethod
    def from_options(cls, device_id: str, options: Mapping[str, Any]) -> Self:
        """Build the driver from the device's table in the room file; DriverError names a bad field."""

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def stop(self) -> None: ...

    @abstractmethod
    def health(self) -> DriverHealth: ...

    @abstractmethod
    async def handle(self, command: BaseModel) -> dict[str, Any]:
        """Run one validated command; the result is JSON-ready."""

    async def execute(self, name: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Run a command given by name, as it arrives from the bus or the technician console."""
        model = self.commands.get(name)
        if model is None:
            known = ", ".join(sorted(self.commands)) or "none"
            raise InvalidCommand(f"{self.kind}: unknown command {name!r} (known: {known})")
        try:
            command = model.model_validate(dict(params or {}))
        except ValidationError as err:
            raise InvalidCommand(f"{self.kind}: command {name!r}: {describe(err, root='value')}") from err
        return await self.handle(command)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()


_DRIVERS: dict[str, type[Driver]] = {}
_KIND_RE = re.compile(r"^[a-z][a-z0-9_]*$")


def register_driver(kind: str) -> Callable[[type[Driver]], type[Driver]]:
    """Class decorator: make ``cls`` the driver of device ``kind``."""
    if not _KIND_RE.match(kind):
        raise ValueError(f"device kind {kind!r} must be lower_snake_case")

    def register(cls: type[Driver]) -> type[Driver]:
        other = _DRIVERS.get(kind)
        if other is not None and other is not cls:
            raise ValueError(f"device kind {kind!r} already has driver {other.__qualname__}")
        cls.kind = kind
        _DRIVERS[kind] = cls
        return cls

    return register
