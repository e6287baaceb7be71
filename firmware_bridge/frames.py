"""Serial frames: header, CRC, COBS and the 0x00 delimiter (docs/serial-protocol.md §2-4).

Before COBS a frame is::

    version (u8) | type (u8) | seq (u16 LE) | length (u8) | payload (0..249 bytes) | CRC-16 (u16 BE)

The CRC covers version..payload and is sent big-endian, so the CRC of a whole good frame
is 0 (the catalogue's residue). The length byte is what catches zero bytes appended after
the CRC: with xorout 0 a CRC stays 0 through them, so the CRC alone cannot.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from firmware_bridge.cobs import cobs_decode, cobs_encode
from firmware_bridge.crc import crc16
from firmware_bridge.errors import (
    BadCrc,
    BadLength,
    BadVersion,
    FrameTooLong,
    FrameTooShort,
    MalformedFrame,
    PayloadError,
)

PROTOCOL_VERSION = 1
SUPPORTED_VERSIONS = range(1, 2)
DELIMITER = 0x00
HEADER_SIZE = 5
CRC_SIZE = 2
MAX_FRAME = 256
MAX_PAYLOAD = MAX_FRAME - HEADER_SIZE - CRC_SIZE  # 249
MAX_ENCODED = MAX_FRAME + 2  # COBS adds at most ceil(256 / 254) = 2 bytes
MIN_FRAME = HEADER_SIZE + CRC_SIZE

_HEADER = struct.Struct("<BBHB")
_CRC = struct.Struct(">H")


class FrameType(IntEnum):
    HELLO = 0x01  # host -> kit: start a session, offer protocol versions
    IDENTIFY = 0x02  # kit -> host: who I am (reply to HELLO, or unsolicited at boot)
    HEARTBEAT = 0x03  # both ways
    TELEMETRY = 0x04  # kit -> host: sensor readings and output states
    EVENT = 0x05  # kit -> host: something happened
    COMMAND = 0x06  # host -> kit: do something; seq is the command id
    ACK = 0x07  # kit -> host: command done; seq echoes the command's seq
    NACK = 0x08  # kit -> host: command refused; seq echoes the command's seq
    CONSOLE = 0x09  # kit -> host: UTF-8 debug text


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame. ``type`` is an int so unknown types survive decoding."""

    type: int
    seq: int
    payload: bytes = b""
    version: int = PROTOCOL_VERSION

    def describe(self) -> str:
        try:
            name = FrameType(self.type).name
        except ValueError:
            name = f"type 0x{self.type:02x}"
        return f"{name} seq={self.seq} ({len(self.payload)} payload bytes)"


def frame_bytes(frame: Frame) -> bytes:
    """The frame before COBS: header, payload, CRC."""
    if len(frame.payload) > MAX_PAYLOAD:
        raise PayloadError(f"{frame.describe()}: payload over the {MAX_PAYLOAD}-byte limit")
    if not 0 <= frame.seq <= 0xFFFF or not 0 <= frame.type <= 0xFF or not 0 <= frame.version <= 0xFF:
        raise PayloadError(f"{frame.describe()}: header field out of range")
    body = _HEADER.pack(frame.version, frame.type, frame.seq, len(frame.payload)) + frame.payload
    return body + _CRC.pack(crc16(body))


def encode_frame(frame: Frame) -> bytes:
    """Wire bytes for ``frame``: COBS-encoded, followed by the 0x00 delimiter."""
    return cobs_encode(frame_bytes(frame)) + b"\x00"


def decode_frame(encoded: bytes | bytearray) -> Frame:
    """Decode the bytes between two delimiters (delimiter excluded); raise a :class:`MalformedFrame`."""
    if len(encoded) > MAX_ENCODED:
        raise FrameTooLong(f"frame of {len(encoded)} encoded bytes, limit {MAX_ENCODED}")
    raw = cobs_decode(encoded)
    if len(raw) < MIN_FRAME:
        raise FrameTooShort(f"frame of {len(raw)} bytes, a header and CRC need {MIN_FRAME}")
    if len(raw) > MAX_FRAME:
        raise FrameTooLong(f"frame of {len(raw)} bytes, limit {MAX_FRAME}")
    if crc16(raw) != 0:
        (sent,) = _CRC.unpack_from(raw, len(raw) - CRC_SIZE)
        computed = crc16(raw[:-CRC_SIZE])
        raise BadCrc(f"CRC 0x{sent:04x} sent, 0x{computed:04x} computed over {len(raw) - 2} bytes")
    version, frame_type, seq, length = _HEADER.unpack_from(raw)
    if version not in SUPPORTED_VERSIONS:
        raise BadVersion(f"protocol version {version} in header, this side speaks {list(SUPPORTED_VERSIONS)}")
    if length != len(raw) - HEADER_SIZE - CRC_SIZE:
        raise BadLength(f"header says {length} payload bytes, frame carries {len(raw) - HEADER_SIZE - CRC_SIZE}")
    return Frame(frame_type, seq, raw[HEADER_SIZE:-CRC_SIZE], version)


DROP_REASONS = ("bad_cobs", "bad_crc", "oversize", "too_short", "bad_version", "bad_length")


class FrameDecoder:
    """Byte stream in, frames out. Bad frames are dropped and counted; it never raises.

    Memory is bounded: at most :data:`MAX_ENCODED` bytes are held between delimiters; a
    longer run is counted once as ``oversize`` and skipped up to the next 0x00, where
    decoding resynchronises.
    """

    __slots__ = ("_buffer", "_discarding", "dropped", "frames")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._discarding = False
        self.frames = 0
        self.dropped: dict[str, int] = dict.fromkeys(DROP_REASONS, 0)

    @property
    def buffered(self) -> int:
        """Bytes held while waiting for a delimiter (never more than MAX_ENCODED)."""
        return len(self._buffer)

    def feed(self, data: bytes | bytearray | memoryview) -> list[Frame]:
        chunk = bytes(data)
        out: list[Frame] = []
        start = 0
        size = len(chunk)
        buffer = self._buffer
        while start < size:
            end = chunk.find(DELIMITER, start)
            if end < 0:
                if not self._discarding:
                    if len(buffer) + size - start > MAX_ENCODED:
                        self.dropped["oversize"] += 1
                        buffer.clear()
                        self._discarding = True
                    else:
                        buffer += chunk[start:]
                break
            piece = chunk[start:end]
            start = end + 1
            if self._discarding:
                self._discarding = False
                continue
            if buffer:
                buffer += piece
                piece = bytes(buffer)
                buffer.clear()
            if not piece:
                continue  # back-to-back delimiters: a sender flushing the line
            try:
                out.append(decode_frame(piece))
            except MalformedFrame as err:
                self.dropped[err.reason] += 1
        self.frames += len(out)
        return out
