"""Results that leave the room: a lesson's results (JSON, CSV, the printable page) and a class's
gradebook (JSON, CSV), for teachers (docs/results.md).

``setup(app)`` adds the gradebook as a long-lived part (it folds the stored statements in the
background, classroom_hub/lessons/gradebook.py) and these routes. Every answer is made from
what is stored, after a catch-up, so it includes the last answer given and is the same after a
restart. Names come from the roster (classroom_hub/roster/); a student no longer on it is shown
by their id.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web

from classroom_hub.errors import HubError, StoreError, report_crash
from classroom_hub.keys import CATALOGUES, CLOCK, HEALTH, SETTINGS, STORE
from classroom_hub.lessons import exports
from classroom_hub.lessons.gradebook import GRADEBOOK_FILE, Gradebook
from classroom_hub.lessons.keys import GRADEBOOK, LESSONS
from classroom_hub.lessons.report import Student, class_results, lesson_results
from classroom_hub.web.access import allow
from classroom_hub.web.routes import require
from classroom_hub.web.security import problem

log = logging.getLogger(__name__)

TEACHERS = ("teacher",)
# Marks must be folded long before the pusher may remove delivered statements (days); a few
# minutes also keeps a read's catch-up short. There is no event for "statements stored".
FOLD_EVERY_S = 300.0
_RUN_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_CLASS_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(gradebook_part)
    app.router.add_get("/api/results/classes", classes)
    app.router.add_get("/api/results/classes/{class_id}", class_book)
    app.router.add_get("/api/results/classes/{class_id}/gradebook.csv", class_book_csv)
    app.router.add_get("/api/results/runs/{run}", run_results)
    app.router.add_get("/api/results/runs/{run}/results.csv", run_results_csv)


async def gradebook_part(app: web.Application) -> AsyncIterator[None]:
    gradebook = await open_gradebook(app[SETTINGS].data_dir / GRADEBOOK_FILE)
    failing: list[str] = []

    async def follow() -> None:
        while True:
            try:
                read = await gradebook.catch_up(app[STORE])
                if failing:
                    log.info("event=gradebook_recovered")
                failing.clear()
                if read:
                    log.info("event=gradebook_folded statements=%d", read)
            except HubError as err:
                if not failing:
                    log.error("event=gradebook_fold_failed error=%r", err.detail)
                failing[:] = [err.detail]
            await app[CLOCK].sleep(FOLD_EVERY_S)

    task = asyncio.create_task(follow(), name="gradebook")
    task.add_done_callback(report_crash("gradebook_task_failed"))
    app[GRADEBOOK] = gradebook
    app[HEALTH].parts["gradebook"] = lambda: "up" if not task.done() and not failing else "down"
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await gradebook.close()


async def open_gradebook(path: Path) -> Gradebook:
    """The gradebook at ``path``; a file that cannot be opened (damaged, newer) is set aside and a
    new one made, which the statements still stored fill again: the hub starts either way."""
    gradebook = Gradebook(path)
    try:
        await gradebook.db.open()
        return gradebook
    except StoreError as err:
        await gradebook.close()
        aside = path.with_name(f"{path.name}.unreadable-{time.strftime('%Y%m%d-%H%M%S')}")
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                (path.parent / (path.name + suffix)).rename(aside.parent / (aside.name + suffix))
        log.error("event=gradebook_unreadable path=%s error=%r action='set aside as %s, made again from the "
                  "statements still stored'", path, err.detail, aside.name)  # fmt: skip
    gradebook = Gradebook(path)
    await gradebook.db.open()
    return gradebook


# --- helpers ---------------------------------------------------------------------------------


async def _caught_up(request: web.Request) -> Gradebook:
    gradebook = request.config_dict[GRADEBOOK]
    await gradebook.catch_up(request.config_dict[STORE])
    return gradebook


async def _class_list(request: web.Request, class_id: str) -> list[Student]:
    roster = request.config_dict[LESSONS].roster
    members = await asyncio.get_running_loop().run_in_executor(None, roster.students, class_id)
    return [(m.sourced_id, m.display_name) for m in members]


def _translate(request: web.Request) -> tuple[str, exports.Translate]:
    lang = request.query.get("lang", "vi")
    catalogues: dict[str, bytes] = request.config_dict[CATALOGUES]
    body = catalogues.get(lang)
    if body is None:
        raise problem(400, "unknown_language", f"lang must be one of: {', '.join(catalogues)}")
    strings: dict[str, str] = json.loads(body)
    return lang, lambda key: strings.get(key, key)


def _csv(data: bytes, name: str) -> web.Response:
    disposition = f"attachment; filename=\"{name}.csv\"; filename*=UTF-8''{quote(name)}.csv"
    return web.Response(body=data, content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": disposition, "Cache-Control": "no-store"})  # fmt: skip


def _class_id(request: web.Request) -> str:
    class_id = request.match_info["class_id"]
    if not _CLASS_ID.match(class_id):
        raise problem(400, "invalid", "a class id has letters, digits, '.', '_' or '-' only")
    return class_id


async def _run(request: web.Request) -> dict[str, Any]:
    run = request.match_info["run"]
    if not _RUN_ID.match(run):
        raise problem(400, "invalid", "a lesson run id is a UUID")
    gradebook = await _caught_up(request)
    record = await gradebook.record(run)
    if record is None:
        raise problem(404, "unknown_run", f"no lesson run {run} in the gradebook")
    return lesson_results(record, await _class_list(request, record.run.class_id))


# --- routes ----------------------------------------------------------------------------------


@allow(*TEACHERS)
async def classes(request: web.Request) -> web.Response:
    """The classes that had lessons here, the latest first."""
    await require(request, *TEACHERS)
    gradebook = await _caught_up(request)
    found: dict[str, dict[str, Any]] = {}
    for run in reversed(await gradebook.runs()):
        entry = found.setdefault(run.class_id, {"id": run.class_id, "title": run.class_title, "runs": 0,
                                                "last": run.started_at})  # fmt: skip
        entry["runs"] += 1
    return web.json_response({"classes": list(found.values())})


async def _book(request: web.Request) -> dict[str, Any]:
    class_id = _class_id(request)
    gradebook = await _caught_up(request)
    runs = await gradebook.runs(class_id)
    if not runs:
        raise problem(404, "unknown_class", f"no lesson of class {class_id} in the gradebook")
    records = await gradebook.records(r.run for r in runs)
    return class_results(class_id, runs[-1].class_title, records, await _class_list(request, class_id))


@allow(*TEACHERS)
async def class_book(request: web.Request) -> web.Response:
    await require(request, *TEACHERS)
    return web.json_response(await _book(request))


@allow(*TEACHERS)
async def class_book_csv(request: web.Request) -> web.Response:
    await require(request, *TEACHERS)
    _lang, t = _translate(request)
    book = await _book(request)
    title = book["class"]["title"]
    data = exports.gradebook_csv(book, t, semicolon=request.query.get("sep") == "semicolon")
    return _csv(data, exports.file_name(t("results.file.gradebook"), title))


@allow(*TEACHERS)
async def run_results(request: web.Request) -> web.Response:
    await require(request, *TEACHERS)
    return web.json_response(await _run(request))


@allow(*TEACHERS)
async def run_results_csv(request: web.Request) -> web.Response:
    await require(request, *TEACHERS)
    _lang, t = _translate(request)
    results = await _run(request)
    data = exports.lesson_csv(results, t, semicolon=request.query.get("sep") == "semicolon")
    day = exports.local_time(results["started_at"])[:10]
    return _csv(data, exports.file_name(results["class"]["title"], results["lesson"]["title"], day))
