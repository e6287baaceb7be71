"""Device kinds declare themselves: each folder's declaration is found, checked and used."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from pathlib import Path

import aiohttp
import pytest

from config.loader import ConfigError, load_settings
from device_drivers.kinds import GROUP, DeviceKind, declared_kinds, driver_for, kind_literal, load_kinds
from tests.conftest import add_user, room_settings, run_hub

ROOT = Path(__file__).resolve().parents[2]


def test_every_kind_is_one_folder_with_its_declaration() -> None:
    kinds = declared_kinds()
    assert {"display", "tablet", "headset", "sensor_node", "camera"} <= set(kinds)
    for name, kind in kinds.items():
        folder = ROOT / "device_drivers" / name
        assert (folder / "kind.py").is_file() and (folder / "settings.py").is_file(), name
        assert kind.settings.__module__ == f"device_drivers.{name}.settings"
        assert kind_literal(kind.settings) == name


def test_a_wired_kinds_driver_takes_its_commands_from_the_catalogue() -> None:
    display = declared_kinds()["display"]
    assert dict(driver_for("display").commands) == {c.name: c.args for c in display.commands}
    assert display.command("input") is not None and display.command("input").example == {"source": "hdmi1"}  # type: ignore[union-attr]


def test_a_kind_that_cannot_load_is_reported_and_the_others_load() -> None:
    entries = [
        EntryPoint("tablet", "device_drivers.tablet.kind:KIND", GROUP),
        EntryPoint("hologram", "device_drivers.hologram.kind:KIND", GROUP),  # its package is not installed
        EntryPoint("headset", "device_drivers.tablet.kind:KIND", GROUP),  # declares another kind
    ]
    kinds, unavailable = load_kinds(entries)
    assert list(kinds) == ["tablet"]
    assert "No module named 'device_drivers.hologram'" in unavailable["hologram"]
    assert "'headset'" in unavailable["headset"] and "'tablet'" in unavailable["headset"]
    assert all(isinstance(k, DeviceKind) for k in kinds.values())


def test_the_room_file_knows_every_declared_kind_and_names_them_when_one_is_wrong(tmp_path: Path) -> None:
    room = tmp_path / "room.toml"
    room.write_text('[room]\nschool_code = "S"\nid = "r1"\nname = "R"\n[[devices]]\nkind = "hologram"\nid = "x"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(room)
    (problem,) = err.value.problems
    assert problem.startswith("devices[0]: unknown device kind 'hologram'; known: ")
    assert all(name in problem for name in declared_kinds())


async def test_the_technician_page_reads_each_kinds_commands(tmp_path: Path) -> None:
    devices = [{"kind": "display", "id": "d1", "transport": {"type": "tcp", "host": "127.0.0.1", "port": 9}}]
    async with run_hub(room_settings(tmp_path, None, devices=devices)) as hub:
        password = await add_user(hub, "kt", "technician")
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            form = {"username": "kt", "password": password}
            async with http.post(f"{hub.url}/login", data=form, headers={"Origin": hub.url}) as r:
                assert r.status == 200
            async with http.get(f"{hub.url}/api/device-kinds") as r:
                assert r.status == 200
                kinds = (await r.json())["kinds"]
    assert [c["name"] for c in kinds["display"]["commands"]] == ["power", "input", "volume", "mute", "status"]
    assert [c["name"] for c in kinds["tablet"]["commands"]] == ["status", "ping"]
    launch = kinds["headset"]["commands"][0]
    assert launch["name"] == "launch_scene" and launch["example"] == {"scene_id": ""}
    assert "scene_id" in launch["args"]["properties"]
