"""VISCA over IP (Sony, UDP port 52381): the 8-byte header, control messages and sequence numbers.

Layout, big-endian (Sony SRG-300H Command List, "VISCA over IP", payload type table, RESET and ERROR
control messages: http://88.208.23.73:8080/en/manual/sony/srg300h/400108?page=31; Sony BRC-X400
Command List, "Delivery confirmation": https://manualslook.com/id/manual/5709199/page-12)::

    byte 0-1  payload type     0100 VISCA command, 0110 VISCA inquiry, 0111 VISCA reply,
                               0120 VISCA device setting command, 0200 control command, 0201 control reply
    byte 2-3  payload length   1..16
    byte 4-7  sequence number  counts up per message, wraps to 0 after FFFFFFFF
    byte 8-   payload          the VISCA packet, or a control payload

Control command payload ``01`` (RESET) sets the peripheral's sequence number to 0 (the header's value is
ignored); the control reply ``01`` acknowledges it. The peripheral answers ``0F 01`` (abnormality in the
sequence number) or ``0F 02`` (abnormality in the message type) as a control reply.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from device_drivers.camera.errors import ViscaFormatError

PORT: Final = 52381
HEADER_SIZE: Final = 8
MAX_PAYLOAD: Final = 16
SEQUENCE_MODULUS: Final = 1 << 32
_HEADER: Final = struct.Struct(">HHI")

CONTROL_RESET: Final = b"\x01"
CONTROL_ACK: Final = b"\x01"


class PayloadType(IntEnum):
    VISCA_COMMAND = 0x0100
    VISCA_INQUIRY = 0x0110
    VISCA_REPLY = 0x0111
    DEVICE_SETTING = 0x0120
    CONTROL_COMMAND = 0x0200
    CONTROL_REPLY = 0x0201


_PAYLOAD_TYPES: Final = frozenset(int(kind) for kind in PayloadType)


class ControlError(IntEnum):
    """Second byte of a ``0F yy`` control reply."""

    SEQUENCE = 0x01
    MESSAGE_TYPE = 0x02


@dataclass(frozen=True)
class IpMessage:
    payload_type: PayloadType
    sequence: int
    payload: bytes

    def __post_init__(self) -> None:
        if not 0 <= self.sequence < SEQUENCE_MODULUS:
            raise ViscaFormatError(f"sequence number {self.sequence} does not fit in 4 bytes")
        if not 1 <= len(self.payload) <= MAX_PAYLOAD:
            size = len(self.payload)
            raise ViscaFormatError(f"payload of {size} bytes, VISCA over IP carries 1..{MAX_PAYLOAD}")

    def encode(self) -> bytes:
        return _HEADER.pack(self.payload_type, len(self.payload), self.sequence) + self.payload


def decode_message(datagram: bytes) -> IpMessage:
    where = f"VISCA-over-IP datagram {datagram[:24].hex(' ')}"
    if len(datagram) < HEADER_SIZE + 1:
        raise ViscaFormatError(f"{where}: {len(datagram)} bytes, less than the header and 1 payload byte")
    kind, length, sequence = _HEADER.unpack_from(datagram)
    if kind not in _PAYLOAD_TYPES:
        raise ViscaFormatError(f"{where}: unknown payload type 0x{kind:04X} in bytes 0-1")
    payload = datagram[HEADER_SIZE:]
    if length != len(payload):
        raise ViscaFormatError(f"{where}: bytes 2-3 say {length} payload bytes, {len(payload)} follow")
    return IpMessage(PayloadType(kind), sequence, bytes(payload))


def reset_message(sequence: int = 0) -> IpMessage:
    return IpMessage(PayloadType.CONTROL_COMMAND, sequence, CONTROL_RESET)


def control_error(sequence: int, error: ControlError) -> IpMessage:
    return IpMessage(PayloadType.CONTROL_REPLY, sequence, bytes([0x0F, error]))


@dataclass(frozen=True)
class ControlAcknowledged:
    """Control reply ``01``: the peripheral reset its sequence number."""


@dataclass(frozen=True)
class ControlRefused:
    """Control reply ``0F yy``."""

    error: int

    @property
    def meaning(self) -> str:
        if self.error == ControlError.SEQUENCE:
            return "abnormality in the sequence number"
        if self.error == ControlError.MESSAGE_TYPE:
            return "abnormality in the message type"
        return f"unknown control error 0x{self.error:02X}"


def parse_control_reply(payload: bytes) -> ControlAcknowledged | ControlRefused:
    if payload == CONTROL_ACK:
        return ControlAcknowledged()
    if len(payload) == 2 and payload[0] == 0x0F:
        return ControlRefused(payload[1])
    raise ViscaFormatError(f"control reply {payload.hex(' ')}: expected 01 or 0F yy")


def sequence_after(sequence: int) -> int:
    return (sequence + 1) % SEQUENCE_MODULUS


def is_newer(sequence: int, last: int) -> bool:
    """Whether ``sequence`` comes after ``last``, counting across the wrap from FFFFFFFF to 0."""
    return 0 < (sequence - last) % SEQUENCE_MODULUS < SEQUENCE_MODULUS // 2
