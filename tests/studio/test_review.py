"""Review and publishing: the states, who may do what, trimming, the outbox and the xAPI statement."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from classroom_hub.store import TelemetryStore
from studio.bookings import Actor
from studio.errors import NotAllowed, ReviewError, StudioError
from studio.publishing import MaterialsOutbox
from studio.recording.files import probe
from studio.recordings import Recordings
from studio.review import Publisher, Review
from studio.store import StudioStore
from tests.studio.conftest import ffprobe

LAN = Actor("co.lan", staff=False)
MINH = Actor("thay.minh", staff=False)
STAFF = Actor("ky.thuat", staff=True)


@dataclass
class Desk:
    review: Review
    recordings: Recordings
    outbox: MaterialsOutbox
    telemetry: TelemetryStore
    recording_id: str


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    folder = tmp_path / "recordings"
    folder.mkdir()
    recording_id = "20300317-080000-abc123"
    final = folder / f"{recording_id}.mp4"
    # A finished 8-second lecture: picture, tone, a keyframe every second.
    ffmpeg = await asyncio.create_subprocess_exec(
        "ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=s=320x180:r=30", "-f", "lavfi", "-i",
        "sine=frequency=440:sample_rate=48000", "-t", "8", "-c:v", "libx264", "-preset", "ultrafast", "-g", "30",
        "-c:a", "aac", str(final),
    )  # fmt: skip
    assert await ffmpeg.wait() == 0
    store = StudioStore(tmp_path / "studio.db")
    telemetry = TelemetryStore(tmp_path / "telemetry.db")
    await store.open()
    await telemetry.open()
    try:
        recordings = Recordings(store, folder)
        await recordings.create(recording_id, booking_id=None, teacher="co.lan", teacher_name="Cô Lan",
                                title="Hình học", language="vi")  # fmt: skip
        await recordings.update(recording_id, state="draft", file_path=str(final), duration_s=8.0)
        await recordings.add_chapter(recording_id, 5.0, "Bài tập")
        outbox = MaterialsOutbox(store)
        publisher = Publisher("TEST", "studio-1", "http://classroom-hub.local", telemetry.add_statements)
        yield Desk(Review(recordings, outbox, publisher, trim_exact=True, preset="ultrafast"), recordings, outbox,
                   telemetry, recording_id)  # fmt: skip
    finally:
        await telemetry.close()
        await store.close()


async def test_draft_to_published_with_trim_rejection_and_permissions(desk: Desk) -> None:
    review, rid = desk.review, desk.recording_id
    with pytest.raises(NotAllowed):
        await review.edit(MINH, rid, {"title": "không phải của tôi"})
    await review.edit(LAN, rid, {"title": "Hình học - tam giác đồng dạng", "trim_in_s": 1.0, "trim_out_s": 7.0})
    with pytest.raises(ReviewError, match="subject, grade"):
        await review.submit(LAN, rid)
    with pytest.raises(ReviewError, match="trim"):
        await review.edit(LAN, rid, {"trim_out_s": 9.5})
    await review.edit(LAN, rid, {"subject": "Toán", "grade": "8"})

    submitted = await review.submit(LAN, rid)
    assert submitted.state == "submitted"
    edit = ffprobe(Path(submitted.edit_path or ""))
    assert float(edit["format"]["duration"]) == pytest.approx(6.0, abs=0.15)
    assert [(round(float(c["start_time"])), c["tags"]["title"]) for c in edit["chapters"]] == [
        (0, "Hình học - tam giác đồng dạng"), (4, "Bài tập")]  # fmt: skip
    with pytest.raises(ReviewError):
        await review.edit(LAN, rid, {"title": "đang chờ duyệt"})

    with pytest.raises(NotAllowed):
        await review.approve(LAN, rid)  # a teacher does not review
    with pytest.raises(NotAllowed):
        await review.approve(Actor("co.lan", staff=True), rid)  # nor does anyone their own recording
    with pytest.raises(ReviewError, match="comment"):
        await review.reject(STAFF, rid, "  ")
    rejected = await review.reject(STAFF, rid, "Âm thanh nhỏ ở phút đầu, xin cắt bỏ 1 giây nữa.")
    assert (rejected.state, rejected.reviewer) == ("rejected", "ky.thuat")
    assert rejected.review_comment == "Âm thanh nhỏ ở phút đầu, xin cắt bỏ 1 giây nữa."

    await review.edit(LAN, rid, {"trim_in_s": 2.0})
    resubmitted = await review.submit(LAN, rid)
    assert resubmitted.review_comment is None
    assert float(ffprobe(Path(resubmitted.edit_path or ""))["format"]["duration"]) == pytest.approx(5.0, abs=0.15)
    with pytest.raises(ReviewError, match="submitted"):
        await review.publish(STAFF, rid)  # not approved yet
    approved = await review.approve(STAFF, rid, "Tốt")
    assert approved.state == "approved"
    with pytest.raises(NotAllowed):
        await review.publish(LAN, rid)

    published = await review.publish(STAFF, rid)
    assert published.state == "published" and published.published_at is not None
    actions = [(e["action"], e["to_state"]) for e in await review.log(rid)]
    assert actions == [("submit", "submitted"), ("reject", "rejected"), ("submit", "submitted"),
                       ("approve", "approved"), ("publish", "published")]  # fmt: skip

    # The outbox holds the reviewed file with its hash and metadata for the materials bank.
    [material] = await desk.outbox.pending()
    file_bytes = await asyncio.to_thread(Path(material.file_path).read_bytes)
    assert material.sha256 == hashlib.sha256(file_bytes).hexdigest() == published.sha256
    assert material.size_bytes == len(file_bytes)
    assert material.metadata["title"] == "Hình học - tam giác đồng dạng"
    assert (material.metadata["subject"], material.metadata["grade"], material.metadata["teacher"]) == (
        "Toán", "8", "co.lan")  # fmt: skip
    assert material.metadata["duration_s"] == pytest.approx(5.0, abs=0.15)

    # ... and one xAPI statement with a stable id records the publication.
    [row] = await desk.telemetry.read_after("statements", 0, 10)
    statement = json.loads(row[3])
    assert statement["verb"]["display"]["en-US"] == "published"
    assert statement["actor"]["account"]["name"] == "co.lan"
    assert statement["object"]["definition"]["name"] == {"vi": "Hình học - tam giác đồng dạng"}
    assert await desk.telemetry.add_statements([statement]) == 0, "the same publication is stored once"


async def test_the_outbox_resumes_and_checks_the_hash(desk: Desk) -> None:
    review, rid = desk.review, desk.recording_id
    await review.edit(LAN, rid, {"subject": "Toán", "grade": "8"})
    await review.submit(STAFF, rid)  # staff may submit for the teacher
    await review.approve(STAFF, rid)
    await review.publish(STAFF, rid)
    [material] = await desk.outbox.pending()
    await desk.outbox.progress(material.seq, 4096)
    assert (await desk.outbox.get(material.seq)).sent_bytes == 4096  # a restart resumes here
    with pytest.raises(StudioError, match="sha256"):
        await desk.outbox.delivered(material.seq, "0" * 64)
    again = await desk.outbox.get(material.seq)
    assert again.sent_bytes == 0 and again.attempts == 1 and "mismatch" in (again.last_error or "")
    await desk.outbox.delivered(material.seq, material.sha256, remote_id="bank-42")
    assert await desk.outbox.depth() == 0 and await desk.outbox.pending() == []
    assert (await desk.outbox.get(material.seq)).remote_id == "bank-42"
    info = await probe(Path(material.file_path))
    assert info.video is not None and info.audio is not None
