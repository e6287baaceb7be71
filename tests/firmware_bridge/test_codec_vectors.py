"""The Python codec against the shared vectors (the C++ core checks the same file)."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pytest

from firmware_bridge.cobs import cobs_decode, cobs_encode
from firmware_bridge.crc import CHECK_VALUE, crc16
from firmware_bridge.errors import MalformedFrame, PayloadError
from firmware_bridge.frames import Frame, FrameDecoder, decode_frame, encode_frame
from firmware_bridge.payload import Value, decode_fields, encode_fields

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[2] / "firmware_bridge" / "firmware" / "test_vectors.json").read_text()
)
_TYPES = {"i": int, "f": float, "b": bool, "s": str}


def typed(fields: list[list[Any]]) -> list[tuple[str, Value]]:
    return [(key, _TYPES[tag](value)) for key, tag, value in fields]


def test_crc_matches_the_catalogue_check_value() -> None:
    assert crc16(b"123456789") == CHECK_VALUE == 0x29B1


@pytest.mark.parametrize("vector", VECTORS["crc16"], ids=lambda v: v["name"])
def test_crc_vectors(vector: dict[str, Any]) -> None:
    assert crc16(bytes.fromhex(vector["input"])) == vector["crc"]


@pytest.mark.parametrize("vector", VECTORS["cobs"], ids=lambda v: v["encoded"][:12])
def test_cobs_vectors_from_the_published_examples(vector: dict[str, str]) -> None:
    decoded, wire = bytes.fromhex(vector["decoded"]), bytes.fromhex(vector["encoded"])
    assert cobs_encode(decoded) + b"\x00" == wire
    assert cobs_decode(wire[:-1]) == decoded


@pytest.mark.parametrize("vector", VECTORS["frames"], ids=lambda v: v["name"])
def test_frame_vectors_decode_and_encode_identically(vector: dict[str, Any]) -> None:
    wire = bytes.fromhex(vector["wire"])
    payload = bytes.fromhex(vector["payload"])
    frame = decode_frame(wire[:-1])
    assert (frame.version, frame.type, frame.seq, frame.payload) == (
        vector["version"],
        vector["type"],
        vector["seq"],
        payload,
    )
    if "fields" in vector:
        expected = typed(vector["fields"])
        assert list(decode_fields(payload).items()) == expected
        assert encode_fields(expected) == payload
    if "text" in vector:
        assert payload.decode("utf-8") == vector["text"]
    assert encode_frame(Frame(vector["type"], vector["seq"], payload)) == wire


@pytest.mark.parametrize("vector", VECTORS["bad_frames"], ids=lambda v: v["name"])
def test_bad_frames_are_dropped_under_their_reason(vector: dict[str, str]) -> None:
    decoder = FrameDecoder()
    assert decoder.feed(bytes.fromhex(vector["wire"])) == []
    assert {k: v for k, v in decoder.dropped.items() if v} == {vector["counter"]: 1}
    assert decoder.buffered == 0


@pytest.mark.parametrize("vector", VECTORS["bad_payloads"], ids=lambda v: v["name"])
def test_bad_payloads_are_rejected(vector: dict[str, str]) -> None:
    with pytest.raises(PayloadError):
        decode_fields(bytes.fromhex(vector["payload"]))


def test_every_vector_frame_survives_noise_between_frames() -> None:
    stream = b"".join(bytes.fromhex(v["wire"]) + b"\x13\x37garbage\xff\x00" for v in VECTORS["frames"])
    decoder = FrameDecoder()
    frames = []
    for start in range(0, len(stream), 7):  # arrives in small chunks, as from a UART
        frames += decoder.feed(stream[start : start + 7])
    assert [f.seq for f in frames] == [v["seq"] for v in VECTORS["frames"]]
    assert sum(decoder.dropped.values()) == len(VECTORS["frames"])


def test_decode_errors_name_what_is_wrong() -> None:
    raw = bytearray(encode_frame(Frame(3, 2)))
    raw[2] ^= 0xFF
    with pytest.raises(MalformedFrame, match=r"CRC 0x[0-9a-f]{4} sent, 0x[0-9a-f]{4} computed"):
        decode_frame(bytes(raw[:-1]))
    with pytest.raises(MalformedFrame, match="block at offset 0 claims 4 bytes, only 3 left"):
        decode_frame(bytes.fromhex("05010203"))


def test_floats_read_back_as_the_board_meant_them() -> None:
    # 6.8 is not exact in binary32; the host shows 6.8, not 6.800000190734863.
    assert decode_fields(encode_fields({"ph": 6.8, "ec": 1.3941987})) == {"ph": 6.8, "ec": 1.3941987}
    assert struct.pack("<f", 6.8) in encode_fields({"ph": 6.8})


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"Bad": 1}, "must be 1..24 characters"),
        ({"big": 2**31}, "does not fit int32"),
        ({"nan": float("nan")}, "not a finite number"),
        ({"huge": 1e39}, "does not fit float32"),
        ({"s": "x" * 256}, "limit 255"),
    ],
)
def test_unencodable_values_raise_payload_error(fields: dict[str, Value], message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        encode_fields(fields)
