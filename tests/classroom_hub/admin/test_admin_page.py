"""The admin page in headless Chromium, in Vietnamese: an admin adds a teacher, who logs in with the
one-time password and must choose their own; the admin disables them and they are out at once and
cannot log in again. A roster bundle with bad rows is uploaded: the good rows are in, each bad
one is listed by file, row and column with its reason in Vietnamese. A tablet renamed here is
renamed on /tech while it is open. A backup downloaded here opens, and holds what was done."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import zipfile
from pathlib import Path
from typing import Any

from tests.classroom_hub.admin.bundles import class_7c_with_bad_rows
from tests.conftest import add_user, login, room_settings, run_hub, wait_js


async def _rows(page: Any, selector: str) -> list[list[str]]:
    result: list[list[str]] = await page.evaluate(
        "s => [...document.querySelectorAll(s)].map(tr => [...tr.cells].map(td => td.textContent.trim()))", selector
    )
    return result


async def test_the_admin_page(tmp_path: Path, system_mosquitto_url: str, browser: Any) -> None:
    settings = room_settings(tmp_path, system_mosquitto_url)
    async with run_hub(settings) as hub:
        admin_password = await add_user(hub, "hieu-truong", "admin")
        admin_context = await browser.new_context(accept_downloads=True)
        admin = await admin_context.new_page()
        problems: list[str] = []
        admin.on("pageerror", lambda e: problems.append(str(e)))
        admin.on("console", lambda m: problems.append(m.text) if m.type == "warning" else None)  # a missing string
        admin.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        await login(admin, hub, "hieu-truong", admin_password, "/admin")
        await admin.wait_for_selector("#user-table tr[data-user='hieu-truong']")
        assert await admin.title() == "Quản trị"

        # --- a new teacher, with a one-time password shown once --------------------------------
        await admin.fill("#new-username", "co-mai")
        await admin.fill("#new-name", "Cô Mai")
        await admin.select_option("#new-role", "teacher")
        await admin.click("#add-user button[type=submit]")
        await admin.wait_for_selector("#one-time:not([hidden])")
        assert await admin.inner_text("#one-time-title") == "Mật khẩu dùng một lần của co-mai"
        one_time = await admin.inner_text("#one-time-password")
        assert len(one_time) == 12
        row = admin.locator("#user-table tr[data-user='co-mai']")
        await row.wait_for()
        assert "Giáo viên" in await row.inner_text() and "Chờ đổi mật khẩu" in await row.inner_text()
        await admin.click("#one-time-done")
        assert await admin.locator("#one-time").is_hidden()

        teacher_context = await browser.new_context()
        teacher = await teacher_context.new_page()
        await teacher.goto(f"{hub.url}/login?next=/teacher")
        await teacher.fill("#username", "co-mai")
        await teacher.fill("#password", one_time)
        await teacher.click("button[type=submit]")
        await teacher.wait_for_url(f"{hub.url}/password?next=/teacher")  # nothing else before a password of her own
        await teacher.wait_for_selector("#password-form p[data-i18n='password.intro']")
        await teacher.fill("#old", one_time)
        await teacher.fill("#new", "mat-khau-cua-mai")
        await teacher.fill("#again", "mat-khau-cua-mai")
        await teacher.click("#password-form button[type=submit]")
        await teacher.wait_for_url(f"{hub.url}/teacher")

        await admin.reload()
        row = admin.locator("#user-table tr[data-user='co-mai']")
        await row.wait_for()
        assert "Đang dùng" in await row.inner_text() and "Chưa đăng nhập" not in await row.inner_text()
        await row.locator("button.toggle").click()
        await wait_js(admin, "document.querySelector(\"tr[data-user='co-mai'] .state\").textContent === 'Đã khóa'")
        # Her open session has ended: the next page she opens is the login form.
        await teacher.goto(f"{hub.url}/teacher")
        await teacher.wait_for_url(f"{hub.url}/login?next=/teacher")
        await teacher.fill("#username", "co-mai")
        await teacher.fill("#password", "mat-khau-cua-mai")
        await teacher.click("button[type=submit]")
        await teacher.wait_for_url(f"{hub.url}/login?error=disabled&next=/teacher")
        await wait_js(teacher, "document.getElementById('error').textContent.includes('đã bị khóa')")
        # The admin may not lock the school out: not their own account.
        await admin.locator("#user-table tr[data-user='hieu-truong'] button.toggle").click()
        await wait_js(admin, "document.getElementById('users-error').textContent.includes('tự khóa')")

        # --- a roster with bad rows ------------------------------------------------------------
        bundle = await asyncio.get_running_loop().run_in_executor(
            None, class_7c_with_bad_rows, tmp_path / "danh-sach.zip"
        )
        assert await admin.locator("#classes-none").is_visible()
        await admin.set_input_files("#roster-file", str(bundle))
        await admin.click("#roster-submit")
        await admin.wait_for_selector("#roster-problems tbody tr")
        assert (await admin.inner_text("#roster-result")).startswith("Đã thêm/cập nhật:")
        assert await admin.inner_text("#roster-problems-title") == "4 vấn đề cần sửa trong tệp"
        assert await _rows(admin, "#roster-problems tbody tr") == [
            ["users.csv", "81", "givenName", "Bắt buộc nhưng đang để trống"],
            ["users.csv", "82", "identifier", "Số CCCD có 5 chữ số, phải đủ 12"],
            ["users.csv", "83", "sourcedId", "Trùng mã với dòng 80: bỏ qua dòng này"],
            ["enrollments.csv", "82", "userSourcedId", "'hs-7c-99' không có trong users.csv (hoặc dòng đó bị lỗi)"],
        ]
        # The good rows are in the roster the lessons read: 7C with its one good student.
        classes = {r[0]: r[3] for r in await _rows(admin, "#class-table tbody tr")}
        assert classes == {"Khoa học tự nhiên - Lớp 7A": "40", "Khoa học tự nhiên - Lớp 7B": "35",
                           "Khoa học tự nhiên - Lớp 7C": "1"}  # fmt: skip

        # --- a tablet renamed, while the technician's page is open ------------------------------
        tech = await admin_context.new_page()
        await tech.goto(f"{hub.url}/tech")
        await tech.wait_for_selector("#devices tbody tr[data-device='T01']")
        device = admin.locator("#device-table tr[data-device='T01']")
        await device.locator("input.name").fill("Bàn 1 - dãy cửa sổ")
        await device.locator("input.group").fill("day-cua-so")
        await device.locator("button.save").click()
        await wait_js(admin, "document.querySelector(\"tr[data-device='T01'] .saved\").textContent === 'Đã lưu'")
        await wait_js(tech, "document.querySelector(\"#devices tr[data-device='T01']\").textContent"
                            ".includes('Bàn 1 - dãy cửa sổ')")
        # ... and the group can take a command from there (the technician's target list).
        await wait_js(tech, "[...document.querySelectorAll('#group-target option')]"
                            ".some(o => o.value === 'group:day-cua-so')")

        # --- a backup, downloaded and opened ----------------------------------------------------
        async with admin.expect_download() as download_info:
            await admin.click("#backup-download")
        download = await download_info.value
        assert download.suggested_filename.startswith(f"classroom-hub-{settings.room.id}-")
        saved = tmp_path / "backup.zip"
        await download.save_as(saved)
        opened = tmp_path / "opened"
        with zipfile.ZipFile(saved) as archive:
            manifest = json.loads(archive.read("manifest.json"))
            archive.extractall(opened)
        paths = {f["path"] for f in manifest["files"]}
        assert {"accounts.db", "telemetry.db", "gradebook.db", "device-labels.json"} <= paths
        (roster_file,) = [p for p in paths if p.startswith("roster.")]  # the one the lessons read
        assert manifest["room"] == settings.room.id
        with contextlib.closing(sqlite3.connect(opened / "accounts.db")) as accounts:
            disabled = accounts.execute("SELECT username FROM users WHERE disabled_at IS NOT NULL").fetchall()
        assert disabled == [("co-mai",)]
        with contextlib.closing(sqlite3.connect(opened / roster_file)) as roster:
            assert roster.execute("SELECT title FROM classes WHERE sourced_id = 'khtn-7c'").fetchall() == [
                ("Khoa học tự nhiên - Lớp 7C",)]
        labels = json.loads((opened / "device-labels.json").read_text(encoding="utf-8"))
        assert labels == {"T01": {"name": "Bàn 1 - dãy cửa sổ", "group": "day-cua-so"}}

        assert problems == []
        await teacher_context.close()
        await admin_context.close()
