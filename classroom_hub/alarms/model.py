"""One alarm, whoever raised it: a device the registry watches or a package's own rule (a lab kit)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Severity = Literal["warning", "alarm"]
SEVERITY_ORDER: dict[str, int] = {"warning": 1, "alarm": 2}


@dataclass
class Alarm:
    id: str
    device_id: str  # the device, or the kit (its sensor node) for a lab alarm
    kind: str  # "offline", "low_battery"...; "ph_low", "actuator_pump"... for a lab
    detail: str
    raised_at: float
    severity: Severity = "alarm"
    # Who raises it and decides when it clears: "device" (the registry's rules,
    # classroom_hub/alarms/devices.py) or a package ("lab").
    source: str = "device"
    sensor: str | None = None  # a limit on a sensor: which, the value and the limit crossed
    value: float | None = None
    limit: float | None = None
    cleared_at: float | None = None
    acknowledged_at: float | None = None
    acknowledged_by: str | None = None

    @property
    def active(self) -> bool:
        return self.cleared_at is None

    @property
    def state(self) -> Literal["raised", "acknowledged", "cleared"]:
        return "cleared" if self.cleared_at else "acknowledged" if self.acknowledged_at else "raised"

    @property
    def changed_at(self) -> float:
        return self.cleared_at or self.acknowledged_at or self.raised_at

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "active": self.active}
