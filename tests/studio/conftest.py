"""Shared fixtures: a studio of two simulated cameras (VISCA over UDP and over a pty) and a test tone."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from studio.bookings import Actor, Booking
from studio.live import RoomIdentity, Studio
from studio.settings import CameraSpec, StudioRig, StudioSettings

STAFF = Actor("ky.thuat", staff=True)
TEACHER = Actor("co.lan", staff=False)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def small_settings(**overrides: Any) -> StudioSettings:
    """320x180 so that the functional tests stay fast; 1 s fragments so a kill loses little."""
    values: dict[str, Any] = {
        "program_size": "320x180", "preview_width": 160, "keyframe_seconds": 1.0, "min_free_mb": 0,
        "x264_preset": "ultrafast", "preview_fps": 5,
    }  # fmt: skip
    values.update(overrides)
    return StudioSettings(**values)


def synthetic_rig(audio: str = "tone:440", displays: tuple[tuple[str, dict[str, Any]], ...] = ()) -> StudioRig:
    return StudioRig(
        cameras=(
            CameraSpec("cam-1", "Camera 1", "synthetic", ptz="visca_ip",
                       transport={"type": "udp", "host": "127.0.0.1", "port": free_udp_port()}),
            CameraSpec("cam-2", "Camera 2", "synthetic", ptz="visca_serial", transport={"type": "serial"}),
        ),
        audio_source=audio,
        displays=displays,
    )  # fmt: skip


ROOM = RoomIdentity("TEST", "studio-1", "Phòng thu thử", "http://classroom-hub.local")


@pytest.fixture
async def studio(tmp_path: Path) -> AsyncIterator[Studio]:
    running = Studio(small_settings(), synthetic_rig(), tmp_path / "studio", ROOM)
    await running.start()
    try:
        yield running
    finally:
        await running.close()


async def book_now(studio: Studio, title: str = "Phương trình bậc hai", **presets: int) -> Booking:
    """A booking starting in 30 s: inside its pre-roll window, so it is the booking of this moment."""
    now = time.time()
    return await studio.bookings.book(
        STAFF, teacher=TEACHER.username, teacher_name="Cô Lan", title=title, starts_at=now + 30,
        ends_at=now + 30 + 45 * 60, presets=dict(presets),
    )  # fmt: skip


def ffprobe(path: Path) -> dict[str, Any]:
    """What ffprobe itself reads from the file (streams with counted packets, format, chapters)."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-count_packets", "-show_streams", "-show_format", "-show_chapters",
         "-print_format", "json", str(path)],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    data: dict[str, Any] = json.loads(out.stdout)
    return data


def stream(info: dict[str, Any], kind: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in info["streams"] if s["codec_type"] == kind)
    return found


def frame_at(path: Path, seconds: float, size: tuple[int, int]) -> Any:
    """One decoded picture (BGR numpy array) at ``seconds`` into the file, decoded by ffmpeg."""
    import numpy as np

    width, height = size
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-ss", f"{seconds:.2f}", "-i", str(path), "-frames:v", "1", "-f", "rawvideo",
         "-pix_fmt", "bgr24", "pipe:1"],
        capture_output=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, np.uint8).reshape(height, width, 3)


def studio_room(tmp_path: Path, *more_devices: dict[str, Any]) -> Any:
    """Hub settings of a studio room: two synthetic cameras (VISCA over UDP and a pty), a test tone."""
    from tests.conftest import room_settings

    settings = room_settings(
        tmp_path, None,
        room={"school_code": "TEST", "id": f"studio-{free_udp_port()}", "name": "Phòng thu", "kind": "studio"},
        devices=[
            {"kind": "camera", "id": "cam-1", "name": "Camera 1", "source": "synthetic", "ptz": "visca_ip",
             "transport": {"type": "udp", "host": "127.0.0.1", "port": free_udp_port()}},
            {"kind": "camera", "id": "cam-2", "name": "Camera 2", "source": "synthetic", "ptz": "visca_serial",
             "transport": {"type": "serial", "port": "/dev/ttyUSB-simulated"}},
            {"kind": "audio", "id": "mic-1", "name": "Micro", "source": "tone:440"},
            *more_devices,
        ],
        studio={"program_size": "320x180", "preview_width": 160, "keyframe_seconds": 1.0, "min_free_mb": 0,
                "x264_preset": "ultrafast"},
    )  # fmt: skip
    (settings.data_dir / "studio").mkdir(parents=True, exist_ok=True)
    return settings


@pytest.fixture
async def studio_hub(tmp_path: Path) -> AsyncIterator[Any]:
    from tests.conftest import run_hub

    async with run_hub(studio_room(tmp_path)) as hub:
        yield hub
