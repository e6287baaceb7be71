"""ViewSonic LFD ASCII codec against the examples of the ViewSonic RS-232 protocol chapters."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from device_drivers.base import DriverError, InvalidCommand, ProtocolError
from device_drivers.display import viewsonic


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def test_power_on_id_01_is_8_01_s_bang_001_cr() -> None:
    table = viewsonic.load_table("viewsonic")
    frame = viewsonic.encode_request(1, viewsonic.SET, table.power.set, table.power.on)
    assert frame == b"801s!001\r" == h("38 30 31 73 21 30 30 31 0D")


def test_set_example_brightness_76_on_tv_02() -> None:
    # "Example 2: Set Brightness as 76 for TV-02 and this command is valid."
    assert viewsonic.encode_request(2, viewsonic.SET, "$", "076") == h("38 30 32 73 24 30 37 36 0D")
    assert viewsonic.decode_reply(h("34 30 32 2B 0D")) == viewsonic.Reply(2, viewsonic.OK)


def test_get_example_brightness_of_tv_05_is_67() -> None:
    # "Example 1: Get Brightness from TV-05 and this command is valid. The Brightness value is 67."
    assert viewsonic.encode_request(5, viewsonic.GET, "b") == h("38 30 35 67 62 30 30 30 0D")
    reply = viewsonic.decode_reply(h("38 30 35 72 62 30 36 37 0D"))
    assert reply == viewsonic.Reply(5, viewsonic.VALUE, "b", "067")


def test_get_example_unsupported_command_is_a_minus() -> None:
    # "Example 2: Get Color from Display (#05), but the Color command is not supported by this model."
    assert viewsonic.encode_request(5, viewsonic.GET, "&") == h("38 30 35 67 26 30 30 30 0D")
    assert viewsonic.decode_reply(h("34 30 35 2D 0D")) == viewsonic.Reply(5, viewsonic.INVALID)


@pytest.mark.parametrize(
    ("frame", "problem"),
    [
        (b"401+", "must end with CR"),
        (b"501+\r", "length byte '5' does not match its 4 bytes"),
        (b"4A1+\r", "id 'A1' is not two digits"),
        (b"401x\r", "must be '\\+', '-' or 'r'"),
        (b"801r!00\r", "length byte"),
        (b"4\xff1+\r", "non-ASCII"),
    ],
)
def test_malformed_replies_are_rejected_with_the_reason(frame: bytes, problem: str) -> None:
    with pytest.raises(ProtocolError, match=problem):
        viewsonic.decode_reply(frame)


def test_bad_arguments_are_refused_before_sending() -> None:
    with pytest.raises(InvalidCommand, match="display id 100"):
        viewsonic.encode_request(100, viewsonic.SET, "!", "001")
    with pytest.raises(InvalidCommand, match="three printable"):
        viewsonic.encode_request(1, viewsonic.SET, "5", "1000")


def test_the_shipped_table_holds_the_published_codes() -> None:
    table = viewsonic.load_table("viewsonic")
    assert (table.tcp_port, table.baudrate, table.display_ids) == (5000, 9600, (1, 98))
    assert (table.power.set, table.power.get, table.volume.set, table.volume.get) == ("!", "l", "5", "f")
    assert (table.mute.set, table.mute.get, table.input.set, table.input.get) == ("6", "g", '"', "j")
    assert table.input.codes["hdmi1"] == "004"
    assert table.input.codes["hdmi2"] == "014"
    assert table.input.codes["android"] == "00A"


def test_input_reply_first_digit_is_signal_detection() -> None:
    inputs = viewsonic.load_table("viewsonic").input
    assert inputs.name_of("014") == "hdmi2"  # no signal
    assert inputs.name_of("114") == "hdmi2"  # signal detected
    assert inputs.name_of("10a") == "android"
    assert inputs.name_of("1ZZ") == "unknown:1ZZ"


def test_a_broken_table_names_file_field_and_problem() -> None:
    text = """
name = "other"
title = "t"
source = "s"
[power]
set = "!!"
get = "l"
[mute]
set = "6"
get = "g"
[volume]
set = "5"
get = "f"
[input]
set = '"'
get = "j"
codes = { hdmi1 = "4" }
"""
    with pytest.raises(DriverError) as caught:
        viewsonic.parse_table(text, origin="panels/other.toml")
    message = str(caught.value)
    assert message.startswith("panels/other.toml: ")
    assert "power.set:" in message
    assert "input.codes.hdmi1:" in message


def test_unknown_table_lists_the_known_ones() -> None:
    with pytest.raises(DriverError, match=r"no ASCII panel table 'sony'.*viewsonic"):
        viewsonic.load_table("sony")


@given(
    st.integers(0, 99),
    st.sampled_from(["s", "g"]),
    st.characters(min_codepoint=0x21, max_codepoint=0x7E),
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=3, max_size=3),
)
def test_any_request_round_trips(display_id: int, kind: str, command: str, value: str) -> None:
    frame = viewsonic.encode_request(display_id, kind, command, value)  # type: ignore[arg-type]
    assert len(frame) == 9
    assert viewsonic.decode_request(frame) == viewsonic.Request(display_id, kind, command, value)  # type: ignore[arg-type]


@given(st.binary(max_size=40))
def test_garbage_is_a_protocol_error_never_a_crash(noise: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        viewsonic.decode_reply(noise)
    buffer = bytearray(noise)
    with contextlib.suppress(ProtocolError):
        while viewsonic.take_frame(buffer) is not None:
            pass
