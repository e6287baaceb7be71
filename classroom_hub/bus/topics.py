"""The MQTT topic tree of a room (documented in docs/protocol.md).

classroom/{room}/devices/{device_id}/{status|telemetry|event|cmd|reply}
classroom/{room}/hub/status
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ROOT = "classroom"
Channel = Literal["status", "telemetry", "event", "cmd", "reply"]
CHANNELS: frozenset[str] = frozenset(("status", "telemetry", "event", "cmd", "reply"))


def device_topic(room: str, device_id: str, channel: Channel) -> str:
    return f"{ROOT}/{room}/devices/{device_id}/{channel}"


def hub_status_topic(room: str) -> str:
    return f"{ROOT}/{room}/hub/status"


def room_filter(room: str, channel: Channel | Literal["+"] = "+") -> str:
    """Subscription filter for one channel of every device of the room."""
    return f"{ROOT}/{room}/devices/+/{channel}"


@dataclass(frozen=True, slots=True)
class DeviceTopic:
    room: str
    device_id: str
    channel: str


def parse_device_topic(topic: str) -> DeviceTopic | None:
    """``classroom/r/devices/d/telemetry`` -> DeviceTopic; anything else -> None."""
    parts = topic.split("/")
    if len(parts) != 5 or parts[0] != ROOT or parts[2] != "devices" or parts[4] not in CHANNELS:
        return None
    if not parts[1] or not parts[3]:
        return None
    return DeviceTopic(parts[1], parts[3], parts[4])
