"""The pusher on the technician console in headless Chromium: queues, errors, the quarantine and "push now"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from classroom_hub.app import STORE
from classroom_hub.pusher.keys import PUSHER
from tests.classroom_hub.pusher.conftest import free_port, statement
from tests.conftest import add_user, login, room_settings, run_hub, wait_for, wait_js


def cell(destination: str, column: str) -> str:
    return f"#push-destinations tr[data-destination='{destination}'] td.{column}"


async def until_shown(page: Any, destination: str, column: str, test: str) -> None:
    """Wait until the cell's text passes ``test`` (JavaScript on ``text``); the panel refreshes itself."""
    await wait_js(page,
        f"(() => {{ const c = document.querySelector(\"{cell(destination, column)}\"); if (!c) return false;"
        f" const text = c.textContent; return {test}; }})()"
    )


async def test_the_technician_sees_the_queues_the_quarantine_and_pushes_now(tmp_path: Path, browser: Any) -> None:
    lrs = f"http://127.0.0.1:{free_port()}/xAPI"  # nobody listens: the LRS is down
    settings = room_settings(
        tmp_path, None, devices=[],
        central={"idle_check_s": 300, "retry_min_s": 60, "retry_max_s": 120, "roster_pull_interval_min": 0,
                 "destinations": [{"name": "archive", "kind": "sqlite", "path": str(tmp_path / "archive.db")},
                                  {"name": "lrs", "kind": "xapi", "url": lrs}]},
    )  # fmt: skip
    async with run_hub(settings) as hub:
        couriers = hub.app[PUSHER].couriers
        await wait_for(lambda: all(c.state == "idle" for c in couriers.values()))
        # Both couriers now sleep for five minutes: what arrives waits for them, or for "push now".
        good = statement(1)
        await hub.app[STORE].add_statements([good])
        hub.app[STORE].add_device_events([("T01", 1.0, "state", "[1, 2]")])  # a state change must be an object
        password = await add_user(hub, "kythuat", "technician")
        page = await browser.new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "warning" else None)  # missing strings
        page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
                if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)  # fmt: skip
        page.on("pageerror", lambda e: problems.append(str(e)))
        try:
            await login(page, hub, "kythuat", password, "/tech")
            await until_shown(page, "archive", "queue", "text !== '0'")
            assert await page.inner_text(cell("archive", "queue")) == "2 (bản ghi học tập 1 · sự kiện thiết bị 1)"
            assert await page.inner_text(cell("lrs", "queue")) == "1 (bản ghi học tập 1)"
            assert await page.inner_text(cell("archive", "oldest")) != "không có"
            assert await page.inner_text(cell("archive", "last-success")) == "chưa lần nào"
            assert await page.inner_text(cell("archive", "quarantined")) == "0"
            assert await page.is_visible("#push-quarantine-none")

            await page.click("#push-now")
            await until_shown(page, "archive", "quarantined", "text === '1'")
            assert "archive, lrs" in await page.inner_text("#push-now-result")
            await until_shown(page, "archive", "queue", "text === '0'")
            assert await page.inner_text(cell("archive", "oldest")) == "không có"
            assert "giây trước" in await page.inner_text(cell("archive", "last-success"))
            row = page.locator("#push-quarantine tr[data-destination='archive']")
            await row.wait_for()
            assert "must be a JSON object" in await row.locator("td.reason").inner_text()
            assert "sự kiện thiết bị" in await row.inner_text()
            assert await page.inner_text("#push-quarantined-badge") == "1"
            # The LRS is still down: its row says so, with the error and when the courier tries again.
            await until_shown(page, "lrs", "last-error", "text.includes('Cannot connect to host 127.0.0.1')")
            lrs_row = await page.inner_text("#push-destinations tr[data-destination='lrs']")
            assert "không kết nối được, sẽ thử lại" in lrs_row and "thử lại lúc" in lrs_row
            assert await page.inner_text(cell("lrs", "queue")) == "1 (bản ghi học tập 1)"
        finally:
            await page.close()
    assert problems == []
