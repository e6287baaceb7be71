"""Consistent Overhead Byte Stuffing (Cheshire & Baker, IEEE/ACM ToN 1999).

The encoder is the canonical one (as in the paper and the Wikipedia article's examples): a
254-byte run that ends the data is not followed by an empty ``01`` block. The decoder also
accepts that non-canonical trailing block, as every published decoder does.

Neither function adds or strips the 0x00 delimiter; framing lives in :mod:`frames`.
"""

from __future__ import annotations

from firmware_bridge.errors import BadCobs

_BLOCK = 254


def cobs_encode(data: bytes | bytearray) -> bytes:
    """Encode ``data`` so that the result contains no zero byte."""
    out = bytearray()
    parts = bytes(data).split(b"\x00")
    last = len(parts) - 1
    for index, part in enumerate(parts):
        while len(part) >= _BLOCK:
            out.append(0xFF)
            out += part[:_BLOCK]
            part = part[_BLOCK:]
            if not part and index == last:
                return bytes(out)
        out.append(len(part) + 1)
        out += part
    return bytes(out)


def cobs_decode(data: bytes | bytearray) -> bytes:
    """Decode one COBS block sequence (no delimiter); raise :class:`BadCobs` if it is malformed."""
    size = len(data)
    if size == 0:
        raise BadCobs("COBS: empty input has no code byte")
    if 0 in data:
        raise BadCobs(f"COBS: zero byte inside encoded data at offset {bytes(data).index(0)}")
    out = bytearray()
    pos = 0
    while pos < size:
        code = data[pos]
        end = pos + code
        if end > size:
            raise BadCobs(f"COBS: block at offset {pos} claims {code - 1} bytes, only {size - pos - 1} left")
        out += data[pos + 1 : end]
        pos = end
        if code != 0xFF and pos < size:
            out.append(0)
    return bytes(out)
