"""CRC-16/CCITT-FALSE, the frame check of the serial protocol (docs/serial-protocol.md §3).

Parameters from the RevEng CRC catalogue ("CRC-16/IBM-3740", alias CRC-16/CCITT-FALSE,
https://reveng.sourceforge.net/crc-catalogue/16.htm): width 16, poly 0x1021, init 0xFFFF,
refin/refout false, xorout 0x0000, check 0x29B1, residue 0x0000.

``binascii.crc_hqx`` computes the same non-reflected 0x1021 CRC with a caller-chosen start
value, in C, so seeding it with 0xFFFF gives CCITT-FALSE at memory speed.
"""

from __future__ import annotations

import binascii

CRC_INIT = 0xFFFF
CHECK_VALUE = 0x29B1  # crc16(b"123456789")


def crc16(data: bytes | bytearray | memoryview, crc: int = CRC_INIT) -> int:
    """CRC-16/CCITT-FALSE of ``data``; pass a previous result as ``crc`` to continue."""
    return binascii.crc_hqx(data, crc)
