"""What a request may cost the hub: body size, body shape, time to send its headers, connections."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from classroom_hub.app import build_app
from classroom_hub.runner import Sites, open_sites
from classroom_hub.web.access import access_of
from classroom_hub.web.security import MAX_DEPTH
from config.settings import HubSettings
from tests.conftest import add_user, room_settings, run_hub, wait_for


async def _raw(port: int, request: bytes) -> bytes:
    """Send ``request`` on a fresh connection; the hub's answer (headers and body)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        length = re.search(rb"Content-Length: (\d+)", head, re.IGNORECASE)
        return head + await reader.readexactly(int(length.group(1)) if length else 0)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def test_bodies_over_the_route_limit_are_refused_before_they_are_read(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    async with run_hub(room_settings(tmp_path, system_mosquitto_url)) as hub:
        port = int(hub.url.rsplit(":", 1)[1])
        for path, length in (("/login", 5000), ("/api/lesson/join", 5000), ("/api/lab/estop", 64 * 1024 * 1024)):
            # Headers only: the 413 arrives although not one byte of the body was sent.
            head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {length}\r\nConnection: close\r\n\r\n")  # fmt: skip
            answer = await _raw(port, head.encode())
            if path == "/api/lab/estop":
                assert answer.startswith(b"HTTP/1.1 401"), answer[:200]  # no login: refused before the size
            else:
                assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
                assert b"body_too_large" in answer
        password = await add_user(hub, "lan", "teacher")
        async with aiohttp.ClientSession(hub.url, cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
            async with client.post("/login", data={"username": "lan", "password": password}) as r:
                assert r.status == 200

            async def chunks() -> AsyncIterator[bytes]:  # chunked: no Content-Length to refuse early
                yield b'{"pad": "'
                for _ in range(100):
                    yield b"x" * 1024
                yield b'"}'

            headers = {"Content-Type": "application/json"}
            async with client.post("/api/lab/estop", data=chunks(), headers=headers) as r:
                assert r.status == 413 and (await r.json())["error"] == "body_too_large"
            async with client.post("/api/lab/estop", json={"pad": "x" * 1000}) as r:
                assert r.status == 200


async def test_malformed_or_deep_json_gets_400_with_a_reason_on_every_route(
    tmp_path: Path, system_mosquitto_url: str
) -> None:
    async with run_hub(room_settings(tmp_path, system_mosquitto_url)) as hub:
        password = await add_user(hub, "root", "admin")
        json_routes = sorted(
            {(r.method, r.resource.canonical) for r in hub.app.router.routes()
             if r.method in ("POST", "PUT", "PATCH") and (a := access_of(r)) is not None and not a.form}
        )  # fmt: skip
        assert len(json_routes) > 30
        deep = ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)).encode()
        very_deep = ("[" * 2000 + "]" * 2000).encode()  # past Python's recursion limit, within 4 KiB
        async with aiohttp.ClientSession(hub.url, cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
            async with client.post("/login", data={"username": "root", "password": password}) as r:
                assert r.status == 200
            headers = {"Content-Type": "application/json"}
            for method, path in json_routes:
                target = re.sub(r"\{\w+\}", "x", path.replace("{device_id}", "T01"))
                for body, reason in ((b"{not json", "not JSON"), (deep, "deeper"), (very_deep, "deeper")):
                    async with client.request(method, target, data=body, headers=headers) as r:
                        answer = await r.json()
                        assert r.status == 400, (method, path, r.status, answer)
                        assert answer["error"] == "malformed_request" and reason in answer["detail"], answer
            # The technician sees them, named with where they came from.
            async with client.get("/api/rejections") as r:
                assert r.status == 200
                listed = await r.json()
        assert listed["by_reason"]["malformed_request"] == 3 * len(json_routes)
        assert {"ts", "source", "reason", "detail"} <= set(listed["recent"][0])
        assert listed["recent"][0]["source"].startswith("http ")


@contextlib.asynccontextmanager
async def guarded_hub(settings: HubSettings) -> AsyncIterator[tuple[web.Application, Sites]]:
    """The hub as ``classroom-hub run`` serves it: guarded connections (runner.open_sites)."""
    app = build_app(settings)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    sites = await open_sites(runner, settings)
    try:
        yield app, sites
    finally:
        await sites.close()
        await runner.cleanup()


def _settings(tmp_path: Path, broker: str, **http: Any) -> HubSettings:
    return room_settings(tmp_path, broker, http={"host": "127.0.0.1", "port": 0, **http})


async def _slow_client(port: int, first: bytes = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n") -> bytes:
    """Sends part of a request's headers, then nothing: what the hub answers until it closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(first)
    try:
        return await reader.read()
    except ConnectionResetError:
        return b""
    finally:
        writer.close()


async def test_a_client_slow_to_send_its_headers_is_cut_off(tmp_path: Path, system_mosquitto_url: str) -> None:
    settings = _settings(tmp_path, system_mosquitto_url, header_timeout_s=0.5)
    async with guarded_hub(settings) as (_app, sites):
        port = sites.port
        slow = [asyncio.create_task(_slow_client(port)) for _ in range(20)]
        async with aiohttp.ClientSession() as http:
            # A tablet is served while they hang on.
            ws = await http.ws_connect(f"http://127.0.0.1:{port}/ws/lesson")
            async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                assert r.status == 200
            answers = await asyncio.gather(*slow)
            assert all(a.startswith(b"HTTP/1.1 408") for a in answers), answers[0]
            # A kept-alive connection: the second request's headers have the same deadline.
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            first = await reader.readuntil(b'"parts"')
            writer.write(b"GET /healthz HTTP/1.1\r\n")
            rest = await reader.read()
            writer.close()
            assert first.startswith(b"HTTP/1.1 200") and b"HTTP/1.1 408" in rest
            # The WebSocket opened before all that, longer ago than the deadline, still works.
            await ws.send_str(json.dumps({"type": "hello"}))
            reply = await ws.receive(timeout=5)
            assert reply.type == aiohttp.WSMsgType.TEXT
            await ws.close()


async def test_one_address_holds_a_bounded_number_of_connections(tmp_path: Path, system_mosquitto_url: str) -> None:
    settings = _settings(tmp_path, system_mosquitto_url, header_timeout_s=30, max_connections_per_client=8)
    async with guarded_hub(settings) as (_app, sites):
        port = sites.port
        held = []
        for _ in range(8):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            held.append((reader, writer))
        await wait_for(lambda: sites.main.policy.open_by_address["127.0.0.1"] == 8)
        extra = await _slow_client(port)
        assert extra == b""  # closed as it opened, nothing read
        assert sites.main.policy.turned_away >= 1
        # Another address is not affected.
        other = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
        async with aiohttp.ClientSession(connector=other) as http, http.get(f"http://127.0.0.1:{port}/healthz") as r:
            assert r.status == 200
        for reader, writer in held:
            writer.write(b"\r\n")  # the requests complete: they were merely slow
            assert (await reader.readuntil(b"\r\n")).startswith(b"HTTP/1.1 200")
            writer.close()
