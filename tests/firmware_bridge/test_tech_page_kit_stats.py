"""The technician page shows a USB kit's line counters, the board's beside the hub's, in
Vietnamese: after two damaged frames toward the board, the board counts them and the hub not."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from classroom_hub.app import REGISTRY
from tests.conftest import add_user, login, room_settings, run_hub, wait_for
from tests.firmware_bridge.conftest import Board, Firmware
from tests.firmware_bridge.test_stats_and_session import bad_crc_frame

pytestmark = pytest.mark.mosquitto


async def test_technician_reads_a_kits_line_counters(
    tmp_path: Path, system_mosquitto_url: str, firmware: Firmware, browser: Any
) -> None:
    board = Board(firmware.kit_host, "vinaponics", ("--id", "vina-1", "--heartbeat-ms", "100"))
    await board.plug()
    try:
        devices = [{"kind": "sensor_node", "id": "vina-1", "transport": {"type": "serial", "port": board.path}}]
        async with run_hub(room_settings(tmp_path, system_mosquitto_url, devices=devices)) as hub:
            record = hub.app[REGISTRY].get("vina-1")
            assert record is not None
            await wait_for(lambda: record.state == "online" and "stats" in record.extra.get("commands", []), 8)
            side_door = os.open(board.path, os.O_WRONLY | os.O_NOCTTY)  # a second writer toward the board
            try:
                os.write(side_door, bad_crc_frame() * 2)
            finally:
                os.close(side_door)

            password = await add_user(hub, "kythuat", "technician")
            page = await browser.new_page()
            await login(page, hub, "kythuat", password, "/tech")
            await page.click("#devices tr[data-device='vina-1']")
            box = page.locator("#kit-stats-box")
            await box.wait_for()
            assert "Bộ đếm đường truyền" in await box.inner_text()
            await page.click("#kit-stats")
            row = page.locator("#kit-stats-table tr[data-counter='bad_crc']")
            await row.wait_for()
            assert await row.locator("td").all_inner_texts() == ["bad_crc", "2", "0"]
            retransmits = page.locator("#kit-stats-table tr[data-counter='retransmits'] td")
            assert await retransmits.all_inner_texts() == ["retransmits", "–", "0"]  # the hub's side only
    finally:
        await board.unplug()
