"""The sample lesson's 3D model and PDF steps in headless Chromium, under the pages' strict policy:
a student turns the model by dragging it; the display shows the same model turning by itself;
the PDF's pages, rendered at import, are shown as pictures on the tablet and the display."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from classroom_hub.lessons.keys import DISPLAYS
from classroom_hub.web.routes import STATIC
from tests.conftest import add_user, login, room_settings, run_hub, wait_js

LESSON = "xem-mo-hinh-phan-tu-nuoc"
MODEL_STEP, PDF_STEP = 1, 2
VIEWER = STATIC / "vendor" / "model-viewer.min.js"
# The 3D view needs WebGL: headless Chromium draws it with its software renderer.
WEBGL_ARGS = ["--enable-unsafe-swiftshader", "--use-angle=swiftshader", "--ignore-gpu-blocklist"]

pytestmark = pytest.mark.skipif(not VIEWER.is_file(), reason="the 3D viewer is installed by `make setup` (npm)")


def theta(selector: str = "#step model-viewer") -> str:
    return f"document.querySelector('{selector}').getCameraOrbit().theta"


@pytest.mark.timeout(300)  # software WebGL and a 1 MB viewer for three pages, on two shared cores
async def test_model_turns_by_drag_on_a_tablet_and_by_itself_on_the_display(
    tmp_path: Path, system_mosquitto_url: str, browser: Any
) -> None:
    from tests.conftest import CHROMIUM_ARGS

    room = {"school_code": "THCS-DEMO", "id": f"lop-7a-3d-{os.getpid()}", "name": "Lớp 7A"}
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    chromium = await browser.browser_type.launch(executable_path=executable, args=[*CHROMIUM_ARGS, *WEBGL_ARGS])
    policy_problems: list[str] = []

    def watch(page: Any) -> Any:
        page.on("console", lambda m: policy_problems.append(m.text) if "Content Security Policy" in m.text else None)
        return page

    try:
        async with run_hub(room_settings(tmp_path, system_mosquitto_url, room=room)) as hub:
            password = await add_user(hub, "co-lan", "teacher")
            teacher = watch(await (await chromium.new_context(viewport={"width": 1400, "height": 1000})).new_page())
            await login(teacher, hub, "co-lan", password, "/teacher")
            await teacher.wait_for_selector("#class-select option[value='khtn-7a']", state="attached")
            await teacher.select_option("#class-select", "khtn-7a")
            await teacher.select_option("#lesson-select", LESSON)
            await teacher.click("#launch")
            await teacher.wait_for_selector("#running", state="visible")
            code = (await teacher.inner_text("#code")).strip()

            display = watch(await (await chromium.new_context(viewport={"width": 1280, "height": 720})).new_page())
            pairing = await asyncio.get_running_loop().run_in_executor(None, hub.app[DISPLAYS].new_code, "86", "kt")
            await display.goto(f"{hub.url}/display?pair={pairing.code}")
            await wait_js(display, f"document.getElementById('code').textContent === '{code}'")

            tablet = watch(await (await chromium.new_context(viewport={"width": 800, "height": 1280})).new_page())
            await tablet.goto(f"{hub.url}/join?code={code}")
            await tablet.click("#names [data-student='hs-7a-01']")
            await tablet.wait_for_selector("#lesson-screen", state="visible")
            # The viewer is not part of the join page until a model step comes.
            assert await tablet.evaluate("customElements.get('model-viewer') === undefined")

            await teacher.click(f"#steps li[data-index='{MODEL_STEP}'] button")
            for page in (tablet, display):
                await page.wait_for_selector("#step model-viewer[data-state='shown']", timeout=150_000)
            src = await tablet.get_attribute("#step model-viewer", "src")
            assert src is not None and src.endswith("/mo-hinh/phan-tu-nuoc.glb") and ".pages" not in src
            assert await display.get_attribute("#step model-viewer", "src") == src
            assert await tablet.get_attribute("#step model-viewer", "camera-controls") == ""
            assert await tablet.get_attribute("#step model-viewer", "auto-rotate") is None
            assert "Kéo một ngón tay để xoay" in await tablet.inner_text("#step .model-hint")

            # A student drags across the model: the camera goes round it.
            before = await tablet.evaluate(theta())
            box = await tablet.locator("#step model-viewer").bounding_box()
            x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            await tablet.mouse.move(x, y)
            await tablet.mouse.down()
            await tablet.mouse.move(x + 200, y, steps=4)
            await tablet.mouse.up()
            await wait_js(tablet, f"Math.abs({theta()} - {before}) > 0.3")
            # Nobody touches the display: it turns the same model by itself.
            assert await display.get_attribute("#step model-viewer", "auto-rotate") == ""
            assert await display.get_attribute("#step model-viewer", "camera-controls") is None
            turn = "document.querySelector('#step model-viewer').turntableRotation"
            await display.bring_to_front()
            shown = await display.evaluate(turn)
            await wait_js(display, f"Math.abs({turn} - {shown}) > 0.1")

            # The PDF step: both pages as the pictures rendered at import, the same on both screens.
            await teacher.click(f"#steps li[data-index='{PDF_STEP}'] button")
            for page in (tablet, display):
                widths = "[...document.querySelectorAll('#step img.pdf-page')].map(i => i.naturalWidth).join()"
                await wait_js(page, f"{widths} === '1600,1600'")
            pages = await tablet.eval_on_selector_all("#step img.pdf-page", "imgs => imgs.map(i => i.src)")
            assert pages == await display.eval_on_selector_all("#step img.pdf-page", "imgs => imgs.map(i => i.src)")
            assert [p.rsplit("/", 1)[1] for p in pages] == ["1.webp", "2.webp"]
            assert await tablet.get_attribute("#step img.pdf-page[data-page='2']", "alt") == (
                "Trang 2: Trang 1: sơ đồ phân tử nước với góc 104,5 độ. Trang 2: ba ô để trả lời."
            )
            assert policy_problems == []
    finally:
        await chromium.close()
