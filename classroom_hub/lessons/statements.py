"""Learning events on their way to the store: xAPI activities for steps, and the batch writer.

Statements are built by :class:`classroom_hub.xapi.Setting`; here a step becomes the
activity they are about (an interaction with its choices and correct response pattern
for a question), and :class:`StatementWriter` stores them in batches off the hot path,
retrying while the store is failing and draining what is queued before the hub stops.

Every statement added gets a future that resolves once the store has committed it (FULL:
on disk). The batches are group commits: whatever arrives while one batch is being written
goes into the next, so 40 answers at once cost one or two fsyncs, not 40. A tablet is told
``answered`` only after that future resolves (lessons/classroom.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from typing import Any

from classroom_hub import xapi
from classroom_hub.errors import StoreError, report_crash
from classroom_hub.lessons.manifest import PollStep, QuizStep, Step
from classroom_hub.store import TelemetryStore

log = logging.getLogger(__name__)

BATCH = 500


def step_activity(setting: xapi.Setting, step: Step) -> dict[str, Any]:
    """The activity a statement about ``step`` is about (xAPI 2.4.4.1: interactions for questions)."""
    iri, lang = setting.step_iri(step.id), setting.language
    name = step.title or getattr(step, "prompt", "") or step.id
    if isinstance(step, QuizStep):
        choices = [{"id": c.id, "description": {lang: c.text}} for c in step.choices]
        if step.type == "short_answer":
            pattern = list(step.accepted) or ([f"{step.numeric.value:g}"] if step.numeric else [])
            return xapi.activity(iri, "quiz", name, lang, interactionType="fill-in", correctResponsesPattern=pattern)
        return xapi.activity(iri, "quiz", name, lang, interactionType="choice", choices=choices,
                             correctResponsesPattern=[xapi.choice_response(step.correct)])  # fmt: skip
    if isinstance(step, PollStep):
        choices = [{"id": c.id, "description": {lang: c.text}} for c in step.choices]
        return xapi.activity(iri, "poll", name, lang, interactionType="choice", choices=choices)
    return xapi.activity(iri, step.kind, name, lang)


class StatementWriter:
    """Owns one task that writes queued statements to the store in batches."""

    def __init__(self, store: TelemetryStore) -> None:
        self.store = store
        self._queue: asyncio.Queue[tuple[dict[str, Any], asyncio.Future[None]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._pending: dict[str, asyncio.Future[None]] = {}  # statement id -> its commit, while queued
        self.failing: str | None = None  # the store's last error while a batch waits to be retried

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._task

    def start(self) -> None:
        self._task = asyncio.create_task(self._write(), name="lesson-statements")
        self._task.add_done_callback(report_crash("lesson_task_failed", task="lesson-statements"))

    def add(self, statement: dict[str, Any]) -> asyncio.Future[None]:
        """Queue ``statement``; the future resolves once it is committed (never fails: retried)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending[statement["id"]] = future
        self._queue.put_nowait((statement, future))
        return future

    def stored(self, statement: dict[str, Any]) -> asyncio.Future[None]:
        """The commit of ``statement``: its pending one, or a new (idempotent) write of it."""
        pending = self._pending.get(statement["id"])
        return pending if pending is not None else self.add(statement)

    async def flush(self) -> None:
        """Wait until every statement added so far is stored."""
        await self._queue.join()

    async def close(self, timeout: float = 10.0) -> None:
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), timeout)
        if not self._queue.empty():
            log.error("event=statements_lost count=%d reason='store did not take them in %s s'",
                      self._queue.qsize(), timeout)  # fmt: skip
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)  # a crash was reported when it happened
        self._task = None

    async def _write(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                for attempt in itertools.count():
                    try:
                        await self.store.add_statements([statement for statement, _ in batch])
                        break
                    except StoreError as err:
                        self.failing = str(err)
                        log.warning("event=statements_not_stored count=%d attempt=%d error=%s",
                                    len(batch), attempt, err)  # fmt: skip
                        await asyncio.sleep(min(30.0, 0.5 * 2**attempt))
                self.failing = None
                for statement, future in batch:
                    if self._pending.get(statement["id"]) is future:
                        del self._pending[statement["id"]]
                    if not future.done():
                        future.set_result(None)
            finally:
                for _ in batch:
                    self._queue.task_done()
