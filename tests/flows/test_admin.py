"""The school's administrator in headless Chromium, with a teacher on her own laptop: a forgotten
password reset (her open session ends, the old password stops working, the one-time one makes her
choose her own), her account disabled and enabled again, and the roster: a file that is no bundle
is refused with the reason, a bundle with bad rows shows each one, and the class it adds is in
the teacher's class list. (tests/classroom_hub/admin/test_admin_page.py holds the new account,
the lock-out and the backup.)"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.classroom_hub.admin.bundles import class_7c_with_bad_rows
from tests.conftest import RunningHub, add_user, login, room_settings, run_hub, wait_js

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def hub(tmp_path_factory: pytest.TempPathFactory, system_mosquitto_url: str) -> AsyncIterator[RunningHub]:
    place = {"school_code": "THCS-DEMO", "id": f"van-phong-{os.getpid()}", "name": "Văn phòng"}
    async with run_hub(room_settings(tmp_path_factory.mktemp("admin"), system_mosquitto_url, room=place)) as running:
        yield running


async def log_in(page: Any, hub: RunningHub, username: str, password: str) -> None:
    await page.goto(f"{hub.url}/login?next=/teacher")
    await page.fill("#username", username)
    await page.fill("#password", password)
    await page.click("button[type=submit]")


def state_of(username: str) -> str:
    return f"document.querySelector(\"#user-table tr[data-user='{username}'] .state\")?.textContent"


@pytest.mark.timeout(180)  # a module's hub and browser start within it; waits are for events
async def test_reset_disable_enable_and_a_roster_the_teacher_sees(
    hub: RunningHub, module_browser: Any, tmp_path: Path
) -> None:
    admin_password = await add_user(hub, "hieu-truong", "admin")
    old_password = await add_user(hub, "co-lan", "teacher")
    teacher = await (await module_browser.new_context()).new_page()
    await login(teacher, hub, "co-lan", old_password, "/teacher")
    await teacher.wait_for_selector("#class-select option[value='khtn-7a']", state="attached")

    admin = await (await module_browser.new_context()).new_page()
    problems: list[str] = []
    admin.on("pageerror", lambda e: problems.append(str(e)))
    dialogs: list[str] = []

    async def answer(dialog: Any) -> None:
        dialogs.append(dialog.message)
        await dialog.accept()

    admin.on("dialog", answer)
    await login(admin, hub, "hieu-truong", admin_password, "/admin")
    row = "#user-table tr[data-user='co-lan']"
    await admin.wait_for_selector(row)

    # --- she forgot her password: reset -------------------------------------------------------
    await admin.click(f"{row} button.reset")
    await admin.wait_for_selector("#one-time:not([hidden])")
    assert dialogs == ["Đặt lại mật khẩu của co-lan? Các phiên đăng nhập của người này sẽ kết thúc."]
    assert await admin.inner_text("#one-time-title") == "Mật khẩu dùng một lần của co-lan"
    one_time = await admin.inner_text("#one-time-password")
    assert len(one_time) == 12 and one_time != old_password
    await wait_js(admin, f"{state_of('co-lan')} === 'Chờ đổi mật khẩu'")
    await admin.click("#one-time-done")

    await teacher.goto(f"{hub.url}/teacher")  # her open session has ended
    await teacher.wait_for_url(f"{hub.url}/login?next=/teacher")
    await log_in(teacher, hub, "co-lan", old_password)
    await teacher.wait_for_url(lambda url: url.startswith(f"{hub.url}/login?error=bad_credentials"))
    await wait_js(teacher, "document.getElementById('error').textContent === 'Sai tên đăng nhập hoặc mật khẩu.'")
    await log_in(teacher, hub, "co-lan", one_time)
    await teacher.wait_for_url(f"{hub.url}/password?next=/teacher")
    await teacher.fill("#old", one_time)
    await teacher.fill("#new", "mat-khau-moi-cua-lan")
    await teacher.fill("#again", "mat-khau-moi-cua-lan")
    await teacher.click("#password-form button[type=submit]")
    await teacher.wait_for_url(f"{hub.url}/teacher")
    await admin.reload()
    await wait_js(admin, f"{state_of('co-lan')} === 'Đang dùng'")

    # --- disabled, then enabled again -----------------------------------------------------------
    await admin.click(f"{row} button.toggle")
    await wait_js(admin, f"{state_of('co-lan')} === 'Đã khóa'")
    assert dialogs[-1] == "Khóa tài khoản co-lan? Người này sẽ bị đăng xuất ngay."
    assert await admin.inner_text(f"{row} button.toggle") == "Mở khóa"
    await teacher.goto(f"{hub.url}/teacher")
    await teacher.wait_for_url(f"{hub.url}/login?next=/teacher")
    await admin.click(f"{row} button.toggle")
    await wait_js(admin, f"{state_of('co-lan')} === 'Đang dùng'")
    await log_in(teacher, hub, "co-lan", "mat-khau-moi-cua-lan")
    await teacher.wait_for_url(f"{hub.url}/teacher")
    await teacher.wait_for_selector("#class-select option[value='khtn-7a']", state="attached")
    assert await teacher.locator("#class-select option[value='khtn-7c']").count() == 0

    # --- the roster: not a bundle, then one with bad rows ---------------------------------------
    not_a_zip = tmp_path / "danh-sach.zip"
    not_a_zip.write_text("Họ và tên;Lớp\nNgô Anh Bình;7A\n", encoding="utf-8")  # a spreadsheet saved as text
    await admin.set_input_files("#roster-file", str(not_a_zip))
    await admin.click("#roster-submit")
    await wait_js(admin, "document.getElementById('roster-error').textContent !== ''")
    assert "đây không phải tệp .zip đọc được" in await admin.inner_text("#roster-error")
    assert await admin.locator("#roster-problems-box").is_hidden()

    bundle = await asyncio.to_thread(class_7c_with_bad_rows, tmp_path / "danh-sach-7c.zip")
    await admin.set_input_files("#roster-file", str(bundle))
    await admin.click("#roster-submit")
    await admin.wait_for_selector("#roster-problems tbody tr")
    assert await admin.inner_text("#roster-error") == ""
    assert await admin.inner_text("#roster-problems-title") == "4 vấn đề cần sửa trong tệp"
    first = await admin.evaluate(
        "[...document.querySelector('#roster-problems tbody tr').cells].map(td => td.textContent.trim())"
    )
    assert first == ["users.csv", "81", "givenName", "Bắt buộc nhưng đang để trống"]
    # The class the good rows made is one the teacher can launch a lesson for.
    await teacher.reload()
    await teacher.wait_for_selector("#class-select option[value='khtn-7c']", state="attached")
    assert problems == []
