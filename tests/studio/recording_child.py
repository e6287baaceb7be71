"""A hub-like process that records until it is killed (for the crash test; not a test module).

    python tests/studio/recording_child.py <studio folder>

Prints one JSON line once 2.5 s of media are recorded: the recording id and ffmpeg's pid.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from studio.live import Studio
from tests.conftest import wait_for
from tests.studio.conftest import ROOM, STAFF, book_now, small_settings, synthetic_rig


async def main(folder: Path) -> None:
    studio = Studio(small_settings(), synthetic_rig(), folder, ROOM)
    await studio.start()
    await book_now(studio)
    recording = await studio.start_recording(STAFF)
    recorder = studio.recorder
    assert recorder is not None
    await wait_for(lambda: recorder.media_seconds > 2.5, timeout=30)  # a few fragments (1 s each) on disk
    print(json.dumps({"recording": recording.id, "ffmpeg": recorder.encoder_pid}), flush=True)
    await asyncio.Event().wait()  # until SIGKILL


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
