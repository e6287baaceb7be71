"""Which devices a group command goes to: all of a kind, a group from the room file, or a list."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, model_validator

from classroom_hub.registry import DeviceRegistry
from config.settings import ID_PATTERN

_ID = re.compile(ID_PATTERN)


class Target(BaseModel):
    """Devices matching every given field: ``{"kind": "headset"}``, ``{"group": "row-1"}``,
    ``{"ids": ["H01", "H02"]}`` or ``{"kind": "headset", "group": "row-1"}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str | None = Field(None, pattern=r"^[a-z][a-z0-9_]{0,31}$")
    group: str | None = Field(None, min_length=1, max_length=64)
    ids: list[str] | None = Field(None, min_length=1, max_length=500)

    @model_validator(mode="after")
    def _something(self) -> Target:
        if self.kind is None and self.group is None and self.ids is None:
            raise ValueError("name a kind, a group or a list of device ids")
        for device_id in self.ids or ():
            if not _ID.match(device_id):
                raise ValueError(f"device id {device_id!r} is not a valid id")
        return self

    def select(self, registry: DeviceRegistry) -> list[str]:
        """Device ids in the room file's order; ids not in the room are kept (they are reported as such)."""
        def fits(kind: str, group: str | None) -> bool:
            return (self.kind is None or kind == self.kind) and (self.group is None or group == self.group)

        if self.ids is not None:
            chosen = list(dict.fromkeys(self.ids))
            return [d for d in chosen if (record := registry.get(d)) is None or fits(record.kind, record.group)]
        return [r.id for r in registry.all() if fits(r.kind, r.group)]
