"""A recording that dies mid-way leaves a playable file, marked partial."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from studio.live import Studio
from studio.recordings import Recordings
from studio.recovery import recover
from studio.store import StudioStore
from tests.conftest import ROOT, wait_for
from tests.studio.conftest import ROOM, STAFF, book_now, ffprobe, small_settings, synthetic_rig


async def test_killing_ffmpeg_mid_recording_leaves_a_playable_partial_file(studio: Studio) -> None:
    await book_now(studio)
    recording = await studio.start_recording(STAFF)
    events: list[dict[str, Any]] = []
    studio.on_event(events.append)
    await wait_for(lambda: studio.recorder is not None and studio.recorder.media_seconds >= 3.5, timeout=15)
    assert studio.recorder is not None and studio.recorder.encoder_pid is not None
    os.kill(studio.recorder.encoder_pid, signal.SIGKILL)

    await wait_for(lambda: any(e.get("state") == "stopped" for e in events), timeout=20)
    done = await studio.recordings.get(recording.id)
    assert done.partial and done.state == "draft"
    assert done.error is not None and "encoder" in done.error
    info = ffprobe(Path(done.file_path or ""))
    assert 1.0 < float(info["format"]["duration"]) < 4.5
    assert {s["codec_type"] for s in info["streams"]} == {"video", "audio"}
    assert studio.status()["recording"] is None, "the studio is ready to record again"


async def test_a_killed_hub_process_leaves_a_partial_recording_found_at_start_up(tmp_path: Path) -> None:
    folder = tmp_path / "studio"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "tests" / "studio" / "recording_child.py"), str(folder),
        stdout=asyncio.subprocess.PIPE, cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        assert child.stdout is not None
        line = await asyncio.wait_for(child.stdout.readline(), 30)
        started = json.loads(line)
        # Power loss: the encoder and the hub die at once, nobody closes anything.
        os.kill(started["ffmpeg"], signal.SIGKILL)
        child.kill()
    finally:
        if child.returncode is None:
            child.kill()
        await child.wait()

    store = StudioStore(folder / "studio.db")
    await store.open()
    try:
        recordings = Recordings(store, folder / "recordings")
        assert (await recordings.get(started["recording"])).state == "recording"
        assert await recover(recordings) == [started["recording"]]
        done = await recordings.get(started["recording"])
        assert done.partial and done.state == "draft" and "stopped while recording" in (done.error or "")
        info = ffprobe(Path(done.file_path or ""))
        assert float(info["format"]["duration"]) > 1.0
        assert await recover(recordings) == [], "recovery runs once"
    finally:
        await store.close()

    # The next start of the studio finds nothing left to repair and records normally.
    again = Studio(small_settings(), synthetic_rig(), folder, ROOM)
    await again.start()
    await again.close()
