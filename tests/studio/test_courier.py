"""Published lectures reach the materials bank: resumable, hash-checked uploads through the pusher's
materials client, against the bank API of docs/central-database.md section 8 served by aiohttp."""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from classroom_hub.backoff import Backoff
from classroom_hub.lessons import LessonLibrary
from classroom_hub.pusher.materials import MaterialsBank
from classroom_hub.pusher.settings import Central
from studio.courier import LectureCourier
from studio.keys import LECTURES, STUDIO
from studio.publishing import MaterialsOutbox
from studio.recordings import Recordings
from studio.store import StudioStore
from tests.classroom_hub.pusher.test_materials import TOKEN, Bank, serving
from tests.conftest import add_user, run_hub, wait_for
from tests.studio.conftest import STAFF, TEACHER, studio_room

CHUNK = 64 * 1024


@dataclass
class LectureBank(Bank):
    """The bank of tests/classroom_hub/pusher/test_materials.py, with the resumable upload API."""

    uploads: dict[str, dict[str, Any]] = field(default_factory=dict)
    patches: list[int] = field(default_factory=list)  # the Upload-Offset of every PATCH
    received: int = 0  # body bytes the bank kept, over all PATCHes
    drop_at: int | None = None  # the PATCH from this offset keeps `keep` bytes, then the line drops
    keep: int = 0
    corrupt_next: bool = False  # a byte of the next completed file goes bad on the bank's disk

    def app(self) -> web.Application:
        app = super().app()
        app.router.add_put("/api/v1/uploads/{sha256}", self._announce)
        app.router.add_patch("/api/v1/uploads/{sha256}", self._append)
        return app

    def _status(self, sha256: str) -> dict[str, Any]:
        upload = self.uploads[sha256]
        return {"sha256": upload.get("hash", sha256), "size_bytes": upload["size"], "offset": len(upload["data"]),
                "status": upload["status"], "id": upload.get("id")}  # fmt: skip

    async def _announce(self, request: web.Request) -> web.Response:
        sha256, body = request.match_info["sha256"], await request.json()
        assert body["kind"] == "lecture_video" and body["school"] == "TEST" and body["metadata"]["title"]
        known = self.uploads.get(sha256)
        if known is not None and known["size"] != body["size_bytes"]:
            return web.json_response({"error": "announced before with another size"}, status=409)
        if known is None:
            self.uploads[sha256] = {"size": body["size_bytes"], "data": bytearray(), "status": "receiving",
                                    "details": body}  # fmt: skip
        return web.json_response(self._status(sha256), status=200 if known else 201)

    async def _append(self, request: web.Request) -> web.StreamResponse:
        sha256 = request.match_info["sha256"]
        upload = self.uploads[sha256]
        data: bytearray = upload["data"]
        offset = int(request.headers["Upload-Offset"])
        assert request.content_type == "application/offset+octet-stream"
        if offset != len(data):
            return web.json_response({"error": "offset mismatch", "offset": len(data)}, status=409)
        self.patches.append(offset)
        if self.drop_at == offset:  # part of the chunk arrives, then the line drops
            self.drop_at = None
            part = await request.content.readexactly(self.keep)
            data.extend(part)
            self.received += len(part)
            assert request.transport is not None
            request.transport.abort()
            return web.Response(status=204)
        part = await request.read()
        data.extend(part)
        self.received += len(part)
        if len(data) < upload["size"]:
            return web.Response(status=204, headers={"Upload-Offset": str(len(data))})
        if self.corrupt_next:
            self.corrupt_next = False
            data[len(data) // 2] ^= 0xFF
        digest = hashlib.sha256(data).hexdigest()
        if digest != sha256:
            upload["data"] = bytearray()  # discarded: the hub starts again
            return web.json_response({"error": "sha256 mismatch", "sha256": digest}, status=422)
        upload.update(status="complete", id=f"lecture-{len([u for u in self.uploads.values() if u.get('id')]) + 1}")
        return web.json_response(self._status(sha256))


@pytest.fixture
async def lecture_bank(tmp_path: Path) -> AsyncIterator[LectureBank]:
    async with serving(LectureBank(tmp_path / "bank")) as server:
        yield server


@dataclass
class Desk:
    outbox: MaterialsOutbox
    recordings: Recordings
    folder: Path


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    store = StudioStore(tmp_path / "studio" / "studio.db")
    await store.open()
    try:
        yield Desk(MaterialsOutbox(store), Recordings(store, tmp_path / "recordings"), tmp_path)
    finally:
        await store.close()


async def publish(desk: Desk, recording_id: str, size: int = 300_000) -> tuple[int, bytes]:
    """A published lecture in the outbox, as ``Review.publish`` leaves it."""
    data = random.Random(recording_id).randbytes(size)
    path = desk.folder / f"{recording_id}.edit.mp4"
    await asyncio.to_thread(path.write_bytes, data)
    await desk.recordings.create(recording_id, booking_id=None, teacher="co.lan", teacher_name="Cô Lan",
                                 title="Hình học", language="vi")  # fmt: skip
    sha256 = hashlib.sha256(data).hexdigest()
    metadata = {"title": "Hình học 8", "school_code": "TEST", "recording_id": recording_id, "sha256": sha256,
                "content_type": "video/mp4"}  # fmt: skip
    return await desk.outbox.enqueue(recording_id, path, sha256, metadata), data


@pytest.fixture
async def courier(desk: Desk, lecture_bank: LectureBank, tmp_path: Path) -> AsyncIterator[LectureCourier]:
    def bank() -> MaterialsBank:
        return MaterialsBank(lecture_bank.url, tmp_path / "materials", LessonLibrary(tmp_path / "lessons"),
                             token=TOKEN)  # fmt: skip

    running = LectureCourier(desk.outbox, bank, backoff=Backoff(0.05, 0.2), chunk_bytes=CHUNK)
    task = asyncio.create_task(running.run())
    await wait_for(lambda: running.state == "idle")
    yield running
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_a_dropped_line_mid_upload_resumes_where_the_bank_stopped(
    desk: Desk, lecture_bank: LectureBank, courier: LectureCourier
) -> None:
    lecture_bank.drop_at, lecture_bank.keep = CHUNK, 20_000  # the second chunk breaks off after 20 kB
    seq, data = await publish(desk, "20300317-080000-abc123")  # publishing wakes the courier: no polling
    await wait_for(lambda: courier.last_success is not None)
    material = await desk.outbox.get(seq)
    assert material.delivered_at is not None and material.remote_id == "lecture-1"
    assert material.sent_bytes == len(data) and material.last_error is None
    assert material.attempts == 1, "the dropped line was one failed attempt"
    upload = lecture_bank.uploads[material.sha256]
    assert bytes(upload["data"]) == data and upload["status"] == "complete"
    # The third PATCH starts where the bank's copy ended, inside the broken chunk, not at byte 0...
    assert lecture_bank.patches[:3] == [0, CHUNK, CHUNK + 20_000]
    assert lecture_bank.patches[3:] == list(range(2 * CHUNK + 20_000, len(data), CHUNK))
    # ...so no byte reached the bank twice.
    assert lecture_bank.received == len(data)
    assert upload["details"]["metadata"]["recording_id"] == "20300317-080000-abc123"
    assert await desk.outbox.depth() == 0


async def test_a_copy_that_does_not_hash_right_is_sent_again_from_the_start(
    desk: Desk, lecture_bank: LectureBank, courier: LectureCourier
) -> None:
    lecture_bank.corrupt_next = True
    seq, data = await publish(desk, "20300318-090000-def456", size=150_000)
    await wait_for(lambda: courier.last_success is not None)
    material = await desk.outbox.get(seq)
    assert material.delivered_at is not None and material.attempts == 1
    chunks = list(range(0, len(data), CHUNK))
    assert lecture_bank.patches == chunks + chunks  # the whole file twice: the first copy was bad
    assert bytes(lecture_bank.uploads[material.sha256]["data"]) == data


async def test_inside_the_hub_a_published_lecture_goes_to_the_bank_and_the_review_queue_shows_it(
    tmp_path: Path, lecture_bank: LectureBank
) -> None:
    central = Central(materials_url=lecture_bank.url, materials_token=TOKEN, materials_sync_interval_min=0,
                      retry_min_s=0.05, retry_max_s=0.2)  # fmt: skip
    settings = studio_room(tmp_path).model_copy(update={"central": central})
    async with run_hub(settings) as hub:
        studio = hub.app[STUDIO]
        recording_id = "20300319-100000-aa11bb"
        final = tmp_path / f"{recording_id}.mp4"
        ffmpeg = await asyncio.create_subprocess_exec(
            "ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=s=160x90:r=10", "-t", "2", "-c:v", "libx264",
            "-preset", "ultrafast", "-g", "10", str(final),
        )  # fmt: skip
        assert await ffmpeg.wait() == 0
        await studio.recordings.create(recording_id, booking_id=None, teacher=TEACHER.username, teacher_name="Cô Lan",
                                       title="Lịch sử 8", language="vi")  # fmt: skip
        await studio.recordings.update(recording_id, state="draft", file_path=str(final), duration_s=2.0)
        await studio.review.edit(TEACHER, recording_id, {"subject": "Lịch sử", "grade": "8"})
        await studio.review.submit(TEACHER, recording_id)
        await studio.review.approve(STAFF, recording_id)
        password = await add_user(hub, "ky.thuat", "studio_staff")
        async with aiohttp.ClientSession(hub.url, cookie_jar=aiohttp.CookieJar(unsafe=True)) as staff:
            form = {"username": "ky.thuat", "password": password, "next": "/"}
            async with staff.post("/login", data=form, allow_redirects=False) as response:
                assert response.status == 302
            async with staff.post(f"/api/studio/recordings/{recording_id}/publish") as response:
                assert response.status == 200, await response.text()
                sha256 = (await response.json())["sha256"]
            courier = hub.app[LECTURES]
            await wait_for(lambda: courier.last_success is not None)
            assert lecture_bank.uploads[sha256]["status"] == "complete"
            async with staff.get("/api/studio/recordings?state=published") as response:
                (listed,) = (await response.json())["recordings"]
            assert listed["upload"]["delivered_at"] is not None and listed["upload"]["last_error"] is None
            assert listed["upload"]["sent_bytes"] == listed["upload"]["size_bytes"] > 0
            async with staff.get("/api/studio/outbox") as response:
                body = await response.json()
            assert body["depth"] == 0 and body["courier"]["state"] == "idle"
        details = lecture_bank.uploads[sha256]["details"]
        assert details["metadata"]["subject"] == "Lịch sử" and details["title"] == "Lịch sử 8"
