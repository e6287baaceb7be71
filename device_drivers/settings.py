"""What every device of the room file has: id (or a template of ids), name, transport, group.

Each device kind's own model (``device_drivers/<kind>/settings.py``) subclasses
:class:`DeviceBase` with ``kind: Literal["<kind>"]`` and its own fields; the room's model
(``config/settings.py``) accepts any declared kind, told apart by ``kind``.
"""

from __future__ import annotations

import re
import string
from typing import Annotated, Literal

from pydantic import Field, SecretStr, model_validator

from config.options import ID_PATTERN, ID_RE, Option


class MqttTransport(Option):
    type: Literal["mqtt"] = "mqtt"
    username: str | None = None
    password: SecretStr | None = None


class SerialTransport(Option):
    type: Literal["serial"] = "serial"
    port: str | None = Field(None, description="device path, e.g. /dev/ttyUSB0; None: find by USB id")
    baudrate: int = Field(115200, gt=0)
    usb_vid: int | None = Field(None, ge=0, le=0xFFFF)
    usb_pid: int | None = Field(None, ge=0, le=0xFFFF)

    @model_validator(mode="after")
    def _port_or_usb_id(self) -> SerialTransport:
        if self.port is None and self.usb_vid is None:
            raise ValueError("give either 'port' (e.g. /dev/ttyUSB0) or 'usb_vid'/'usb_pid' to find the board")
        return self


class TcpTransport(Option):
    type: Literal["tcp"] = "tcp"
    host: str
    port: int = Field(gt=0, lt=65536)


class UdpTransport(Option):
    type: Literal["udp"] = "udp"
    host: str
    port: int = Field(gt=0, lt=65536)


Transport = Annotated[MqttTransport | SerialTransport | TcpTransport | UdpTransport, Field(discriminator="type")]
TRANSPORTS: tuple[str, ...] = ("mqtt", "serial", "tcp", "udp")
_NUMBER_SPEC = re.compile(r"^0?[0-9]?d?$")  # the "02d" of T{:02d}


class DeviceBase(Option):
    """Fields every device has. ``count`` > 1 expands to ``count`` devices whose ids come
    from ``id`` as a format template (``T{:02d}`` -> T01..T40), so a room file does not
    list 40 tablets one by one."""

    kind: str
    id: str
    name: str | None = None
    count: int = Field(1, ge=1, le=500)
    transport: Transport = Field(default_factory=MqttTransport)
    heartbeat_timeout_s: float = Field(90.0, gt=0, description="silent this long -> offline")
    group: str | None = None

    @model_validator(mode="after")
    def _id_shape(self) -> DeviceBase:
        if self.count == 1:
            if not ID_RE.match(self.id):
                raise ValueError(f"id {self.id!r} must match {ID_PATTERN}")
        else:
            try:
                # Only the number itself, as {} or {:02d}: "{0.x}" or "{0[0]}" would raise what
                # pydantic does not report, and "{:>999999999}" would allocate a gigabyte.
                for _, name, spec, conversion in string.Formatter().parse(self.id):
                    if name is not None and (name not in ("", "0") or conversion or not _NUMBER_SPEC.match(spec or "")):
                        field = name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
                        raise ValueError(f"{{{field}}} is not the number")
                sample = self.id.format(self.count)
            except (IndexError, KeyError, ValueError) as err:
                raise ValueError(f"with count={self.count}, id must be a template such as 'T{{:02d}}' ({err})") from err
            if sample == self.id or not ID_RE.match(sample):
                raise ValueError(f"with count={self.count}, id {self.id!r} must be a template like 'T{{:02d}}'")
        return self


def expand_ids(device: DeviceBase) -> list[str]:
    if device.count == 1:
        return [device.id]
    return [device.id.format(n) for n in range(1, device.count + 1)]
