"""Every MQTT payload of the room's topic tree, in one place (see docs/protocol.md).

Payloads are UTF-8 JSON objects. Times are Unix seconds (float), which the smallest
microcontroller can produce. Device-to-hub models tolerate extra fields (a newer agent
must not be cut off by an older hub) but reject impossible values.
"""

from __future__ import annotations

import math
import sys
import time
import uuid
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, field_validator

KEY_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"
# 2020-01-01 .. 2100-01-01: a device clock outside this range has not been set.
_MIN_TS, _MAX_TS = 1_577_836_800.0, 4_102_444_800.0


def _plausible_ts(value: float | None) -> float | None:
    if value is not None and not (_MIN_TS <= value <= _MAX_TS):
        raise ValueError(f"timestamp {value} is not a Unix time between 2020 and 2100 (is the device clock set?)")
    return value


_MAX_INT = int(sys.float_info.max)


def _finite_json(value: Any) -> Any:
    """Free-form JSON from a device goes to the store, the central database (jsonb) and the
    pages' ``JSON.parse``, none of which takes NaN, Infinity or a number beyond a double
    (``1e400``); pydantic's JSON parser lets all three through."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, dict):
            stack.extend((f"{where}.{key}" if where else str(key), child) for key, child in item.items())
        elif isinstance(item, list):
            stack.extend((f"{where}[{index}]", child) for index, child in enumerate(item))
        elif isinstance(item, float) and not math.isfinite(item):
            raise ValueError(f"{item} is not a number JSON allows{_at(where)}")
        elif isinstance(item, int) and abs(item) > _MAX_INT:
            raise ValueError(f"a {item.bit_length()}-bit integer is beyond any double{_at(where)}")
    return value


def _at(where: str) -> str:
    return f" (at {where})" if where else ""


FiniteJson = Annotated[Any, AfterValidator(_finite_json)]


class FromDevice(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    __pydantic_extra__: dict[str, FiniteJson]


class DeviceStatus(FromDevice):
    """Retained on ``.../status``; the device also sets ``{"state": "offline"}`` as its last will."""

    state: Literal["online", "offline"]
    ts: float | None = None
    kind: str | None = None
    firmware: str | None = Field(None, max_length=64)
    battery: float | None = Field(None, ge=0, le=100, description="percent")
    charging: bool | None = None
    rssi: int | None = Field(None, ge=-120, le=0, description="Wi-Fi signal, dBm")
    temperature: float | None = Field(None, ge=-40, le=120, description="device temperature, °C")
    error: str | None = Field(None, max_length=500)

    _ts = field_validator("ts")(_plausible_ts)


class Reading(FromDevice):
    key: str = Field(pattern=KEY_PATTERN)
    value: float
    unit: str | None = Field(None, max_length=16)
    ts: float | None = None

    _ts = field_validator("ts")(_plausible_ts)

    @field_validator("value")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("value must be a finite number")
        return v


class Telemetry(FromDevice):
    """On ``.../telemetry`` (QoS 1): one or more readings; a reading without ``ts`` takes the message's."""

    ts: float | None = None
    readings: list[Reading] = Field(min_length=1, max_length=1000)

    _ts = field_validator("ts")(_plausible_ts)


class DeviceEvent(FromDevice):
    """On ``.../event``: something happened (button, alarm, app crash, ...)."""

    type: str = Field(pattern=KEY_PATTERN)
    ts: float | None = None
    data: dict[str, FiniteJson] = Field(default_factory=dict)

    _ts = field_validator("ts")(_plausible_ts)


class Command(BaseModel):
    """Hub -> device on ``.../cmd`` (QoS 1). The device answers on ``.../reply`` with the same id
    and must ignore a command whose ``expires_at`` has passed (a command queued while the device
    was away must not move a robot minutes later)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    name: str = Field(pattern=KEY_PATTERN)
    args: dict[str, FiniteJson] = Field(default_factory=dict)
    sent_at: float = Field(default_factory=time.time, allow_inf_nan=False)
    expires_at: float = Field(allow_inf_nan=False)  # NaN or Infinity would never expire


class Reply(FromDevice):
    """Device -> hub on ``.../reply``."""

    id: str = Field(min_length=1, max_length=64)
    ok: bool
    result: dict[str, FiniteJson] | None = None
    error: str | None = Field(None, max_length=500)
    ts: float | None = Field(None, allow_inf_nan=False)


class HubStatus(BaseModel):
    """Retained on ``classroom/{room}/hub/status``; the hub's last will says offline."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    state: Literal["online", "offline"]
    ts: float | None = None
    version: str | None = None


# Compiled once: validate_json on these is the hot path of telemetry ingest.
TELEMETRY = TypeAdapter(Telemetry)
STATUS = TypeAdapter(DeviceStatus)
EVENT = TypeAdapter(DeviceEvent)
REPLY = TypeAdapter(Reply)
COMMAND = TypeAdapter(Command)
