"""A hub on the real Mosquitto with a class of headsets, and a logged-in HTTP client."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from classroom_hub.alarms import AlarmLimits
from classroom_hub.fleet.keys import FLEET
from config.settings import HubSettings
from tests.conftest import RunningHub, add_user, run_hub

BUNDLE = b"glTF-scene: the water cycle, from evaporation to rain. " * 2000


@contextlib.asynccontextmanager
async def fleet_hub(settings: HubSettings) -> AsyncIterator[RunningHub]:
    """A running hub whose offline alarms come at once (no grace period to wait out in tests)."""
    async with run_hub(settings) as hub:
        hub.app[FLEET].alarms.limits = AlarmLimits(offline_grace_s=0)
        yield hub


@contextlib.asynccontextmanager
async def logged_in(
    hub: RunningHub, role: str = "technician", username: str = "kythuat"
) -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client holding the session cookie of a fresh account, through the real login form."""
    password = await add_user(hub, username, role)
    # unsafe=True: keep cookies from an IP address (the hub on 127.0.0.1), as a browser does.
    async with aiohttp.ClientSession(hub.url, cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        form = {"username": username, "password": password, "next": "/"}
        async with client.post("/login", data=form, allow_redirects=False) as response:
            assert response.status == 302, await response.text()
            assert "error" not in response.headers["Location"]
        yield client


def headset_room(count: int = 40) -> list[dict[str, Any]]:
    ids = {"id": "H{:02d}", "count": count} if count > 1 else {"id": "H01"}
    return [{"kind": "headset", **ids, "heartbeat_timeout_s": 60}]
