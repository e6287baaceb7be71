"""After a crash: recordings the database still calls "recording" become partial drafts.

Run when the studio starts, before anything records. Each leftover working file (fragmented MP4)
is finished with the chapters marked so far; what ffmpeg wrote before it died plays up to its
last complete fragment. A working file without a database row (the row was never committed) is
registered as a partial draft without a booking, so staff can still find it.
"""

from __future__ import annotations

import logging
import time

from studio.recordings import Recordings, finish_recording

log = logging.getLogger(__name__)


async def recover(recordings: Recordings) -> list[str]:
    repaired: list[str] = []
    for recording in await recordings.list("recording"):
        log.warning("event=recording_recovered recording=%s", recording.id)
        await finish_recording(recordings, recording.id, partial=True,
                               error="the hub stopped while recording; recovered at start-up")  # fmt: skip
        repaired.append(recording.id)
    known = {r.id for r in await recordings.list()}
    for work in sorted(recordings.folder.glob("*.work.mp4")):
        recording_id = work.name.removesuffix(".work.mp4")
        if recording_id in known:
            continue
        await recordings.create(recording_id, booking_id=None, teacher=None, teacher_name=None, title=None,
                                language="vi")  # fmt: skip
        await recordings.update(recording_id, started_at=work.stat().st_mtime, ended_at=time.time())
        await finish_recording(recordings, recording_id, partial=True, error="found without a database row")
        repaired.append(recording_id)
    return repaired
