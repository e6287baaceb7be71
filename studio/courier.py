"""Published lectures to the province's materials bank: the studio's courier of the materials outbox.

It uses the hub pusher's materials client (``classroom_hub.pusher.materials.MaterialsBank``,
the bank API of docs/central-database.md section 8), so the hub core knows nothing of the
studio. For each row of the outbox, oldest first, it announces the file (``PUT``), learns how
many bytes the bank already holds, and sends the rest in chunks from there, noting every
confirmed offset in ``sent_bytes``; a dropped line costs at most the chunk in flight. When the
last byte is in, the bank hashes the whole file and the outbox confirms it against the hash
computed at publishing (a mismatch starts the file again from byte 0). Failures are noted in
the row (``attempts``, ``last_error``) and retried with exponential backoff and jitter; a
newly published lecture wakes the courier at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from classroom_hub.backoff import Backoff
from classroom_hub.errors import swallowed
from classroom_hub.pusher.errors import MaterialsError
from classroom_hub.pusher.materials import MaterialsBank, UploadMismatch
from classroom_hub.pusher.privacy import mask_personal
from studio.errors import StudioError
from studio.publishing import Material, MaterialsOutbox

log = logging.getLogger(__name__)

CourierState = Literal["starting", "uploading", "idle", "waiting", "stopped"]
KIND = "lecture_video"


class LectureCourier:
    def __init__(
        self,
        outbox: MaterialsOutbox,
        bank: Callable[[], MaterialsBank],
        *,
        backoff: Backoff,
        idle_s: float = 600.0,
        chunk_bytes: int = 8 << 20,
    ) -> None:
        self.outbox = outbox
        self._bank = bank  # a fresh client (its own HTTP session) for each round
        self.backoff = backoff
        self.idle_s = idle_s
        self.chunk_bytes = chunk_bytes
        self.state: CourierState = "starting"
        self.uploading: str | None = None  # the recording on its way now
        self.last_success: float | None = None
        self.last_error: str | None = None
        self.next_attempt_at: float | None = None
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Look at the outbox now, and retry now if waiting after a failure."""
        self._wake.set()

    def status(self) -> dict[str, Any]:
        return {"state": self.state, "uploading": self.uploading, "last_success": self.last_success,
                "last_error": self.last_error, "next_attempt_at": self.next_attempt_at}  # fmt: skip

    async def run(self) -> None:
        remove = self.outbox.on_enqueue(self.wake)
        try:
            while True:
                try:
                    moved = await self.deliver_pending()
                    self.backoff.reset()
                    self.next_attempt_at = None
                    if not moved:
                        self.state = "idle"
                        await self._sleep(self.idle_s)
                except (MaterialsError, StudioError) as err:
                    await self._failed(str(err))
                except Exception as err:  # a bug or a broken disk must not take the studio down
                    swallowed("lecture_courier_error")
                    await self._failed(f"hub side: {type(err).__name__}: {err}")
        finally:
            self.state = "stopped"
            remove()

    async def deliver_pending(self) -> int:
        """Upload every lecture waiting, oldest first; raises on the first that fails (the rest wait)."""
        done = 0
        while pending := await self.outbox.pending(limit=10):
            async with self._bank() as bank:
                for material in pending:
                    await self._deliver(bank, material)
                    done += 1
        return done

    async def _deliver(self, bank: MaterialsBank, material: Material) -> None:
        self.state, self.uploading = "uploading", material.recording_id
        path = Path(material.file_path)
        try:
            size = await asyncio.get_running_loop().run_in_executor(None, lambda: path.stat().st_size)
        except OSError as err:
            await self._note_failure(material, f"{path}: {err.strerror or err}")
            raise StudioError(f"material {material.seq}: cannot read {path}: {err}") from err
        if size != material.size_bytes:
            problem = f"{path.name} is {size} bytes, {material.size_bytes} when published: the file changed"
            await self._note_failure(material, problem)
            raise StudioError(f"material {material.seq}: {problem}")
        details = {"kind": KIND, "media_type": material.metadata.get("content_type", "video/mp4"),
                   "title": material.metadata.get("title") or material.recording_id,
                   "school": material.metadata.get("school_code"), "metadata": material.metadata}  # fmt: skip

        async def confirmed(offset: int) -> None:
            await self.outbox.progress(material.seq, offset)

        try:
            upload = await bank.upload(path, material.sha256, details, chunk_bytes=self.chunk_bytes,
                                       progress=confirmed)  # fmt: skip
        except UploadMismatch as err:
            await self.outbox.delivered(material.seq, err.remote_sha256)  # notes it, back to byte 0, raises
            raise
        except MaterialsError as err:
            await self._note_failure(material, str(err))
            raise
        await self.outbox.progress(material.seq, material.size_bytes)
        await self.outbox.delivered(material.seq, upload.sha256, upload.remote_id)
        self.last_success, self.uploading = time.time(), None
        log.info("event=lecture_delivered recording=%s seq=%d bytes=%d remote_id=%s",
                 material.recording_id, material.seq, material.size_bytes, upload.remote_id)  # fmt: skip

    async def _note_failure(self, material: Material, error: str) -> None:
        with contextlib.suppress(StudioError):  # the database failing too: the log line still says why
            await self.outbox.failed(material.seq, mask_personal(error)[:500])

    async def _failed(self, message: str) -> None:
        self.last_error = mask_personal(message)
        delay = self.backoff.next()
        self.next_attempt_at = time.time() + delay
        self.state = "waiting"
        log.warning("event=lecture_upload_failed recording=%s retry_in_s=%.1f error=%r",
                    self.uploading, delay, self.last_error)  # fmt: skip
        await self._sleep(delay)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()
