"""Shared fixtures: real brokers (Mosquitto, the embedded amqtt) and a running hub."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from classroom_hub.app import STORE, build_app
from classroom_hub.bus.broker import EmbeddedBroker, free_port
from classroom_hub.clock import SYSTEM, Clock
from config.settings import HubSettings

ROOT = Path(__file__).resolve().parent.parent
MOSQUITTO_CONF = ROOT / "config" / "mosquitto" / "classroom-hub.conf"
MOSQUITTO_ACCESS = ROOT / "config" / "mosquitto" / "classroom-hub-access.conf"


def port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex((host, port)) == 0


def shipped_access(device_port: int, hub_port: int, password_file: Path, acl_file: Path) -> str:
    """config/mosquitto/classroom-hub-access.conf as shipped, with a test's ports and files."""
    text = MOSQUITTO_ACCESS.read_text()
    for old, new in (
        ("listener 1883\n", f"listener {device_port} 127.0.0.1\n"),
        ("listener 1884 127.0.0.1\n", f"listener {hub_port} 127.0.0.1\n"),
        ("/etc/mosquitto/classroom-hub/passwd", str(password_file)),
        ("/etc/mosquitto/classroom-hub/acl", str(acl_file)),
    ):
        assert text.count(old) == 1, f"{MOSQUITTO_ACCESS} no longer has {old!r} once: update this test helper"
        text = text.replace(old, new)
    return text


class Mosquitto:
    """A private Mosquitto with the hub's shipped settings, which a test may stop and restart.

    Anonymous on ``port``, or with ``password_file`` and ``acl_file`` the shipped access
    settings: devices on ``url`` (their client id is their user name), the hub on ``hub_url``.
    """

    def __init__(
        self, workdir: Path, port: int | None = None, *, password_file: Path | None = None, acl_file: Path | None = None
    ) -> None:
        self.binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(self.binary).exists():
            pytest.fail("mosquitto is not installed: run `make test` (it installs it) or apt-get install mosquitto")
        self.port = port or free_port()
        self.hub_port = self.port
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        if password_file is None or acl_file is None:
            access = f"\nlistener {self.port} 127.0.0.1\nallow_anonymous true\n"
        else:
            self.hub_port = free_port()
            access = "\n" + shipped_access(self.port, self.hub_port, password_file, acl_file)
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text(
            MOSQUITTO_CONF.read_text()
            + access
            + f"persistence_location {workdir}/\nautosave_interval 1\n"
            # As root, Mosquitto drops to the 'mosquitto' user, who may not write in pytest's
            # private temporary folders: stay root for the test's own broker.
            + ("user root\n" if os.geteuid() == 0 else "")
        )
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def hub_url(self) -> str:
        return f"mqtt://127.0.0.1:{self.hub_port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while not (port_open("127.0.0.1", self.port) and port_open("127.0.0.1", self.hub_port)):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"mosquitto did not start on port {self.port}")
            time.sleep(0.02)

    def reload(self) -> None:
        """What ``systemctl reload mosquitto`` does: read the password and ACL files again."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGHUP)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)
        self.proc = None


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    broker = Mosquitto(tmp_path / "mosquitto")
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def system_mosquitto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Mosquitto with the hub's shipped settings, shared by the tests of this session only.

    Never the machine's broker on 1883: other test runs on the same machine (a second pytest,
    a CI job, the demo) would share it. Their simulated devices have the same client ids
    (``headset-H01``, docs/devices.md), so each connection takes the other's over and fires
    its last will into the other run's room; and retained statuses of earlier runs linger in
    its persistence for a room id that a reused pid makes again.
    """
    broker = Mosquitto(tmp_path_factory.mktemp("mosquitto-session"))
    broker.start()
    yield broker.url
    broker.stop()


@pytest.fixture(scope="session")
def machine_mosquitto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The machine's own Mosquitto on 127.0.0.1:1883, as a hub in a room uses it; a private
    one is started if it is not running. Tests on it use room ids of their own."""
    if port_open("127.0.0.1", 1883):
        yield "mqtt://127.0.0.1:1883"
        return
    broker = Mosquitto(tmp_path_factory.mktemp("mosquitto-machine"))
    broker.start()
    yield broker.url
    broker.stop()


@pytest.fixture
async def embedded_broker() -> AsyncIterator[EmbeddedBroker]:
    broker = EmbeddedBroker()
    await broker.start()
    yield broker
    await broker.stop()


_test_counter = 0


def room_settings(tmp_path: Path, broker_url: str | None, **extra: Any) -> HubSettings:
    """A small room: 2 tablets, 2 headsets, a sensor node, unique per test (room id, client id)."""
    global _test_counter
    _test_counter += 1
    room_id = f"t{os.getpid()}-{_test_counter}"
    raw: dict[str, Any] = {
        "room": {"school_code": "TEST", "id": room_id, "name": "Phòng thử"},
        "mqtt": {"url": broker_url, "reconnect_min_s": 0.1, "reconnect_max_s": 0.5},
        "http": {"host": "127.0.0.1", "port": 0},
        "data_dir": str(tmp_path / "hub"),
        "devices": [
            {"kind": "tablet", "id": "T{:02d}", "count": 2, "heartbeat_timeout_s": 30},
            {"kind": "headset", "id": "H{:02d}", "count": 2},
            {"kind": "sensor_node", "id": "node-1", "sensors": ["ph", "water_temp"]},
        ],
    }
    raw.update(extra)
    return HubSettings(**raw)


class RunningHub:
    def __init__(self, app: web.Application, runner: web.AppRunner, url: str) -> None:
        self.app = app
        self.runner = runner
        self.url = url


@contextlib.asynccontextmanager
async def run_hub(settings: HubSettings, clock: Clock = SYSTEM) -> AsyncIterator[RunningHub]:
    """The hub on a free port; with a :class:`~classroom_hub.clock.FakeClock`, its time moves
    only when the test advances it (the lesson heartbeat, device timeouts, sessions)."""
    app = build_app(settings, clock)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield RunningHub(app, runner, f"http://127.0.0.1:{port}")
    finally:
        await runner.cleanup()


async def after_any_redelivery(hub: RunningHub, settings: HubSettings, device_id: str) -> None:
    """Return once whatever the broker had queued or would redeliver for the hub's session has
    reached the hub: ``device_id`` sends one more reading (a marker, stamped now) and it is stored.
    The broker hands a session its queued messages right after the CONNACK, before anything sent
    later, so this waits for an event instead of for a guessed time."""
    await publish_as(settings, device_id, [{"readings": [{"key": "marker", "value": 1}]}])
    await wait_for(lambda: hub.app[STORE].stats.readings >= 1, timeout=10)


async def publish_while_hub_away(settings: HubSettings, device_id: str, payloads: Iterable[dict[str, Any]]) -> None:
    """The hub's persistent session is made, then the hub is away while ``device_id`` sends
    each payload as QoS-1 telemetry; returns once the broker has confirmed them all."""
    assert settings.mqtt.url is not None
    async with run_hub(settings):
        pass  # the hub's persistent session now exists on the broker
    await publish_as(settings, device_id, payloads)


async def publish_as(settings: HubSettings, device_id: str, payloads: Iterable[dict[str, Any]]) -> None:
    """``device_id`` sends each payload as QoS-1 telemetry; returns once the broker has confirmed them all."""
    import json

    from classroom_hub.bus.link import MqttLink
    from classroom_hub.bus.topics import device_topic

    assert settings.mqtt.url is not None
    ca_file = str(settings.mqtt.ca_file) if settings.mqtt.ca_file else None
    device = MqttLink(settings.mqtt.url, client_id=device_id, manual_ack=False, ca_file=ca_file)
    task = asyncio.create_task(device.run())
    try:
        await device.wait_up(5)
        topic = device_topic(settings.room.id, device_id, "telemetry")
        for n, payload in enumerate(payloads):
            device.publish(topic, json.dumps(payload), qos=1)
            if n % 50 == 0:
                await asyncio.sleep(0)  # let the link write what is queued
        await wait_for(lambda: device.unconfirmed == 0, timeout=20)
        await device.close()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0, interval: float = 0.05) -> None:
    """Wait until the coroutine ``check()`` says true (a state with no event of its own, e.g. rows
    in a store read through its own thread); fail with a clear message otherwise."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{getattr(check, '__name__', check)} still false after {timeout} s")
        await asyncio.sleep(interval)


async def wait_for(predicate: Any, timeout: float = 10.0, interval: float = 0.02) -> None:
    """Wait until ``predicate()`` is true; fail with a clear message otherwise."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {getattr(predicate, '__doc__', '')}")
        await asyncio.sleep(interval)


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (never a downloaded browser)."""
    from playwright.async_api import async_playwright

    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.access(executable, os.X_OK):
        pytest.fail("chromium is not installed: `make test` installs it (apt-get install chromium)")
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with chromium() as launched:
        yield launched


async def wait_js(page: Any, expression: str, *, arg: Any = None, timeout: float = 30_000) -> None:
    """Wait until ``expression`` (a JavaScript expression or arrow function) is truthy in ``page``.

    Pages run under the hub's Content-Security-Policy, which forbids eval(); Playwright's
    ``wait_for_function`` evaluates its predicate with eval() inside the page, so it fails there.
    ``page.evaluate`` runs through the browser's debugging protocol, outside the page's policy.
    ``arg`` is passed to a function expression; ``timeout`` in milliseconds, as Playwright's."""
    deadline = asyncio.get_running_loop().time() + timeout / 1000
    while not await page.evaluate(expression, arg):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"in {page.url}, not true within {timeout / 1000:g} s: {expression}")
        await asyncio.sleep(0.05)


async def add_user(hub: RunningHub, username: str, role: str, password: str = "mat-khau-123") -> str:
    from classroom_hub.app import ACCOUNTS

    accounts = hub.app[ACCOUNTS]
    await asyncio.get_running_loop().run_in_executor(None, accounts.add, username, password, role, username)
    return password


async def login(page: Any, hub: RunningHub, username: str, password: str, next_path: str = "/") -> None:
    """Log in through the real form, as a person would."""
    await page.goto(f"{hub.url}/login?next={next_path}")
    await page.fill("#username", username)
    await page.fill("#password", password)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{hub.url}{next_path}*")
