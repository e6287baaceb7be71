"""Samsung MDC codec against byte vectors from the MDC protocol document and Samsung manuals."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from device_drivers.base import InvalidCommand, ProtocolError
from device_drivers.display import mdc


def h(text: str) -> bytes:
    return bytes.fromhex(text)


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        # The vector: power on, display id 1.
        (mdc.encode_power(1, True), "AA 11 01 01 01 14"),
        # Manual, "Control Codes": Power On & ID=0 (sent as 0xFF); 11+FF+01+01=112, keep 12.
        (mdc.encode_power(0xFF, True), "AA 11 FF 01 01 12"),
        # Id 0xFE: every panel on the chain, no ACK.
        (mdc.encode_power(mdc.BROADCAST_ID, True), "AA 11 FE 01 01 11"),
        (mdc.encode_power(1, False), "AA 11 01 01 00 13"),
        (mdc.encode_power(1), "AA 11 01 00 12"),  # "Get Power ON/OFF Status": data length 0
        (mdc.encode_status(0), "AA 00 00 00 00"),
        (mdc.encode_volume(1, 30), "AA 12 01 01 1E 32"),
        (mdc.encode_mute(1, True), "AA 13 01 01 01 16"),
        (mdc.encode_input(1, "hdmi1"), "AA 14 01 01 21 37"),
        (mdc.encode_input(1, "hdmi2"), "AA 14 01 01 23 39"),
    ],
)
def test_requests_match_the_published_bytes(frame: bytes, expected: str) -> None:
    assert frame == h(expected)


def test_ack_is_decoded() -> None:
    # Ack: AA FF id 03 'A' r-cmd val cs
    reply = mdc.decode_reply(h("AA FF 01 03 41 11 01 56"))
    assert reply == mdc.Reply(display_id=1, ack=True, command=0x11, values=b"\x01")
    assert reply.error_code is None


def test_nak_carries_its_error_code() -> None:
    reply = mdc.decode_reply(h("AA FF 01 03 4E 12 01 64"))
    assert not reply.ack
    assert reply.command == 0x12
    assert reply.error_code == 0x01


def test_status_reply_gives_power_volume_mute_input() -> None:
    # AA FF id 09 'A' 00 power volume mute input aspect N-time F-time cs
    frame = h("AA FF 01 09 41 00 01 1E 00 23 10 00 00 9C")
    reply = mdc.decode_reply(frame)
    status = mdc.decode_status(reply.values)
    assert (status.power, status.volume, status.mute, mdc.input_name(status.input)) == (True, 30, False, "hdmi2")
    assert mdc.encode_reply(1, 0x00, status.encode()) == frame


def test_status_with_impossible_volume_is_rejected() -> None:
    with pytest.raises(ProtocolError, match="volume 140, above 100"):
        mdc.decode_status(h("01 8C 00 21"))


def test_wrong_checksum_names_both_sums() -> None:
    with pytest.raises(ProtocolError, match=r"checksum is 0x57, the bytes after 0xAA sum to 0x56"):
        mdc.decode_reply(h("AA FF 01 03 41 11 01 57"))


@pytest.mark.parametrize(
    ("frame", "problem"),
    [
        ("AA FF 01", "shorter than 5"),
        ("BB FF 01 03 41 11 01 56", "must start with 0xAA"),
        ("AA FF 01 05 41 11 01 56", "says 5 data bytes"),
        ("AA 11 01 03 41 11 01 68", "must have command 0xFF"),
        ("AA FF 01 03 42 11 01 57", "must be 'A' or 'N'"),
    ],
)
def test_malformed_replies_are_rejected_with_the_reason(frame: str, problem: str) -> None:
    with pytest.raises(ProtocolError, match=problem):
        mdc.decode_reply(h(frame))


def test_out_of_range_arguments_are_refused_before_sending() -> None:
    with pytest.raises(InvalidCommand, match="volume 101"):
        mdc.encode_volume(1, 101)
    with pytest.raises(InvalidCommand, match="no input 'scart'"):
        mdc.encode_input(1, "scart")
    with pytest.raises(InvalidCommand, match="display id 256"):
        mdc.encode_power(256, True)


def test_unknown_input_code_stays_visible() -> None:
    assert mdc.input_name(0x21) == "hdmi1"
    assert mdc.input_name(0x22) == "hdmi1"  # "HDMI1 PC" is the same socket
    assert mdc.input_name(0x99) == "unknown:0x99"


def test_take_frame_skips_noise_and_waits_for_the_rest() -> None:
    buffer = bytearray(h("00 13 AA 11 01"))
    assert mdc.take_frame(buffer) is None
    buffer += h("01 01 14 AA 00")
    assert mdc.take_frame(buffer) == h("AA 11 01 01 01 14")
    assert mdc.take_frame(buffer) is None
    assert buffer == h("AA 00")


@given(st.integers(0, 0xFF), st.integers(0, 0xFF), st.binary(max_size=40))
def test_any_request_round_trips(command: int, display_id: int, data: bytes) -> None:
    frame = mdc.encode(command, display_id, data)
    assert mdc.decode_request(frame) == mdc.Request(command, display_id, data)
    assert mdc.checksum(frame[1:-1]) == frame[-1]


@given(st.binary(max_size=64))
def test_garbage_is_a_protocol_error_never_a_crash(noise: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        mdc.decode_reply(noise)
    buffer = bytearray(noise)
    with contextlib.suppress(ProtocolError):
        while mdc.take_frame(buffer) is not None:
            pass
