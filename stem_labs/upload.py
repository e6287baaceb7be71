"""Uploading a robot program to a slot: chunked, CRC-checked, resumable (docs/serial-protocol.md §11).

    upload_begin {slot, size, crc}  -> {have}    bytes the robot already holds of this very program
    upload_chunk {offset, data}     -> {have}    repeated until have == size
    upload_end   {}                 -> {slot, steps}   the robot checks the CRC-32 and parses it

An upload cut short (a cable pulled, the hub restarted, a command unanswered) is simply
started again: ``upload_begin`` with the same slot, size and CRC answers how much the robot
has, and only the rest is sent. The CRC-32 (ISO-HDLC, zlib's) covers the whole text.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from classroom_hub.errors import CommandError, CommandFailed
from stem_labs.errors import UploadFailed

log = logging.getLogger(__name__)

MAX_PROGRAM = 192  # bytes of program text a robot stages (ProgramUpload::kMaxText)
MAX_CHUNK = 128
DEFAULT_CHUNK = 64
RETRY_AFTER_S = (0.5, 1.5)  # between attempts: long enough for a replugged robot to reconnect

Send = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class UploadResult:
    slot: int
    size: int
    crc: int
    steps: int
    chunks: int  # chunks sent by this upload
    resumed_from: int  # bytes the robot already had when this upload began

    def as_dict(self) -> dict[str, int]:
        return {"slot": self.slot, "size": self.size, "crc": self.crc, "steps": self.steps,
                "chunks": self.chunks, "resumed_from": self.resumed_from}  # fmt: skip


def program_crc(data: bytes) -> int:
    """CRC-32/ISO-HDLC as the TLV int32 the robot compares (two's complement of the unsigned value)."""
    crc = zlib.crc32(data) & 0xFFFFFFFF
    return crc - (1 << 32) if crc >= 1 << 31 else crc


def program_bytes(text: str) -> bytes:
    """The program as the robot reads it: ASCII, ``;`` between steps, no spaces or line breaks."""
    compact = "".join(text.split())
    try:
        data = compact.encode("ascii")
    except UnicodeEncodeError as err:
        raise UploadFailed(f"program has a character a robot cannot read at {err.start}") from err
    if not 0 < len(data) <= MAX_PROGRAM:
        raise UploadFailed(f"program of {len(data)} bytes: a slot takes 1..{MAX_PROGRAM}")
    return data


async def upload_program(
    send: Send,
    slot: int,
    text: str,
    *,
    chunk: int = DEFAULT_CHUNK,
    attempts: int = 3,
    progress: Progress | None = None,
) -> UploadResult:
    """Upload ``text`` to ``slot`` through ``send(command, args) -> result``; resumes on failure."""
    data = program_bytes(text)
    if not 1 <= chunk <= MAX_CHUNK:
        raise UploadFailed(f"chunk size must be 1..{MAX_CHUNK}")
    crc = program_crc(data)
    size = len(data)
    sent = 0
    first_have: int | None = None
    last_error = "no attempt made"
    for attempt in range(max(1, attempts)):
        if attempt:
            await asyncio.sleep(RETRY_AFTER_S[min(attempt, len(RETRY_AFTER_S)) - 1])
        try:
            have = _have(await send("upload_begin", {"slot": slot, "size": size, "crc": crc}), size)
            if first_have is None:
                first_have = have
            if attempt:
                log.info("event=upload_resumed slot=%d have=%d size=%d", slot, have, size)
            while have < size:
                piece = data[have : have + chunk].decode("ascii")
                have = _have(await send("upload_chunk", {"offset": have, "data": piece}), size)
                sent += 1
                if progress is not None:
                    progress(have, size)
            done = await send("upload_end", {})
            steps = done.get("steps")
            return UploadResult(slot, size, crc, steps if isinstance(steps, int) else 0, sent, first_have)
        except CommandFailed as err:
            last_error = err.error
            if "crc" in err.error or "bad program" in err.error or "slot" in err.error or "size" in err.error:
                break  # the robot read it all and refused it: sending again will not help
        except CommandError as err:
            last_error = str(err)
    raise UploadFailed(f"upload to slot {slot} failed: {last_error}")


def _have(result: dict[str, Any], size: int) -> int:
    have = result.get("have")
    if not isinstance(have, int) or not 0 <= have <= size:
        raise UploadFailed(f"robot answered have={have!r} for a program of {size} bytes")
    return have
