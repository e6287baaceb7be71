"""VISCA codec against byte vectors from the published command tables (address 1 unless stated).

Sources: Sony SRG-X400 Command List pp. 7 and 20 (drive, absolute, home, ACK/completion/errors);
PTZOptics VISCA Command List rev 1.3 parts 1 and 4 (power, zoom, error codes); Sony EVI-D100 inquiry
list (Pan-tiltPosInq); Vaddio RoboSHOT table (CAM_Memory, CAM_ZoomPosInq); Telycam TLC-700 table
(pan -170 degrees = F670, tilt +90 degrees = 0510). Links in device_drivers/camera/visca.py and docs/visca.md.
"""

from __future__ import annotations

import pytest

from device_drivers.camera.errors import ViscaFormatError
from device_drivers.camera.visca import (
    Ack,
    Completion,
    Direction,
    ErrorCode,
    ErrorReply,
    Memory,
    MemoryAction,
    PacketSplitter,
    PanTiltAbsolute,
    PanTiltDrive,
    PanTiltHome,
    PanTiltPositionInquiry,
    Power,
    PowerInquiry,
    PowerState,
    Reply,
    ViscaCommand,
    ZoomDirect,
    ZoomDirection,
    ZoomDrive,
    ZoomPositionInquiry,
    decode_pan_tilt_position,
    decode_power_state,
    decode_zoom_position,
    pan_tilt_position_answer,
    parse_command,
    parse_reply,
)

COMMAND_VECTORS: list[tuple[ViscaCommand, str]] = [
    (PanTiltDrive(Direction.UP, 0x18, 0x17), "81 01 06 01 18 17 03 01 FF"),
    (PanTiltDrive(Direction.DOWN, 0x18, 0x17), "81 01 06 01 18 17 03 02 FF"),
    (PanTiltDrive(Direction.LEFT, 0x18, 0x17), "81 01 06 01 18 17 01 03 FF"),
    (PanTiltDrive(Direction.RIGHT, 0x18, 0x17), "81 01 06 01 18 17 02 03 FF"),
    (PanTiltDrive(Direction.UP_LEFT, 0x01, 0x01), "81 01 06 01 01 01 01 01 FF"),
    (PanTiltDrive(Direction.UP_RIGHT, 0x05, 0x09), "81 01 06 01 05 09 02 01 FF"),
    (PanTiltDrive(Direction.DOWN_LEFT, 0x10, 0x02), "81 01 06 01 10 02 01 02 FF"),
    (PanTiltDrive(Direction.DOWN_RIGHT, 0x0C, 0x0C), "81 01 06 01 0C 0C 02 02 FF"),
    (PanTiltDrive(Direction.STOP), "81 01 06 01 01 01 03 03 FF"),
    (PanTiltAbsolute(-2448, 1296, 0x18, 0x17), "81 01 06 02 18 17 0F 06 07 00 00 05 01 00 FF"),
    (PanTiltAbsolute(0, -432, 0x01, 0x01), "81 01 06 02 01 01 00 00 00 00 0F 0E 05 00 FF"),
    (PanTiltHome(), "81 01 06 04 FF"),
    (ZoomDrive(ZoomDirection.STOP), "81 01 04 07 00 FF"),
    (ZoomDrive(ZoomDirection.TELE), "81 01 04 07 02 FF"),
    (ZoomDrive(ZoomDirection.WIDE), "81 01 04 07 03 FF"),
    (ZoomDrive(ZoomDirection.TELE, 7), "81 01 04 07 27 FF"),
    (ZoomDrive(ZoomDirection.WIDE, 0), "81 01 04 07 30 FF"),
    (ZoomDirect(0x4000), "81 01 04 47 04 00 00 00 FF"),
    (ZoomDirect(0x1A2B), "81 01 04 47 01 0A 02 0B FF"),
    (Memory(MemoryAction.RESET, 5), "81 01 04 3F 00 05 FF"),
    (Memory(MemoryAction.SET, 0), "81 01 04 3F 01 00 FF"),
    (Memory(MemoryAction.RECALL, 0x7F), "81 01 04 3F 02 7F FF"),
    (Power(True), "81 01 04 00 02 FF"),
    (Power(False), "81 01 04 00 03 FF"),
    (PanTiltPositionInquiry(), "81 09 06 12 FF"),
    (ZoomPositionInquiry(), "81 09 04 47 FF"),
    (PowerInquiry(), "81 09 04 00 FF"),
]


@pytest.mark.parametrize(("command", "wire"), COMMAND_VECTORS, ids=lambda v: getattr(v, "name", str(v)))
def test_command_encodes_to_the_published_bytes_and_parses_back(command: ViscaCommand, wire: str) -> None:
    assert command.encode(1) == bytes.fromhex(wire)
    assert parse_command(bytes.fromhex(wire)) == (1, command)


def test_camera_address_goes_into_the_header_nibble() -> None:
    assert PanTiltHome().encode(3) == bytes.fromhex("83 01 06 04 FF")
    assert parse_command(bytes.fromhex("87 09 04 00 FF")) == (7, PowerInquiry())
    with pytest.raises(ViscaFormatError, match=r"camera address must be 1\.\.7"):
        PanTiltHome().encode(8)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: PanTiltDrive(Direction.UP, 0x19, 1), "pan speed must be 1..24"),
        (lambda: PanTiltDrive(Direction.UP, 1, 0x18), "tilt speed must be 1..23"),
        (lambda: PanTiltDrive(Direction.UP, 0, 1), "pan speed"),
        (lambda: ZoomDrive(ZoomDirection.TELE, 8), "zoom speed must be 0..7"),
        (lambda: ZoomDrive(ZoomDirection.STOP, 3), "zoom stop takes no speed"),
        (lambda: ZoomDirect(0x10000), "zoom position"),
        (lambda: Memory(MemoryAction.SET, 128), "preset number must be 0..127"),
        (lambda: PanTiltAbsolute(0x8000, 0), "pan position"),
    ],
)
def test_values_outside_the_tables_are_refused_before_sending(build: object, message: str) -> None:
    with pytest.raises(ViscaFormatError, match=message):
        build()  # type: ignore[operator]


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        ("81 01 04 38 FF", "not a command this codec knows"),  # Sony's own syntax-error example
        ("81 01 06 01 18 17 03 04 FF", "unknown direction"),
        ("81 01 06 01 19 01 03 01 FF", "pan speed"),
        ("81 01 04 07 28 FF", "unknown zoom code 0x28"),
        ("81 01 04 47 10 00 00 00 FF", "byte 0 is 0x10"),
        ("88 01 00 01 FF", "header 0x88 is not 81-87"),
        ("81 01 06 04", "not the FF terminator"),
        ("81 FF", "at least 3"),
        ("81 01 FF 04 FF", "terminator inside"),
        ("81 01 04 47 00 00 00 00 00 00 00 00 00 00 00 00 FF", "longer than 16"),
    ],
)
def test_malformed_commands_say_what_is_wrong(wire: str, message: str) -> None:
    with pytest.raises(ViscaFormatError, match=message):
        parse_command(bytes.fromhex(wire))


@pytest.mark.parametrize(
    ("wire", "reply"),
    [
        ("90 41 FF", Ack(1, 1)),
        ("90 42 FF", Ack(1, 2)),
        ("90 51 FF", Completion(1, 1)),
        ("90 50 02 FF", Completion(1, 0, b"\x02")),
        ("90 60 01 FF", ErrorReply(1, 0, ErrorCode.MESSAGE_LENGTH)),
        ("90 60 02 FF", ErrorReply(1, 0, ErrorCode.SYNTAX)),
        ("90 60 03 FF", ErrorReply(1, 0, ErrorCode.BUFFER_FULL)),
        ("90 61 04 FF", ErrorReply(1, 1, ErrorCode.CANCELLED)),
        ("90 62 05 FF", ErrorReply(1, 2, ErrorCode.NO_SOCKET)),
        ("90 61 41 FF", ErrorReply(1, 1, ErrorCode.NOT_EXECUTABLE)),
        ("A0 41 FF", Ack(2, 1)),
        ("F0 51 FF", Completion(7, 1)),
    ],
)
def test_replies_decode_into_typed_objects_and_encode_back(wire: str, reply: Reply) -> None:
    assert parse_reply(bytes.fromhex(wire)) == reply
    assert reply.encode() == bytes.fromhex(wire)


def test_error_codes_carry_their_meaning() -> None:
    meanings = {code: ErrorReply(1, 0, code).meaning for code in ErrorCode}
    assert meanings == {
        ErrorCode.MESSAGE_LENGTH: "message length error",
        ErrorCode.SYNTAX: "syntax error",
        ErrorCode.BUFFER_FULL: "command buffer full",
        ErrorCode.CANCELLED: "command cancelled",
        ErrorCode.NO_SOCKET: "no socket (nothing to cancel)",
        ErrorCode.NOT_EXECUTABLE: "command not executable",
    }
    assert ErrorReply(1, 0, 0x7E).meaning == "unknown error 0x7E"


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        ("81 01 04 00 02 FF", "header 0x81 is not y0"),  # a command echoed back is not a reply
        ("90 07 7D 01 04 00 FF", "not an ACK, completion or error"),  # IR_ReceiveReturn
        ("90 41 00 FF", "not an ACK"),
        ("90 41 50", "not the FF terminator"),
    ],
)
def test_malformed_replies_say_what_is_wrong(wire: str, message: str) -> None:
    with pytest.raises(ViscaFormatError, match=message):
        parse_reply(bytes.fromhex(wire))


def test_pan_tilt_position_answer_decodes_signed_camera_units() -> None:
    answer = parse_reply(bytes.fromhex("90 50 0F 06 07 00 00 05 01 00 FF"))
    assert isinstance(answer, Completion)
    assert decode_pan_tilt_position(answer) == (-2448, 1296)  # -170 and +90 degrees on a Sony head
    assert pan_tilt_position_answer(1, -2448, 1296).encode() == bytes.fromhex("90 50 0F 06 07 00 00 05 01 00 FF")


def test_zoom_and_power_answers_decode() -> None:
    assert decode_zoom_position(Completion(1, 0, bytes.fromhex("04 00 00 00"))) == 0x4000
    assert decode_power_state(Completion(1, 0, b"\x02")) is PowerState.ON
    assert decode_power_state(Completion(1, 0, b"\x03")) is PowerState.STANDBY


@pytest.mark.parametrize(
    ("decode", "data", "message"),
    [
        (decode_pan_tilt_position, "00 00 00", "3 data bytes, expected 8"),
        (decode_pan_tilt_position, "00 00 00 1F 00 00 00 00", "pan position: byte 3 is 0x1F"),
        (decode_zoom_position, "00 00", "expected 4"),
        (decode_power_state, "07", "expected 02, 03 or 04"),
    ],
)
def test_malformed_inquiry_answers_say_what_is_wrong(decode: object, data: str, message: str) -> None:
    with pytest.raises(ViscaFormatError, match=message):
        decode(Completion(1, 0, bytes.fromhex(data)))  # type: ignore[operator]


def test_splitter_cuts_a_serial_stream_at_each_terminator_across_reads() -> None:
    splitter = PacketSplitter()
    assert splitter.feed(bytes.fromhex("90 41 FF 90")) == [bytes.fromhex("90 41 FF")]
    assert splitter.feed(bytes.fromhex("51")) == []
    assert splitter.feed(bytes.fromhex("FF 90 50 02 FF")) == [bytes.fromhex("90 51 FF"), bytes.fromhex("90 50 02 FF")]


def test_splitter_drops_a_run_without_terminator_and_recovers_at_the_next_one() -> None:
    splitter = PacketSplitter()
    garbage = bytes(range(0x20, 0x34))  # 20 bytes, no FF
    assert splitter.feed(garbage + bytes.fromhex("FF 90 41 FF")) == [bytes.fromhex("90 41 FF")]
    assert splitter.dropped_bytes == len(garbage) + 1
