"""TLV payloads: the key/value records inside HELLO, IDENTIFY, TELEMETRY, EVENT, COMMAND and ACK.

One item on the wire (docs/serial-protocol.md §5)::

    key length (u8, 1..24) | key (ASCII a-z 0-9 _) | tag (u8) | value

    tag 'i' 0x69  int32, little-endian, two's complement
    tag 'f' 0x66  float32, IEEE 754 binary32, little-endian, finite
    tag 'b' 0x62  one byte, 0x00 false or 0x01 true
    tag 's' 0x73  u8 length then that many UTF-8 bytes
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Iterable, Mapping

from firmware_bridge.errors import PayloadError

Value = bool | int | float | str
Fields = dict[str, Value]

MAX_KEY = 24
MAX_STRING = 255
TAG_INT = 0x69
TAG_FLOAT = 0x66
TAG_BOOL = 0x62
TAG_STR = 0x73

_KEY = re.compile(rb"[a-z0-9_]{1,24}\Z")
_I32 = struct.Struct("<i")
_F32 = struct.Struct("<f")
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


def _shortest_f32(raw: bytes) -> float:
    """The shortest decimal that is the same binary32, so 6.8 on the board reads 6.8 here."""
    (value,) = _F32.unpack(raw)
    for digits in (6, 7, 8):
        candidate = float(f"{value:.{digits}g}")
        if _F32.pack(candidate) == raw:
            return candidate
    return float(f"{value:.9g}")


def encode_fields(fields: Mapping[str, Value] | Iterable[tuple[str, Value]]) -> bytes:
    """Encode key/value pairs in order; the Python type picks the tag (bool before int)."""
    items = fields.items() if isinstance(fields, Mapping) else fields
    out = bytearray()
    for key, value in items:
        raw_key = key.encode("ascii", "replace")
        if not _KEY.match(raw_key):
            raise PayloadError(f"TLV key {key!r}: must be 1..{MAX_KEY} characters of a-z, 0-9, _")
        out.append(len(raw_key))
        out += raw_key
        if isinstance(value, bool):
            out += bytes((TAG_BOOL, 1 if value else 0))
        elif isinstance(value, int):
            if not _INT_MIN <= value <= _INT_MAX:
                raise PayloadError(f"TLV key {key!r}: {value} does not fit int32")
            out.append(TAG_INT)
            out += _I32.pack(value)
        elif isinstance(value, float):
            try:
                packed = _F32.pack(value)
            except OverflowError as err:
                raise PayloadError(f"TLV key {key!r}: {value} does not fit float32") from err
            if not math.isfinite(value):
                raise PayloadError(f"TLV key {key!r}: {value} is not a finite number")
            out.append(TAG_FLOAT)
            out += packed
        elif isinstance(value, str):
            raw = value.encode("utf-8")
            if len(raw) > MAX_STRING:
                raise PayloadError(f"TLV key {key!r}: string of {len(raw)} bytes, limit {MAX_STRING}")
            out += bytes((TAG_STR, len(raw)))
            out += raw
        else:
            raise PayloadError(f"TLV key {key!r}: unsupported value type {type(value).__name__}")
    return bytes(out)


def decode_fields(payload: bytes | bytearray | memoryview) -> Fields:
    """Decode a TLV payload into a dict (a repeated key keeps its last value)."""
    data = bytes(payload)
    size = len(data)
    fields: Fields = {}
    pos = 0
    while pos < size:
        key_len = data[pos]
        key_end = pos + 1 + key_len
        if key_len == 0 or key_len > MAX_KEY or key_end >= size:
            raise PayloadError(f"TLV at offset {pos}: key length {key_len} invalid or item truncated")
        raw_key = data[pos + 1 : key_end]
        if not _KEY.match(raw_key):
            raise PayloadError(f"TLV at offset {pos}: key {raw_key!r} has characters outside a-z 0-9 _")
        key = raw_key.decode("ascii")
        tag = data[key_end]
        value_at = key_end + 1
        value: Value
        if tag in (TAG_INT, TAG_FLOAT):
            end = value_at + 4
            if end > size:
                raise PayloadError(f"TLV key {key!r} at offset {pos}: 4-byte value truncated")
            if tag == TAG_INT:
                (value,) = _I32.unpack_from(data, value_at)
            else:
                raw = data[value_at:end]
                (number,) = _F32.unpack(raw)
                if not math.isfinite(number):
                    raise PayloadError(f"TLV key {key!r} at offset {pos}: float is NaN or infinite")
                value = _shortest_f32(raw)
        elif tag == TAG_BOOL:
            end = value_at + 1
            if end > size or data[value_at] > 1:
                raise PayloadError(f"TLV key {key!r} at offset {pos}: bool must be one byte 0 or 1")
            value = data[value_at] == 1
        elif tag == TAG_STR:
            if value_at >= size:
                raise PayloadError(f"TLV key {key!r} at offset {pos}: string length missing")
            end = value_at + 1 + data[value_at]
            if end > size:
                raise PayloadError(f"TLV key {key!r} at offset {pos}: string truncated")
            value = data[value_at + 1 : end].decode("utf-8", "replace")
        else:
            raise PayloadError(f"TLV key {key!r} at offset {pos}: unknown tag 0x{tag:02x}")
        fields[key] = value
        pos = end
    return fields
