"""Review and publishing: draft -> submitted -> approved / rejected (with the reviewer's comment) -> published.

| action | from | to | who |
|---|---|---|---|
| edit (metadata, trim in/out) | draft, rejected | same | the recording's teacher, studio staff |
| submit (makes the trimmed file) | draft, rejected | submitted | the recording's teacher, studio staff |
| approve | submitted | approved | studio staff (not for their own recording) |
| reject (comment required) | submitted | rejected | studio staff (not for their own recording) |
| publish (outbox + xAPI) | approved | published | studio staff |

A recording that is still being recorded, or has no file, cannot be edited or submitted.
Every transition is written to ``review_log``.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.bookings import Actor
from studio.errors import NotAllowed, ReviewError
from studio.publishing import MaterialsOutbox, file_sha256, published_statement
from studio.recording import files
from studio.recordings import Recording, Recordings, fetch, update
from studio.store import StudioStore

log = logging.getLogger(__name__)

EDITABLE = ("draft", "rejected")
LANGUAGES = ("vi", "en")
REQUIRED_TO_SUBMIT = ("title", "subject", "grade")
MAX_TEXT = 200


@dataclass(frozen=True)
class Publisher:
    """Where a publication is announced: the room's identity and how to store an xAPI statement."""

    school_code: str
    room_id: str
    home_page: str
    add_statements: Callable[[list[dict[str, Any]]], Awaitable[Any]] | None = None


class Review:
    def __init__(
        self, recordings: Recordings, outbox: MaterialsOutbox, publisher: Publisher, *, trim_exact: bool = False,
        preset: str = "veryfast", crf: int = 23,
    ) -> None:  # fmt: skip
        self.recordings = recordings
        self.outbox = outbox
        self.publisher = publisher
        self.trim_exact = trim_exact
        self.preset = preset
        self.crf = crf

    @property
    def store(self) -> StudioStore:
        return self.recordings.store

    async def _transition(
        self, recording_id: str, actor: Actor, action: str, allowed_from: tuple[str, ...], to: str,
        comment: str | None = None, **values: Any,
    ) -> Recording:  # fmt: skip
        def run(conn: sqlite3.Connection) -> Recording:
            recording = fetch(conn, recording_id)
            if recording.state not in allowed_from:
                raise ReviewError(f"cannot {action} a recording that is {recording.state}")
            update(conn, recording_id, state=to, **values)
            conn.execute(
                "INSERT INTO review_log (recording_id, at, actor, action, from_state, to_state, comment) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (recording_id, time.time(), actor.username, action, recording.state, to, comment),
            )
            return fetch(conn, recording_id)

        recording = await self.store.write(run)
        log.info("event=recording_%s recording=%s by=%s state=%s", action, recording_id, actor.username, to)
        return recording

    @staticmethod
    def _owner_or_staff(recording: Recording, actor: Actor) -> None:
        if not actor.staff and recording.teacher != actor.username:
            raise NotAllowed("only the recording's teacher or studio staff may do this")

    @staticmethod
    def _reviewer(recording: Recording, actor: Actor) -> None:
        if not actor.staff:
            raise NotAllowed("only studio staff review recordings")
        if recording.teacher == actor.username:
            raise NotAllowed("nobody reviews their own recording")

    async def edit(self, actor: Actor, recording_id: str, changes: dict[str, Any]) -> Recording:
        recording = await self.recordings.get(recording_id)
        self._owner_or_staff(recording, actor)
        if recording.state not in EDITABLE:
            raise ReviewError(f"a recording that is {recording.state} cannot be edited")
        values: dict[str, Any] = {}
        for key in ("title", "subject", "grade", "teacher_name"):
            if key in changes:
                text = str(changes[key] or "").strip()
                if len(text) > MAX_TEXT:
                    raise ReviewError(f"{key}: at most {MAX_TEXT} characters")
                values[key] = text or None
        if "language" in changes:
            if changes["language"] not in LANGUAGES:
                raise ReviewError(f"language must be one of {', '.join(LANGUAGES)}")
            values["language"] = changes["language"]
        duration = recording.duration_s or 0.0
        trim_in = _seconds(changes.get("trim_in_s", recording.trim_in_s), "trim_in_s")
        trim_out = _seconds(changes.get("trim_out_s", recording.trim_out_s), "trim_out_s")
        if trim_in is not None and not 0 <= trim_in < duration:
            raise ReviewError(f"trim_in_s must be within 0..{duration:.1f} s")
        if trim_out is not None and not 0 < trim_out <= duration + 0.05:
            raise ReviewError(f"trim_out_s must be within 0..{duration:.1f} s")
        if trim_in is not None and trim_out is not None and trim_out - trim_in < 1.0:
            raise ReviewError("the trimmed recording must last at least 1 s (out point after in point)")
        values["trim_in_s"], values["trim_out_s"] = trim_in, trim_out
        return await self.recordings.update(recording_id, **values)

    async def submit(self, actor: Actor, recording_id: str) -> Recording:
        recording = await self.recordings.get(recording_id)
        self._owner_or_staff(recording, actor)
        if recording.state not in EDITABLE:
            raise ReviewError(f"cannot submit a recording that is {recording.state}")
        missing = [key for key in REQUIRED_TO_SUBMIT if not getattr(recording, key)]
        if missing:
            raise ReviewError(f"fill in {', '.join(missing)} before submitting")
        if not recording.file_path or not await asyncio.to_thread(Path(recording.file_path).exists):
            raise ReviewError("this recording has no file to submit")
        start = recording.trim_in_s or 0.0
        end = recording.trim_out_s or recording.duration_s or 0.0
        target = self.recordings.edit_path(recording_id)
        await files.trim(
            Path(recording.file_path), target, start_s=start, end_s=end, exact=self.trim_exact,
            metadata=recording.metadata(), chapters=recording.chapters, preset=self.preset, crf=self.crf,
        )  # fmt: skip
        return await self._transition(
            recording_id, actor, "submit", EDITABLE, "submitted", edit_path=str(target),
            review_comment=None, reviewer=None,
        )  # fmt: skip

    async def approve(self, actor: Actor, recording_id: str, comment: str | None = None) -> Recording:
        self._reviewer(await self.recordings.get(recording_id), actor)
        return await self._transition(
            recording_id, actor, "approve", ("submitted",), "approved", comment,
            reviewer=actor.username, review_comment=(comment or "").strip() or None, reviewed_at=time.time(),
        )  # fmt: skip

    async def reject(self, actor: Actor, recording_id: str, comment: str) -> Recording:
        self._reviewer(await self.recordings.get(recording_id), actor)
        text = (comment or "").strip()
        if not text:
            raise ReviewError("say why: a rejection needs a comment for the teacher")
        return await self._transition(
            recording_id, actor, "reject", ("submitted",), "rejected", text,
            reviewer=actor.username, review_comment=text, reviewed_at=time.time(),
        )  # fmt: skip

    async def publish(self, actor: Actor, recording_id: str) -> Recording:
        recording = await self.recordings.get(recording_id)
        if not actor.staff:
            raise NotAllowed("only studio staff publish")
        if recording.state != "approved":
            raise ReviewError(f"cannot publish a recording that is {recording.state}")
        if not recording.edit_path or not await asyncio.to_thread(Path(recording.edit_path).exists):
            raise ReviewError("the submitted file is missing")
        path = Path(recording.edit_path)
        info = await files.probe(path)
        sha256 = await file_sha256(path)
        now = time.time()
        metadata = {
            **{k: v for k, v in recording.metadata().items() if k != "comment"},
            "recording_id": recording.id, "booking_id": recording.booking_id, "teacher": recording.teacher,
            "teacher_name": recording.teacher_name, "subject": recording.subject, "grade": recording.grade,
            "duration_s": round(info.duration_s, 3),
            "chapters": [{"at_s": c.at_s, "title": c.title} for c in info.chapters],
            "reviewer": recording.reviewer, "school_code": self.publisher.school_code,
            "room_id": self.publisher.room_id, "published_at": now, "sha256": sha256,
            "file_name": f"{recording.id}.mp4", "content_type": "video/mp4",
        }  # fmt: skip
        await self.outbox.enqueue(recording.id, path, sha256, metadata)
        published = await self._transition(
            recording_id, actor, "publish", ("approved",), "published", None,
            published_at=now, sha256=sha256, duration_s=info.duration_s,
        )  # fmt: skip
        if self.publisher.add_statements is not None:
            statement = published_statement(
                published, school_code=self.publisher.school_code, room_id=self.publisher.room_id,
                home_page=self.publisher.home_page, publisher=actor.username, sha256=sha256,
                size_bytes=info.size_bytes, at=now,
            )  # fmt: skip
            await self.publisher.add_statements([statement])
        return published

    async def log(self, recording_id: str) -> list[dict[str, Any]]:
        rows = await self.store.run(
            lambda conn: conn.execute(
                "SELECT at, actor, action, from_state, to_state, comment FROM review_log WHERE recording_id = ? "
                "ORDER BY seq",
                (recording_id,),
            ).fetchall()
        )
        return [dict(r) for r in rows]


def _seconds(value: Any, name: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError) as err:
        raise ReviewError(f"{name} must be a number of seconds") from err
