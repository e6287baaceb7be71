"""The address in the QR code is the hub's own, never the request's Host header (issue 11, finding 12)."""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from classroom_hub.app import build_app
from classroom_hub.lessons.simulator import LessonClient
from classroom_hub.web.address import lan_address
from tests.conftest import RunningHub, add_user, room_settings


def test_the_lan_address_is_one_of_this_machines() -> None:
    address = lan_address()
    if address is None:
        return  # a machine with loopback only: the hub then says 127.0.0.1
    with socket.socket() as probe:
        probe.bind((address, 0))  # only an address of this machine can be bound
    assert not address.startswith("127.")


async def test_a_hub_on_every_interface_puts_its_lan_address_in_the_qr_code(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    room = {"school_code": "THCS-DEMO", "id": f"lop-7a-qr-{id(tmp_path)}", "name": "Lớp 7A"}
    settings = room_settings(tmp_path, system_mosquitto_url, room=room, http={"host": "0.0.0.0", "port": 0})
    app = build_app(settings)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "0.0.0.0", 0)
    await site.start()
    port = runner.addresses[0][1]
    local = f"http://127.0.0.1:{port}"
    try:
        password = await add_user(RunningHub(app, runner, local), "co-lan", "teacher")
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            await http.post(f"{local}/login", data={"username": "co-lan", "password": password})
            teacher = LessonClient(http, local, role="teacher")
            await teacher.connect()
            await teacher.command("launch", lesson="vong-tuan-hoan-nuoc-aquaponics", **{"class": "khtn-7a"})
            await teacher.wait(lambda c: "code" in c.state)
            forged = {"Host": "hub.evil.example"}
            async with http.get(f"{local}/api/lesson/qr.svg", headers=forged) as response:
                join = response.headers["X-Join-Url"]
            await teacher.close()
        address = urlsplit(join)
        assert address.hostname == (lan_address() or "127.0.0.1") and address.port == port
        assert join.endswith(f"/join?code={teacher.state['code']}")
        # And it is really the hub: a tablet on the LAN reaches it there.
        async with aiohttp.ClientSession() as tablet, tablet.get(f"{address.scheme}://{address.netloc}/healthz") as r:
            assert (await r.json())["room"] == settings.room.id
    finally:
        await runner.cleanup()
