"""Lesson content never runs script on the hub's origin (issue 11, finding 3), in headless Chromium.

A hostile package (tests/classroom_hub/web/lesson_probe.py) holds a file of every type the
importer takes. Opened straight in a signed-in teacher's tab, framed by the teacher's page,
or shown on a tablet, none of them gets the teacher's ``/api/me``; the HTML slide still works
in its sandbox (its style sheet, picture and script load through the address's key).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classroom_hub.lessons.keys import LESSONS
from classroom_hub.lessons.web_files import MEDIA_TYPES, file_headers
from tests.classroom_hub.web.lesson_probe import ACTIVE, LESSON_ID, TEACHER, Observer, package_files, write_package
from tests.conftest import RunningHub, add_user, login, room_settings, run_hub, wait_for, wait_js

# The probes that may run on the hub (in their sandbox, without the hub's origin): HTML pages and their script.
SCRIPTED = {"html", "htm", "xhtml", "js"}
PAGES = {"index.html": "html", "page.htm": "htm", "page.xhtml": "xhtml"}


@dataclass
class Classroom:
    hub: RunningHub
    observer: Observer
    teacher: Any  # the signed-in teacher's page, lesson launched
    files: str  # the running lesson's files, key included: /lesson/<hash>.<key>
    keyless: str  # /lesson/<hash>: for a teacher's login only


@contextlib.asynccontextmanager
async def probe_lesson(tmp_path: Path, broker_url: str, browser: Any) -> AsyncIterator[Classroom]:
    observer = Observer({name: file_headers(name)["Content-Type"] for name in package_files(0)})
    await observer.start()
    observer.files = package_files(observer.port)
    folder = write_package(tmp_path / "probe", observer.port)
    room = {"school_code": "THCS-DEMO", "id": f"lop-7a-probe-{os.getpid()}", "name": "Lớp 7A"}
    try:
        async with run_hub(room_settings(tmp_path, broker_url, room=room)) as hub:
            library = hub.app[LESSONS].library
            record = await asyncio.get_running_loop().run_in_executor(None, library.import_package, folder)
            password = await add_user(hub, TEACHER, "teacher")
            teacher = await (await browser.new_context(viewport={"width": 1400, "height": 1000})).new_page()
            await login(teacher, hub, TEACHER, password, "/teacher")
            await teacher.wait_for_selector("#class-select option[value='khtn-7a']", state="attached")
            await teacher.select_option("#class-select", "khtn-7a")
            await teacher.select_option("#lesson-select", LESSON_ID)
            await teacher.click("#launch")
            await teacher.wait_for_selector("#running", state="visible")
            run = hub.app[LESSONS].run
            assert run is not None
            yield Classroom(hub, observer, teacher, run.files, f"/lesson/{record.hash}")
    finally:
        await observer.close()


async def open_in_tab(page: Any, url: str) -> Any:
    """Go to ``url`` as a person would from the address bar; a download is not an error."""
    from playwright.async_api import Error as PlaywrightError

    try:
        return await page.goto(url)
    except PlaywrightError as err:
        if "Download is starting" not in str(err):
            raise
        return None


def assert_nothing_acted_as_the_teacher(reports: list[str]) -> None:
    for report in reports:
        tag, _where, me, _top, cookie, *_ = report.split("|")
        assert TEACHER not in report and not me.startswith("me:200"), report
        assert tag in SCRIPTED, report  # nothing else ever ran a script
        assert cookie == "cookie:denied", report  # a unique origin of its own: not the hub's


async def test_the_probes_are_live_content_when_served_without_a_sandbox(
    tmp_path: Path, system_mosquitto_url: str, browser: Any
) -> None:
    """The control: from an origin with no sandbox each active file runs its script, and on the
    hub's page the teacher's /api/me really answers. The other tests show what the hub prevents."""
    async with probe_lesson(tmp_path, system_mosquitto_url, browser) as room:
        me = await room.teacher.evaluate("fetch('/api/me').then(r => r.text())")
        assert TEACHER in me
        page = await room.teacher.context.new_page()
        for name, tag in ACTIVE.items():
            await open_in_tab(page, f"http://127.0.0.1:{room.observer.port}/files/{name}")
            await wait_for(lambda tag=tag: bool(room.observer.of(tag)), timeout=20)  # before the page goes
        assert room.observer.of("js"), room.observer.reports  # the HTML page's script file ran too


async def test_no_lesson_file_opened_in_a_teachers_tab_acts_as_the_teacher(
    tmp_path: Path, system_mosquitto_url: str, browser: Any
) -> None:
    async with probe_lesson(tmp_path, system_mosquitto_url, browser) as room:
        tab = await room.teacher.context.new_page()  # the teacher's cookies: signed in
        me_answers: list[int] = []
        tab.on("response", lambda r: me_answers.append(r.status) if r.url.endswith("/api/me") else None)
        for name in package_files(room.observer.port):
            for base in (room.files, room.keyless):
                tag = PAGES.get(name, "")
                reports = len(room.observer.of(tag, "tab"))
                response = await open_in_tab(tab, f"{room.hub.url}{base}/{name}")
                if tag:  # its probe runs (in its sandbox): let it report before the tab moves on
                    await wait_for(lambda t=tag, n=reports: len(room.observer.of(t, "tab")) > n, timeout=20)
                headers = response.headers if response is not None else await head(room, f"{base}/{name}")
                assert headers["x-content-type-options"] == "nosniff", name
                suffix = Path(name).suffix
                if suffix in MEDIA_TYPES:
                    assert headers["content-type"] == MEDIA_TYPES[suffix], name
                    # Plain media is not sandboxed; the hub's own pages may frame it (a PDF in a slide).
                    assert headers.get("content-security-policy", "") in ("", "frame-ancestors 'self'"), name
                else:
                    assert headers["content-security-policy"].startswith("sandbox"), name
        # The HTML pages ran their probe (allowed, in their sandbox) for both addresses.
        assert all(len(room.observer.of(tag, "tab")) == 2 for tag in PAGES.values()), room.observer.reports
        assert_nothing_acted_as_the_teacher(room.observer.reports)
        assert all(r.split("|")[2] == "me:refused:TypeError" for r in room.observer.reports), room.observer.reports
        assert 200 not in me_answers


async def head(room: Classroom, path: str) -> dict[str, str]:
    """Headers of a file the browser downloads instead of showing (the teacher's cookies are not needed)."""
    cookies = await room.teacher.context.cookies()
    jar = "; ".join(f"{c['name']}={c['value']}" for c in cookies)
    reply = await room.teacher.context.request.get(f"{room.hub.url}{path}", headers={"Cookie": jar})
    assert reply.status == 200, path
    if "/payload.xyz" in path or path.endswith("/noextension"):
        assert reply.headers["content-disposition"] == "attachment"
        assert reply.headers["content-type"] == "application/octet-stream"
    return {k.lower(): v for k, v in reply.headers.items()}


async def test_lesson_content_framed_by_the_lesson_pages_cannot_act_as_the_teacher(
    tmp_path: Path, system_mosquitto_url: str, browser: Any
) -> None:
    async with probe_lesson(tmp_path, system_mosquitto_url, browser) as room:
        teacher = room.teacher
        # Step 1, the HTML slide, in the teacher's preview frame: it works in its sandbox.
        await wait_for(lambda: bool(room.observer.of("html")), timeout=20)
        slide = room.observer.of("html")[0].split("|")
        assert slide[1] == "frame" and slide[5] == "css:rgb(1, 2, 3) img:8 js:true", slide
        # Every file framed by the teacher's page without an iframe sandbox: the worst a hub page could do.
        names = list(package_files(room.observer.port))
        await teacher.evaluate(  # in a corner of their own, so the page's buttons stay where they are
            "([base, names]) => { const box = document.createElement('div');"
            " box.style = 'position: fixed; right: 0; bottom: 0; width: 40px; height: 40px; overflow: hidden';"
            " for (const n of names) { const f = document.createElement('iframe'); f.src = base + '/' + n;"
            " box.append(f); } document.body.append(box); }",
            [room.files, names],
        )
        await wait_for(lambda: all(room.observer.of(t, "frame") for t in PAGES.values()), timeout=20)
        # The other steps as the lesson shows them: picture, PDF in a frame, video with captions.
        await teacher.click("#steps li[data-index='1'] button")
        await wait_js(teacher, "document.querySelector('#preview img.slide-image')?.naturalWidth > 0")
        await teacher.click("#steps li[data-index='2'] button")
        await wait_js(teacher,
            "files => document.querySelector('#preview iframe.slide-frame')?.getAttribute('src')"
            " === files + '/doc.pdf#page=1'",
            arg=room.files,
        )
        await teacher.click("#steps li[data-index='3'] button")
        await wait_js(teacher,
            "files => document.querySelector('#preview video.slide-video')?.getAttribute('src')"
            " === files + '/clip.mp4'",
            arg=room.files,
        )
        assert_nothing_acted_as_the_teacher(room.observer.reports)

        # A tablet: nothing without its join token, the lesson's files once seated.
        tablet = await (await teacher.context.browser.new_context(viewport={"width": 800, "height": 1280})).new_page()
        for path, status in ((f"{room.keyless}/index.html", 401), (f"{room.keyless}.{'A' * 22}/pic.png", 403)):
            response = await open_in_tab(tablet, f"{room.hub.url}{path}")
            assert response is not None and response.status == status, path
        code = (await teacher.inner_text("#code")).strip()
        await teacher.click("#steps li[data-index='0'] button")
        before = len(room.observer.of("html"))
        await tablet.goto(f"{room.hub.url}/join?code={code}")
        await tablet.click("#names [data-student='hs-7a-01']")
        await tablet.wait_for_selector("#step iframe.slide-frame")
        await wait_for(lambda: len(room.observer.of("html")) > before, timeout=20)
        assert room.observer.of("html")[-1].split("|")[5] == "css:rgb(1, 2, 3) img:8 js:true"
        await teacher.click("#steps li[data-index='4'] button")  # the quiz, with its picture
        await wait_js(tablet, "document.querySelector('#step img.question-image')?.naturalWidth === 8")
        assert_nothing_acted_as_the_teacher(room.observer.reports)
