"""The program upload's wire format against the vector in docs/serial-protocol.md §11."""

from __future__ import annotations

import pytest

from firmware_bridge.frames import Frame, FrameType, encode_frame
from firmware_bridge.payload import encode_fields
from stem_labs.errors import UploadFailed
from stem_labs.upload import program_bytes, program_crc

DOC_PROGRAM = b"F50:800;L40:300;W500;S"
DOC_BEGIN = bytes.fromhex(
    "04 01 06 09 1b 2f 03 63 6d 64 73 0c 75 70 6c 6f 61 64 5f 62 65 67 69 6e 04 73 6c 6f 74"
    "69 02 01 01 08 04 73 69 7a 65 69 16 01 01 0c 03 63 72 63 69 a6 14 9b df 72 10 00"
)
DOC_ACK = bytes.fromhex("04 01 07 09 08 0a 04 68 61 76 65 69 01 01 01 03 e2 44 00")


def test_crc32_is_iso_hdlc_sent_as_int32() -> None:
    assert program_crc(b"123456789") == 0xCBF43926 - (1 << 32)  # the catalogue's check value
    assert program_crc(DOC_PROGRAM) == -543484762 == 0xDF9B14A6 - (1 << 32)
    assert program_crc(b"S") == 0x2060EFC3  # a CRC below 2^31 stays positive


def test_upload_begin_and_its_ack_match_the_document() -> None:
    args = [("cmd", "upload_begin"), ("slot", 2), ("size", len(DOC_PROGRAM)), ("crc", program_crc(DOC_PROGRAM))]
    assert encode_frame(Frame(FrameType.COMMAND, 9, encode_fields(args))) == DOC_BEGIN
    assert encode_frame(Frame(FrameType.ACK, 9, encode_fields({"have": 0}))) == DOC_ACK


def test_program_text_is_compacted_and_checked() -> None:
    assert program_bytes(" F50:800;\n L40:300 ; S ") == b"F50:800;L40:300;S"
    with pytest.raises(UploadFailed, match=r"1\.\.192"):
        program_bytes("W1;" * 65)
    with pytest.raises(UploadFailed, match="cannot read"):
        program_bytes("Tiến50:800")
