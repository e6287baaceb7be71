"""What happens to a recording file after ffmpeg closed it: probing, chapters, finishing, trimming.

All of it runs ffmpeg/ffprobe as asyncio subprocesses: nothing blocks the event loop, and a
cut or remux of an hour-long lecture only copies streams (``-c copy``) unless told to re-encode.
Chapters go into the file as FFMETADATA chapters (``;FFMETADATA1``, ``[CHAPTER]`` with a 1/1000
time base), which MP4 players show as chapter marks.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.errors import RecordingError


@dataclass(frozen=True)
class Chapter:
    at_s: float
    title: str


@dataclass(frozen=True)
class MediaInfo:
    duration_s: float
    size_bytes: int
    video: dict[str, Any] | None
    audio: dict[str, Any] | None
    chapters: list[Chapter]
    tags: dict[str, str]


async def _run(*command: str, timeout: float = 600.0) -> tuple[int, str, str]:
    try:
        process = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
    except OSError as err:
        raise RecordingError(f"cannot run {command[0]}: {err}") from err
    try:
        out, err_out = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise RecordingError(f"{command[0]} took longer than {timeout:g} s") from None
    assert process.returncode is not None
    return process.returncode, out.decode(errors="replace"), err_out.decode(errors="replace")


async def probe(path: Path) -> MediaInfo:
    """What ffprobe reads from the file; RecordingError if it is not a playable media file."""
    code, out, err = await _run(
        "ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", "-show_chapters",
        str(path), timeout=60,
    )  # fmt: skip
    if code != 0:
        raise RecordingError(f"ffprobe cannot read {path}: {err.strip().splitlines()[-1] if err.strip() else code}")
    data = json.loads(out)
    streams = data.get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    fmt = data.get("format", {})
    duration = float(fmt.get("duration") or 0.0)
    chapters = [Chapter(float(c["start_time"]), c.get("tags", {}).get("title", "")) for c in data.get("chapters", [])]
    return MediaInfo(duration, int(fmt.get("size") or 0), video, audio, chapters, dict(fmt.get("tags", {})))


def _escape_meta(value: str) -> str:
    out = value
    for char in ("\\", "=", ";", "#", "\n"):
        out = out.replace(char, "\\" + char)
    return out


def ffmetadata(metadata: dict[str, str], chapters: list[Chapter], duration_s: float) -> str:
    """An FFMETADATA1 file: global tags, then one [CHAPTER] per marker, each ending at the next."""
    lines = [";FFMETADATA1"]
    lines += [f"{key}={_escape_meta(value)}" for key, value in metadata.items() if value]
    marks = sorted((c for c in chapters if 0 <= c.at_s < duration_s), key=lambda c: c.at_s)
    if marks and marks[0].at_s > 0:
        # MP4 chapter tracks cannot leave a gap before the first chapter (players would stretch
        # the first marker back to 0:00): the part before it is a chapter of its own.
        marks.insert(0, Chapter(0.0, metadata.get("title") or "…"))
    for index, chapter in enumerate(marks):
        end = marks[index + 1].at_s if index + 1 < len(marks) else duration_s
        lines += [
            "",
            "[CHAPTER]",
            "TIMEBASE=1/1000",
            f"START={round(chapter.at_s * 1000)}",
            f"END={round(end * 1000)}",
            f"title={_escape_meta(chapter.title)}",
        ]
    return "\n".join(lines) + "\n"


async def _remux(
    source: Path, target: Path, metadata: dict[str, str], chapters: list[Chapter], duration_s: float,
    before_input: list[str], codec: list[str],
) -> MediaInfo:  # fmt: skip
    meta_path = target.with_suffix(".ffmeta")
    partial_target = target.with_name(target.stem + ".tmp" + target.suffix)
    meta_path.write_text(ffmetadata(metadata, chapters, duration_s), encoding="utf-8")
    try:
        code, _, err = await _run(
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *before_input, "-i", str(source),
            "-f", "ffmetadata", "-i", str(meta_path), "-map", "0", "-map_metadata", "1", "-map_chapters", "1",
            *codec, "-movflags", "+faststart", "-f", "mp4", str(partial_target),
        )  # fmt: skip
        if not partial_target.exists() or partial_target.stat().st_size == 0:
            raise RecordingError(f"ffmpeg could not write {target.name} (exit {code}): {err.strip()[-300:]}")
        info = await probe(partial_target)  # a truncated source may exit non-zero yet give a good file
        if info.duration_s <= 0:
            raise RecordingError(f"{target.name}: ffmpeg produced an empty file: {err.strip()[-300:]}")
        os.replace(partial_target, target)
        return info
    finally:
        meta_path.unlink(missing_ok=True)
        partial_target.unlink(missing_ok=True)


async def finish(
    work: Path, final: Path, *, metadata: dict[str, str], chapters: list[Chapter]
) -> MediaInfo:
    """The working (fragmented) file as a plain MP4 with chapters and the index at the front."""
    info = await probe(work)
    return await _remux(work, final, metadata, chapters, info.duration_s, [], ["-c", "copy"])


async def trim(
    source: Path, target: Path, *, start_s: float, end_s: float, exact: bool, metadata: dict[str, str],
    chapters: list[Chapter], preset: str = "veryfast", crf: int = 23,
) -> MediaInfo:  # fmt: skip
    """The part between ``start_s`` and ``end_s``. Copy mode starts at the keyframe at or before
    ``start_s`` (up to one keyframe interval early); exact mode re-encodes and is frame-accurate."""
    if not 0 <= start_s < end_s:
        raise RecordingError(f"trim: in point {start_s:g} s must be before out point {end_s:g} s")
    shifted = [Chapter(c.at_s - start_s, c.title) for c in chapters if start_s <= c.at_s < end_s]
    codec = (
        ["-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-c:a", "aac", "-b:a", "128k"]
        if exact
        else ["-c", "copy", "-avoid_negative_ts", "make_zero"]
    )
    before = ["-ss", f"{start_s:.3f}", "-to", f"{end_s:.3f}"]
    return await _remux(source, target, metadata, shifted, end_s - start_s, before, codec)
