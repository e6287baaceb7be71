"""The recordings of the studio and their life: recording -> draft -> submitted -> approved /
rejected -> published (``review.py`` moves them along), with chapters and a layout log.

Files live in the recordings folder: ``<id>.work.mp4`` is what ffmpeg writes (fragmented MP4,
crash-safe), ``<id>.mp4`` the finished recording with chapters, ``<id>.edit.mp4`` the trimmed
version made on submission, which is what reviewers watch and what gets published.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.errors import NotFound, RecordingError
from studio.recording import files
from studio.recording.files import Chapter
from studio.store import StudioStore

log = logging.getLogger(__name__)

STATES = ("recording", "draft", "submitted", "approved", "rejected", "published")
METADATA_FIELDS = ("title", "subject", "grade", "language", "teacher_name")


@dataclass(frozen=True)
class Recording:
    id: str
    booking_id: str | None
    teacher: str | None
    teacher_name: str | None
    state: str
    partial: bool
    started_at: float
    ended_at: float | None
    work_path: str
    file_path: str | None
    edit_path: str | None
    duration_s: float | None
    size_bytes: int | None
    dropped_frames: int
    layouts: list[tuple[float, str]]
    error: str | None
    trim_in_s: float | None
    trim_out_s: float | None
    title: str | None
    subject: str | None
    grade: str | None
    language: str
    reviewer: str | None
    review_comment: str | None
    reviewed_at: float | None
    published_at: float | None
    sha256: str | None
    updated_at: float
    chapters: list[Chapter] = field(default_factory=list)

    @classmethod
    def from_row(cls, row: sqlite3.Row, chapters: list[Chapter]) -> Recording:
        data = dict(row)
        data["partial"] = bool(data["partial"])
        data["layouts"] = [tuple(x) for x in json.loads(data["layouts"])]
        return cls(**data, chapters=chapters)

    def metadata(self) -> dict[str, str]:
        """The tags written into the file and sent with it to the materials bank."""
        return {
            "title": self.title or "",
            "artist": self.teacher_name or self.teacher or "",
            "genre": self.subject or "",
            "grade": self.grade or "",
            "language": self.language,
            "comment": f"recording {self.id}, booking {self.booking_id or '-'}",
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "booking_id": self.booking_id, "teacher": self.teacher, "teacher_name": self.teacher_name,
            "state": self.state, "partial": self.partial, "started_at": self.started_at, "ended_at": self.ended_at,
            "duration_s": self.duration_s, "size_bytes": self.size_bytes, "dropped_frames": self.dropped_frames,
            "layouts": self.layouts, "error": self.error, "trim_in_s": self.trim_in_s, "trim_out_s": self.trim_out_s,
            "title": self.title, "subject": self.subject, "grade": self.grade, "language": self.language,
            "reviewer": self.reviewer, "review_comment": self.review_comment, "reviewed_at": self.reviewed_at,
            "published_at": self.published_at, "sha256": self.sha256,
            "chapters": [{"at_s": c.at_s, "title": c.title} for c in self.chapters],
            "has_file": bool(self.file_path), "has_edit": bool(self.edit_path),
        }  # fmt: skip


def fetch(conn: sqlite3.Connection, recording_id: str) -> Recording:
    row = conn.execute("SELECT * FROM recordings WHERE id = ?", (recording_id,)).fetchone()
    if row is None:
        raise NotFound(f"no recording {recording_id!r}")
    return Recording.from_row(row, _chapters(conn, recording_id))


def _chapters(conn: sqlite3.Connection, recording_id: str) -> list[Chapter]:
    rows = conn.execute("SELECT at_s, title FROM chapters WHERE recording_id = ? ORDER BY at_s", (recording_id,))
    return [Chapter(float(r[0]), str(r[1])) for r in rows]


def update(conn: sqlite3.Connection, recording_id: str, **values: Any) -> None:
    values["updated_at"] = time.time()
    if "layouts" in values:
        values["layouts"] = json.dumps(values["layouts"])
    columns = ", ".join(f"{k} = ?" for k in values)
    conn.execute(f"UPDATE recordings SET {columns} WHERE id = ?", (*values.values(), recording_id))


class Recordings:
    def __init__(self, store: StudioStore, folder: Path) -> None:
        self.store = store
        self.folder = folder

    def work_path(self, recording_id: str) -> Path:
        return self.folder / f"{recording_id}.work.mp4"

    def final_path(self, recording_id: str) -> Path:
        return self.folder / f"{recording_id}.mp4"

    def edit_path(self, recording_id: str) -> Path:
        return self.folder / f"{recording_id}.edit.mp4"

    async def create(
        self, recording_id: str, *, booking_id: str | None, teacher: str | None, teacher_name: str | None,
        title: str | None, language: str, subject: str | None = None, grade: str | None = None,
    ) -> Recording:  # fmt: skip
        now = time.time()

        def insert(conn: sqlite3.Connection) -> Recording:
            conn.execute(
                "INSERT INTO recordings (id, booking_id, teacher, teacher_name, state, started_at, work_path, title, "
                "language, subject, grade, updated_at) VALUES (?, ?, ?, ?, 'recording', ?, ?, ?, ?, ?, ?, ?)",
                (recording_id, booking_id, teacher, teacher_name, now, str(self.work_path(recording_id)), title,
                 language, subject, grade, now),
            )  # fmt: skip
            return fetch(conn, recording_id)

        return await self.store.run(insert)

    async def get(self, recording_id: str) -> Recording:
        return await self.store.run(lambda conn: fetch(conn, recording_id))

    async def list(self, *states: str, limit: int = 200) -> list[Recording]:
        wanted = states or STATES

        def query(conn: sqlite3.Connection) -> list[Recording]:
            rows = conn.execute(
                f"SELECT * FROM recordings WHERE state IN ({','.join('?' * len(wanted))}) "
                "ORDER BY started_at DESC LIMIT ?",
                (*wanted, limit),
            ).fetchall()
            return [Recording.from_row(r, _chapters(conn, r["id"])) for r in rows]

        return await self.store.run(query)

    async def add_chapter(self, recording_id: str, at_s: float, title: str) -> None:
        await self.store.run(
            lambda conn: conn.execute(
                "INSERT OR REPLACE INTO chapters (recording_id, at_s, title) VALUES (?, ?, ?)",
                (recording_id, round(at_s, 3), title),
            )
        )

    async def update(self, recording_id: str, **values: Any) -> Recording:
        def run(conn: sqlite3.Connection) -> Recording:
            fetch(conn, recording_id)
            update(conn, recording_id, **values)
            return fetch(conn, recording_id)

        return await self.store.run(run)


async def finish_recording(
    recordings: Recordings, recording_id: str, *, partial: bool, error: str | None = None, dropped_frames: int = 0,
    layouts: list[tuple[float, str]] | None = None,
) -> Recording:  # fmt: skip
    """Turn the working file into the finished one and make the recording a draft (partial if it broke)."""
    recording = await recordings.get(recording_id)
    work, final = Path(recording.work_path), recordings.final_path(recording_id)
    values: dict[str, Any] = {"state": "draft", "ended_at": recording.ended_at or time.time(),
                              "dropped_frames": dropped_frames}  # fmt: skip
    if layouts is not None:
        values["layouts"] = layouts
    try:
        info = await files.finish(work, final, metadata=recording.metadata(), chapters=recording.chapters)
        values.update(file_path=str(final), duration_s=info.duration_s, size_bytes=info.size_bytes)
        await asyncio.get_running_loop().run_in_executor(None, lambda: work.unlink(missing_ok=True))
    except RecordingError as err:
        # Keep the working file: every complete fragment in it still plays.
        log.error("event=recording_finish_failed recording=%s error=%r", recording_id, str(err))
        partial = True
        error = error or str(err)
        with contextlib.suppress(RecordingError):
            info = await files.probe(work)
            values.update(file_path=str(work), duration_s=info.duration_s, size_bytes=info.size_bytes)
    values.update(partial=1 if partial else 0, error=error)
    return await recordings.update(recording_id, **values)
