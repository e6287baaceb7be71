"""Handing approved lectures to the province's materials bank: the outbox and the xAPI statement.

The outbox is the ``materials_outbox`` table of ``<data_dir>/studio/studio.db`` (docs/studio.md,
"Materials outbox"): one row per published recording, oldest ``seq`` first, holding the file's
path, size and SHA-256 and its metadata as JSON. The pusher uploads the file from ``sent_bytes``
on (resumable), reports progress, and confirms delivery with the SHA-256 the central side
computed; a mismatch sends the upload back to byte 0. Rows are never deleted: ``delivered_at`` says done.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from classroom_hub import xapi
from classroom_hub.events import Listeners
from studio.errors import NotFound, StudioError
from studio.recordings import Recording
from studio.store import StudioStore

# ADL's registry has no "published": Activity Streams 1.0 "post" is "the act of authoring an object
# and then publishing it", which is what the studio does with a lecture.
VERB_PUBLISHED = "http://activitystrea.ms/schema/1.0/post"
EXT_SUBJECT = f"{xapi.VOCABULARY}/extensions/subject"
EXT_GRADE = f"{xapi.VOCABULARY}/extensions/grade"
EXT_SHA256 = f"{xapi.VOCABULARY}/extensions/sha256"
EXT_SIZE = f"{xapi.VOCABULARY}/extensions/size-bytes"
EXT_BOOKING = f"{xapi.VOCABULARY}/extensions/studio-booking"
EXT_REVIEWER = f"{xapi.VOCABULARY}/extensions/reviewer"
EXT_PUBLISHED_BY = f"{xapi.VOCABULARY}/extensions/published-by"
CHUNK = 1 << 20


@dataclass(frozen=True)
class Material:
    seq: int
    recording_id: str
    file_path: str
    size_bytes: int
    sha256: str
    metadata: dict[str, Any]
    queued_at: float
    sent_bytes: int
    attempts: int
    last_error: str | None
    delivered_at: float | None
    remote_id: str | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Material:
        data = dict(row)
        data["metadata"] = json.loads(data["metadata"])
        return cls(**data)

    def upload(self) -> dict[str, Any]:
        """How far the lecture is on its way to the materials bank (for the review queue and the teacher)."""
        return {"sent_bytes": self.sent_bytes, "size_bytes": self.size_bytes, "attempts": self.attempts,
                "last_error": self.last_error, "delivered_at": self.delivered_at}  # fmt: skip


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


async def file_sha256(path: Path) -> str:
    return await asyncio.get_running_loop().run_in_executor(None, sha256_of, path)


class MaterialsOutbox:
    def __init__(self, store: StudioStore) -> None:
        self.store = store
        self._listeners: Listeners[[]] = Listeners("outbox_listener_failed")

    def on_enqueue(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` after each lecture queued (the courier wakes up); returns a remover."""
        return self._listeners.add(listener)

    async def enqueue(self, recording_id: str, path: Path, sha256: str, metadata: dict[str, Any]) -> int:
        """Queue a file for the materials bank; queuing the same recording twice keeps the first row."""
        size = (await asyncio.to_thread(path.stat)).st_size
        now = time.time()

        def insert(conn: sqlite3.Connection) -> int:
            conn.execute(
                "INSERT OR IGNORE INTO materials_outbox (recording_id, file_path, size_bytes, sha256, metadata, "
                "queued_at) VALUES (?, ?, ?, ?, ?, ?)",
                (recording_id, str(path), size, sha256, json.dumps(metadata, ensure_ascii=False), now),
            )
            return int(
                conn.execute("SELECT seq FROM materials_outbox WHERE recording_id = ?", (recording_id,)).fetchone()[0]
            )

        seq = await self.store.run(insert)
        self._listeners.emit()
        return seq

    async def pending(self, limit: int = 10) -> list[Material]:
        rows = await self.store.run(
            lambda conn: conn.execute(
                "SELECT * FROM materials_outbox WHERE delivered_at IS NULL ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
        )
        return [Material.from_row(r) for r in rows]

    async def get(self, seq: int) -> Material:
        def query(conn: sqlite3.Connection) -> Material:
            row = conn.execute("SELECT * FROM materials_outbox WHERE seq = ?", (seq,)).fetchone()
            if row is None:
                raise NotFound(f"no material {seq} in the outbox")
            return Material.from_row(row)

        return await self.store.run(query)

    async def of_recordings(self, recording_ids: list[str]) -> dict[str, Material]:
        """The outbox row of each of these recordings that has one (published ones)."""
        if not recording_ids:
            return {}
        marks = ",".join("?" * len(recording_ids))
        rows = await self.store.run(
            lambda conn: conn.execute(
                f"SELECT * FROM materials_outbox WHERE recording_id IN ({marks})", tuple(recording_ids)
            ).fetchall()
        )
        return {row["recording_id"]: Material.from_row(row) for row in rows}

    async def progress(self, seq: int, sent_bytes: int) -> None:
        """The central side holds the first ``sent_bytes`` bytes: a restart resumes from there."""
        await self.store.run(
            lambda conn: conn.execute(
                "UPDATE materials_outbox SET sent_bytes = min(?, size_bytes) WHERE seq = ?", (sent_bytes, seq)
            )
        )

    async def failed(self, seq: int, error: str) -> None:
        await self.store.run(
            lambda conn: conn.execute(
                "UPDATE materials_outbox SET attempts = attempts + 1, last_error = ? WHERE seq = ?", (error, seq)
            )
        )

    async def delivered(self, seq: int, remote_sha256: str, remote_id: str | None = None) -> None:
        """Confirm delivery with the hash the central side computed; a mismatch restarts the upload."""

        def confirm(conn: sqlite3.Connection) -> str | None:
            row = conn.execute("SELECT sha256 FROM materials_outbox WHERE seq = ?", (seq,)).fetchone()
            if row is None:
                raise NotFound(f"no material {seq} in the outbox")
            if row[0] != remote_sha256.lower():
                conn.execute(
                    "UPDATE materials_outbox SET sent_bytes = 0, attempts = attempts + 1, last_error = ? WHERE seq = ?",
                    (f"sha256 mismatch: central has {remote_sha256}", seq),
                )
                return str(row[0])
            conn.execute(
                "UPDATE materials_outbox SET delivered_at = ?, remote_id = ?, last_error = NULL WHERE seq = ?",
                (time.time(), remote_id, seq),
            )
            return None

        expected = await self.store.write(confirm)
        if expected is not None:
            raise StudioError(f"material {seq}: the central copy's sha256 {remote_sha256} is not {expected}")

    async def depth(self) -> int:
        sql = "SELECT count(*) FROM materials_outbox WHERE delivered_at IS NULL"
        return int(await self.store.run(lambda conn: conn.execute(sql).fetchone()[0]))


def published_statement(
    recording: Recording, *, school_code: str, room_id: str, home_page: str, publisher: str, sha256: str,
    size_bytes: int, at: float,
) -> dict[str, Any]:  # fmt: skip
    """xAPI 1.0.3 (built with the hub's ``classroom_hub.xapi``): the teacher's lecture was published
    to the materials bank. The id is stable (uuid5 of school, room, recording): a resend is a duplicate."""
    language = recording.language
    lecture = xapi.activity(
        f"{home_page}/xapi/" + "/".join(quote(p, safe="") for p in ("schools", school_code, "rooms", room_id,
                                                                     "lectures", recording.id)),
        "video", recording.title or recording.id, language,
        extensions={EXT_SUBJECT: recording.subject, EXT_GRADE: recording.grade, EXT_SHA256: sha256,
                    EXT_SIZE: size_bytes},
    )  # fmt: skip
    return {
        "id": xapi.statement_id("studio", school_code, room_id, "published", recording.id),
        "actor": xapi.agent(home_page, recording.teacher or "unknown"),
        "verb": {"id": VERB_PUBLISHED, "display": {"en-US": "published", "vi": "đã xuất bản"}},
        "object": lecture,
        "result": {"duration": xapi.iso_duration(max(0.0, recording.duration_s or 0.0)), "completion": True},
        "context": {
            "platform": "classroom-hub studio",
            "language": language,
            "extensions": {
                xapi.EXT_SCHOOL: school_code,
                xapi.EXT_ROOM: room_id,
                EXT_BOOKING: recording.booking_id,
                EXT_REVIEWER: recording.reviewer,
                EXT_PUBLISHED_BY: publisher,
            },
        },
        "timestamp": xapi.iso_timestamp(at),
        "version": xapi.XAPI_VERSION,
    }
