"""One courier per destination: drains the store's outbox to it, batch by batch, forever.

For each stream the destination takes, the courier reads the rows after its cursor, hands
them to the destination and moves the cursor only after the destination confirmed (its
commit returned, the LRS answered 200). A crash in between means the batch is sent again
after the restart; the destination stores idempotently, so it keeps one copy. The cursor
is in the store, so a restart resumes exactly there.

A batch the destination refuses for what is in it is split in halves until the records at
fault are alone; those are quarantined with the reason (never retried forever) and
everything else flows. When the destination is away, the courier waits with exponential
backoff and jitter, and starts again at once when woken (``push now``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Literal

from classroom_hub.backoff import Backoff
from classroom_hub.errors import swallowed
from classroom_hub.pusher.destination import Destination, Row
from classroom_hub.pusher.errors import PushError, Rejected, Unreachable
from classroom_hub.pusher.ledger import Ledger, SavedStatus
from classroom_hub.pusher.privacy import Pseudonymiser, mask_personal
from classroom_hub.store import TelemetryStore

log = logging.getLogger(__name__)

CourierState = Literal["starting", "pushing", "idle", "waiting", "stopped"]
# Batches of one stream in a row before the courier looks at the other streams again.
_TURN_BATCHES = 20
_SAVE_EVERY_S = 2.0


class _Round:
    """One delivery of a batch, split or not: did anything get through?"""

    def __init__(self) -> None:
        self.delivered_any = False


class Courier:
    def __init__(
        self,
        destination: Destination,
        store: TelemetryStore,
        ledger: Ledger,
        *,
        batch_size: int,
        backoff: Backoff,
        idle_s: float,
        pseudonymiser: Pseudonymiser | None = None,
    ) -> None:
        self.destination = destination
        self.name = destination.name
        self.store = store
        self.ledger = ledger
        self.batch_size = batch_size
        self.backoff = backoff
        self.idle_s = idle_s
        self.pseudonymiser = pseudonymiser
        self.state: CourierState = "starting"
        self.last_success: float | None = None
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self.next_attempt_at: float | None = None
        self.delivered: Counter[str] = Counter()  # since the hub started, per stream
        self.already: Counter[str] = Counter()  # redelivered rows the destination already had
        self.quarantined = 0
        self.on_batch: Callable[[], None] | None = None  # after each batch handled (progress bars)
        self._cursors: dict[str, int] = {}
        self._wake = asyncio.Event()
        self._opened = False
        self._saved_at = 0.0

    # --- control ----------------------------------------------------------------------

    def wake(self) -> None:
        """Look for rows now, and retry now if waiting after a failure."""
        self._wake.set()

    async def run(self) -> None:
        try:
            while True:
                try:
                    if not self._opened:
                        await self.destination.open()
                        self._opened = True
                    moved = await self._drain()
                    self.backoff.reset()
                    self.next_attempt_at = None
                    if not moved:
                        await self._set_state("idle")
                        await self._sleep(self.idle_s)
                except Unreachable as err:
                    await self._failed(str(err))
                except PushError as err:  # the ledger could not be written
                    await self._failed(f"hub side: {err}")
                except Exception as err:  # the store failing, or a bug: never take the hub down with it
                    swallowed("push_courier_error", destination=self.name)
                    await self._failed(f"hub side: {type(err).__name__}: {err}")
        finally:
            self.state = "stopped"
            await self._close_destination()
            with contextlib.suppress(PushError):
                await self._save(force=True)

    async def close(self) -> None:
        await self._close_destination()
        with contextlib.suppress(PushError):
            await self._save(force=True)

    async def _failed(self, message: str) -> None:
        self.last_error, self.last_error_at = mask_personal(message), time.time()
        delay = self.backoff.next()
        self.next_attempt_at = time.time() + delay
        log.warning("event=push_failed destination=%s retry_in_s=%.1f error=%r", self.name, delay, self.last_error)
        await self._close_destination()
        await self._set_state("waiting", force=True)
        await self._sleep(delay)

    async def _close_destination(self) -> None:
        if self._opened:
            self._opened = False
            try:
                await self.destination.close()
            except Exception:  # a half-broken connection must not stop the courier
                swallowed("push_close_failed", destination=self.name)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()

    async def _set_state(self, state: CourierState, *, force: bool = False) -> None:
        changed = state != self.state
        self.state = state
        await self._save(force=force or changed)

    async def _save(self, *, force: bool = False) -> None:
        # `push status` reads this from the store even when the hub is not running.
        now = time.time()
        if not force and now - self._saved_at < _SAVE_EVERY_S:
            return
        self._saved_at = now
        await self.ledger.save_status(
            SavedStatus(self.name, self.destination.kind, self.state, self.last_success, self.last_error,
                        self.last_error_at, sum(self.delivered.values()), now)
        )  # fmt: skip

    # --- draining ---------------------------------------------------------------------

    async def drain_once(self) -> int:
        """Deliver everything queued now (opening the destination if needed); Unreachable if it is away."""
        if not self._opened:
            await self.destination.open()
            self._opened = True
        total = 0
        while moved := await self._drain():
            total += moved
        return total

    async def _drain(self) -> int:
        moved = 0
        for stream in self.destination.streams:
            moved += await self._drain_stream(stream)
        return moved

    async def _drain_stream(self, stream: str) -> int:
        if stream not in self._cursors:
            self._cursors[stream] = await self.store.cursor(self.name, stream)
        rows = await self.store.read_after(stream, self._cursors[stream], self.batch_size)
        moved = 0
        cursor_write: asyncio.Future[None] | None = None
        try:
            for _ in range(_TURN_BATCHES):
                if not rows:
                    break
                last = int(rows[-1][0])
                # Read the next batch while this one travels: the store and the destination work at once.
                ahead = (
                    asyncio.ensure_future(self.store.read_after(stream, last, self.batch_size))
                    if len(rows) == self.batch_size
                    else None
                )
                try:
                    if self.state != "pushing":
                        await self._set_state("pushing")
                    await self._deliver(stream, rows)
                except BaseException:
                    if ahead is not None:
                        ahead.cancel()
                        with contextlib.suppress(BaseException):
                            await ahead
                    raise
                if cursor_write is not None:
                    await cursor_write
                cursor_write = asyncio.ensure_future(self.store.set_cursor(self.name, stream, last))
                self._cursors[stream] = last
                moved += len(rows)
                self.last_success = time.time()
                if self.on_batch is not None:
                    self.on_batch()
                rows = await ahead if ahead is not None else []
        finally:
            if cursor_write is not None:
                await cursor_write
        if moved:
            await self._save()
        return moved

    def _prepare(self, stream: str, rows: Sequence[Row]) -> tuple[list[Row], list[tuple[int, str | None, str]]]:
        """Pseudonymise statements for this destination; rows that cannot be read go to quarantine."""
        if stream != "statements" or self.pseudonymiser is None:
            return list(rows), []
        ready: list[Row] = []
        refused: list[tuple[int, str | None, str]] = []
        for row in rows:
            try:
                ready.append((*row[:3], self.pseudonymiser.body(row[3])))
            except (ValueError, TypeError, AttributeError) as err:
                refused.append((int(row[0]), str(row[1]), f"not a readable statement: {err}"))
        return ready, refused

    async def _deliver(self, stream: str, rows: Sequence[Row]) -> None:
        ready, refused = self._prepare(stream, rows)
        if refused:
            await self._quarantine(stream, refused)
        if ready:
            await self._send(stream, ready, _Round())

    async def _send(self, stream: str, rows: Sequence[Row], round_: _Round) -> None:
        try:
            result = await self.destination.deliver(stream, rows)
        except Rejected as err:
            if len(rows) > 1:
                half = len(rows) // 2
                await self._send(stream, rows[:half], round_)
                await self._send(stream, rows[half:], round_)
                return
            if err.suspect and not round_.delivered_any:
                raise Unreachable(f"{err.reason} (nothing else got through: the destination is failing)") from err
            record_id = str(rows[0][1]) if stream == "statements" else None
            await self._quarantine(stream, [(int(rows[0][0]), record_id, err.reason)])
            return
        round_.delivered_any = True
        self.delivered[stream] += result.new
        self.already[stream] += result.already

    async def _quarantine(self, stream: str, items: list[tuple[int, str | None, str]]) -> None:
        await self.ledger.quarantine(self.name, stream, items)
        self.quarantined += len(items)
        for seq, record_id, reason in items:
            log.warning("event=push_quarantined destination=%s stream=%s seq=%d id=%s reason=%r",
                        self.name, stream, seq, record_id, mask_personal(reason))  # fmt: skip
