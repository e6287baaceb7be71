"""A display's table in the room file (``kind = "display"``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from device_drivers.settings import DeviceBase

DISPLAY_BAUDRATE = 9600  # RS-232 speed of interactive panels unless the room file says otherwise


class Display(DeviceBase):
    kind: Literal["display"]
    protocol: Literal["samsung_mdc", "viewsonic"] = "samsung_mdc"
    display_id: int = Field(1, ge=0, le=0xFE)
    size_inch: int | None = None
    timeout_s: float = Field(2.0, gt=0, le=30, description="per request to the panel, and to connect")
    poll_interval_s: float = Field(10.0, ge=0.05, le=3600, description="how often the hub asks the panel's status")

    @model_validator(mode="before")
    @classmethod
    def _display_baudrate(cls, data: Any) -> Any:
        # Interactive panels speak RS-232 at 9600 8N1 (Samsung MDC and ViewSonic alike);
        # the transport's general default (115200, for lab kits) would never get an answer.
        if isinstance(data, dict):
            transport = data.get("transport")
            if isinstance(transport, dict) and transport.get("type") == "serial" and "baudrate" not in transport:
                data = {**data, "transport": {**transport, "baudrate": DISPLAY_BAUDRATE}}
        return data

    @model_validator(mode="after")
    def _polled_within_timeout(self) -> Display:
        if self.poll_interval_s >= self.heartbeat_timeout_s:
            raise ValueError(
                f"poll_interval_s ({self.poll_interval_s:g}) must be shorter than heartbeat_timeout_s "
                f"({self.heartbeat_timeout_s:g}), or the display looks offline between two polls"
            )
        return self
