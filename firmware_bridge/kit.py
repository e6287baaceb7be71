"""What the rest of the hub sees of a serial kit: its identity, its link state, and a listener.

The MQTT adapter implements :class:`KitListener` and maps each callback to
``classroom/{room}/devices/{device_id}/{status|telemetry|event}``; commands go the other
way through :meth:`firmware_bridge.supervisor.KitSupervisor.command`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from firmware_bridge.errors import PayloadError
from firmware_bridge.payload import Fields, Value


class LinkState(StrEnum):
    ONLINE = "online"  # handshake done, frames flowing, state restored
    OFFLINE = "offline"  # port gone, board silent, or restarting


@dataclass(frozen=True, slots=True)
class KitIdentity:
    """The IDENTIFY frame of a board, after version negotiation."""

    device_id: str
    kind: str
    firmware: str
    protocol: int  # negotiated version, 0 in an unsolicited boot announcement
    protocol_min: int
    protocol_max: int
    heartbeat_ms: int  # how often the board sends HEARTBEAT
    host_timeout_ms: int  # the board treats the host as lost after this much silence
    uptime_ms: int
    commands: tuple[str, ...]
    outputs: tuple[str, ...]
    port: str = ""

    @classmethod
    def from_fields(cls, fields: Mapping[str, Value], port: str = "") -> KitIdentity:
        def text(key: str) -> str:
            value = fields.get(key)
            if not isinstance(value, str) or (key in ("id", "kind") and not value):
                raise PayloadError(f"IDENTIFY: field {key!r} missing or not a string")
            return value

        def number(key: str) -> int:
            value = fields.get(key)
            if not isinstance(value, int) or isinstance(value, bool):
                raise PayloadError(f"IDENTIFY: field {key!r} missing or not an integer")
            return value

        def names(key: str) -> tuple[str, ...]:
            value = fields.get(key, "")
            return tuple(n for n in value.split(",") if n) if isinstance(value, str) else ()

        return cls(
            device_id=text("id"),
            kind=text("kind"),
            firmware=text("fw"),
            protocol=number("proto"),
            protocol_min=number("pmin"),
            protocol_max=number("pmax"),
            heartbeat_ms=number("hb"),
            host_timeout_ms=number("hbto"),
            uptime_ms=number("up") if "up" in fields else 0,
            commands=names("caps"),
            outputs=names("outs"),
            port=port,
        )


class KitListener(Protocol):
    """Receives everything a kit says. Callbacks run on the event loop and must not block."""

    def on_hello(self, kit: KitIdentity) -> None:
        """A board answered HELLO (first connection, replug, or reboot)."""

    def on_state(self, device_id: str, state: LinkState) -> None:
        """The link came up (after state restore) or went down."""

    def on_telemetry(self, device_id: str, readings: Fields) -> None:
        """One set of TELEMETRY: sensor readings and output states by key, the parts of a set
        merged (docs/serial-protocol.md §9); a set split by an ACK or EVENT holds some keys only."""

    def on_event(self, device_id: str, name: str, fields: Fields) -> None:
        """One EVENT frame."""

    def on_console(self, device_id: str, text: str) -> None:
        """One CONSOLE frame of debug text."""
