"""Security headers on every answer, and every page working under its Content-Security-Policy."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from classroom_hub.web.security import OTHER_POLICY, PAGE_POLICY, is_document
from tests.conftest import add_user, login, room_settings, run_hub

PAGES = ("/", "/login", "/join", "/display", "/teacher", "/tech", "/lab", "/studio", "/studio/book")


def test_what_a_browser_may_render_as_a_document_gets_the_page_policy() -> None:
    documents = ("text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml",
                 "application/xslt+xml", "text/xsl", "application/rss+xml", "TEXT/HTML")  # fmt: skip
    assert all(is_document(kind) for kind in documents)
    assert not any(is_document(kind) for kind in ("application/json", "text/css", "application/pdf", "image/png"))


async def test_every_answer_carries_the_security_headers(tmp_path: Path, system_mosquitto_url: str) -> None:
    async with run_hub(room_settings(tmp_path, system_mosquitto_url)) as hub:
        password = await add_user(hub, "lan", "teacher")
        async with aiohttp.ClientSession(hub.url, cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
            page_policy = PAGE_POLICY.format(scripts=f"{hub.url}/static/")
            assert "frame-ancestors 'none'" in page_policy and f"script-src {hub.url}/static/;" in page_policy
            # "/api/push": the answer of a sub-application (classroom_hub/pusher/web.py) gets them too.
            for path in (*PAGES, "/healthz", "/api/me", "/static/hub.css", "/no-such-page", "/i18n/vi.json",
                         "/api/push"):
                async with client.get(path, allow_redirects=False) as r:
                    document = r.content_type == "text/html"
                    assert document == (path in PAGES and r.status == 200), path
                    policy, framing = (page_policy, "DENY") if document else (OTHER_POLICY, "SAMEORIGIN")
                    assert r.headers["Content-Security-Policy"] == policy, path
                    assert r.headers["X-Frame-Options"] == framing, path
                    assert r.headers["X-Content-Type-Options"] == "nosniff", path
                    assert r.headers["Referrer-Policy"] == "same-origin", path
                    assert "Strict-Transport-Security" not in r.headers  # plain HTTP: never
            async with client.post("/login", data={"username": "lan", "password": password}) as r:
                assert r.status == 200
            async with client.get("/api/lessons") as r:
                lesson = next(item for item in await r.json() if item["id"] == "chuyen-dong-thang-10")
            # A lesson file keeps the sandbox its handler gives it, and may be framed by the lesson pages.
            async with client.get(f"/lesson/{lesson['hash']}/slides/06-vi-du.html") as r:
                assert r.status == 200
                assert "sandbox" in r.headers["Content-Security-Policy"]
                assert "X-Frame-Options" not in r.headers
                assert r.headers["X-Content-Type-Options"] == "nosniff"


async def test_every_page_runs_under_its_policy(tmp_path: Path, system_mosquitto_url: str, browser: Any) -> None:
    """With the policy enforced (not bypassed as in the other page tests): each page's script
    runs (its texts are translated) and the browser reports no violation."""
    async with run_hub(room_settings(tmp_path, system_mosquitto_url)) as hub:
        password = await add_user(hub, "root", "admin")
        context = await browser.new_context(bypass_csp=False)
        page = await context.new_page()
        violations: list[str] = []
        page.on("console", lambda m: violations.append(f"{page.url}: {m.text} {m.location}")
                if "Content Security Policy" in m.text else None)  # fmt: skip
        await login(page, hub, "root", password, "/")
        for path in PAGES:
            await page.goto(f"{hub.url}{path}")
            assert page.url.startswith(f"{hub.url}{path}"), page.url
            # A text filled in by the page's script from the catalogue: its script ran.
            await page.locator("[data-i18n]").filter(has_text=re.compile(r"\S")).first.wait_for(timeout=10_000)
        assert violations == []
        await context.close()


FRAMER = '<!doctype html><iframe src="{hub}/tech"></iframe>'


async def test_no_other_origin_may_frame_the_console(tmp_path: Path, system_mosquitto_url: str, browser: Any) -> None:
    async with run_hub(room_settings(tmp_path, system_mosquitto_url)) as hub:
        framer = web.Application()

        async def framing_page(request: web.Request) -> web.Response:
            return web.Response(text=FRAMER.format(hub=hub.url), content_type="text/html")

        framer.router.add_get("/", framing_page)
        runner = web.AppRunner(framer)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        try:
            context = await browser.new_context(bypass_csp=False)
            page = await context.new_page()
            async with page.expect_console_message(lambda m: "frame-ancestors" in m.text) as refused:
                await page.goto(f"http://127.0.0.1:{site.port}/")
            assert "has been blocked" in (await refused.value).text
            await context.close()
        finally:
            await runner.cleanup()
