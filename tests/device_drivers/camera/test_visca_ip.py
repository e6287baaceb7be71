"""VISCA-over-IP header against byte vectors.

Header layout and payload types: Sony SRG-300H Command List, "VISCA over IP" (payload type table,
RESET 01, ERROR 0F 01 / 0F 02). Datagrams as sent to real cameras by public controllers:
misterhay/VISCA-IP-Controller (reset "02 00 00 01 00 00 00 01 01", power on with sequence 1) and an
Arduino VISCA-over-IP controller (preset recall 2 with sequence 2).
"""

from __future__ import annotations

import pytest

from device_drivers.camera.errors import ViscaFormatError
from device_drivers.camera.visca import Memory, MemoryAction, Power
from device_drivers.camera.visca_ip import (
    ControlAcknowledged,
    ControlError,
    ControlRefused,
    IpMessage,
    PayloadType,
    control_error,
    decode_message,
    is_newer,
    parse_control_reply,
    reset_message,
    sequence_after,
)

VECTORS = [
    (IpMessage(PayloadType.CONTROL_COMMAND, 1, b"\x01"), "02 00 00 01 00 00 00 01 01"),
    (IpMessage(PayloadType.VISCA_COMMAND, 1, Power(True).encode()), "01 00 00 06 00 00 00 01 81 01 04 00 02 FF"),
    (
        IpMessage(PayloadType.VISCA_COMMAND, 2, Memory(MemoryAction.RECALL, 2).encode()),
        "01 00 00 07 00 00 00 02 81 01 04 3F 02 02 FF",
    ),
    (
        IpMessage(PayloadType.VISCA_INQUIRY, 0x01020304, bytes.fromhex("81 09 06 12 FF")),
        "01 10 00 05 01 02 03 04 81 09 06 12 FF",
    ),
    (IpMessage(PayloadType.VISCA_REPLY, 7, bytes.fromhex("90 41 FF")), "01 11 00 03 00 00 00 07 90 41 FF"),
    (
        IpMessage(PayloadType.DEVICE_SETTING, 0xFFFFFFFF, bytes.fromhex("81 01 04 00 02 FF")),
        "01 20 00 06 FF FF FF FF 81 01 04 00 02 FF",
    ),
    (IpMessage(PayloadType.CONTROL_REPLY, 0, b"\x01"), "02 01 00 01 00 00 00 00 01"),
    (control_error(5, ControlError.SEQUENCE), "02 01 00 02 00 00 00 05 0F 01"),
    (control_error(5, ControlError.MESSAGE_TYPE), "02 01 00 02 00 00 00 05 0F 02"),
]


@pytest.mark.parametrize(("message", "wire"), VECTORS)
def test_header_encodes_type_length_and_sequence_big_endian(message: IpMessage, wire: str) -> None:
    assert message.encode() == bytes.fromhex(wire)
    assert decode_message(bytes.fromhex(wire)) == message


def test_sixteen_byte_payload_has_length_00_10() -> None:
    payload = bytes(15) + b"\xff"
    assert IpMessage(PayloadType.VISCA_COMMAND, 0, payload).encode()[2:4] == b"\x00\x10"


def test_reset_message_is_the_control_command_01() -> None:
    assert reset_message().encode() == bytes.fromhex("02 00 00 01 00 00 00 00 01")


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        ("01 00 00 06 00 00 00 01", "less than the header"),
        ("03 00 00 01 00 00 00 01 01", "unknown payload type 0x0300 in bytes 0-1"),
        ("01 00 00 07 00 00 00 01 81 01 04 00 02 FF", "bytes 2-3 say 7 payload bytes, 6 follow"),
        ("01 00 00 11 00 00 00 01" + " 00" * 17, "VISCA over IP carries 1..16"),
    ],
)
def test_malformed_datagrams_say_what_is_wrong(wire: str, message: str) -> None:
    with pytest.raises(ViscaFormatError, match=message):
        decode_message(bytes.fromhex(wire))


def test_sequence_numbers_outside_four_bytes_are_refused() -> None:
    with pytest.raises(ViscaFormatError, match="does not fit in 4 bytes"):
        IpMessage(PayloadType.VISCA_COMMAND, 1 << 32, b"\x01")


def test_control_replies_decode() -> None:
    assert parse_control_reply(b"\x01") == ControlAcknowledged()
    refused = parse_control_reply(b"\x0f\x01")
    assert refused == ControlRefused(ControlError.SEQUENCE)
    assert isinstance(refused, ControlRefused) and refused.meaning == "abnormality in the sequence number"
    with pytest.raises(ViscaFormatError, match="expected 01 or 0F yy"):
        parse_control_reply(b"\x02")


def test_sequence_wraps_to_zero_after_ffffffff() -> None:
    assert sequence_after(0xFFFFFFFF) == 0
    assert is_newer(0, 0xFFFFFFFF)
    assert is_newer(2, 1)
    assert not is_newer(1, 1)
    assert not is_newer(1, 2)
