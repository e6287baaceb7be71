"""Device names given on the admin page: over the room file's, kept across a restart, followed by
group commands; a damaged names file shows itself and is repaired by the next save."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from classroom_hub.fleet.targets import Target
from classroom_hub.keys import REGISTRY
from tests.conftest import add_user, room_settings, run_hub


async def test_names_over_the_room_file(tmp_path: Path) -> None:
    settings = room_settings(tmp_path, None)
    settings.data_dir.mkdir(parents=True)
    (settings.data_dir / "device-labels.json").write_text('{"T01": {"name": ', encoding="utf-8")  # cut short
    jar = aiohttp.CookieJar(unsafe=True)
    async with run_hub(settings) as hub, aiohttp.ClientSession(cookie_jar=jar) as http:
        password = await add_user(hub, "hieu-truong", "admin")
        await http.post(f"{hub.url}/login", data={"username": "hieu-truong", "password": password})
        async with http.get(f"{hub.url}/healthz") as response:
            assert response.status == 503 and (await response.json())["parts"]["device_labels"] == "down"
        async with http.get(f"{hub.url}/api/admin/devices") as response:
            listed = await response.json()
        assert "device-labels.json" in listed["problem"]
        assert hub.app[REGISTRY].get("T01").name is None  # type: ignore[union-attr]  # the room file's

        url = f"{hub.url}/api/admin/devices/T01"
        async with http.post(url, json={"name": "  Bàn 1  -  cửa sổ ", "group": "day-1"}) as response:
            assert response.status == 200 and (await response.json())["name"] == "Bàn 1 - cửa sổ"
        async with http.get(f"{hub.url}/healthz") as response:
            assert (await response.json())["parts"]["device_labels"] == "up"
        async with http.post(f"{hub.url}/api/admin/devices/H01", json={"group": "day-1"}) as response:
            assert response.status == 200
        async with http.post(f"{hub.url}/api/admin/devices/X99", json={"name": "?"}) as response:
            assert response.status == 404
        async with http.post(url, json={"name": "x" * 65}) as response:
            assert response.status == 400

    async with run_hub(settings) as hub:
        record = hub.app[REGISTRY].get("T01")
        assert record is not None and (record.name, record.group) == ("Bàn 1 - cửa sổ", "day-1")
        assert Target(group="day-1").select(hub.app[REGISTRY]) == ["T01", "H01"]
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            await http.post(f"{hub.url}/login", data={"username": "hieu-truong", "password": password})
            # Both fields cleared: the room file's name and group again.
            async with http.post(f"{hub.url}/api/admin/devices/T01", json={"name": "", "group": None}) as response:
                assert (await response.json()) == {"id": "T01", "name": None, "group": None}
        assert (record.name, record.group) == (None, None)
