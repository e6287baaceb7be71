"""The embedded MQTT broker for a hub with no broker configured, e.g. ``make demo``.

Production rooms use Mosquitto (see config/mosquitto/). With no broker configured the hub
starts one of its own: Mosquitto when the machine has it installed (a private process on a
loopback port, stopped with the hub), amqtt only when it has not, which keeps the hub
runnable with nothing but Python. amqtt is the weaker one: under load it has thrown
``RuntimeError: dictionary changed size during iteration`` and dropped its clients at
start-up, so it is the last resort.

It listens on the loopback address only, and refuses any other: it has no passwords, no
topic rights and no client-id binding (amqtt's password plugin reads neither Mosquitto's
``$7$`` hashes nor its ACL file, and nothing in it stops a client from taking another's
client id), so on the room's Wi-Fi any student could pose as any device or as the hub.
On loopback only the hub and the simulators it starts for the demo can reach it; a room
whose devices connect over the network needs Mosquitto (docs/install.md, "The broker").
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import pwd
import shutil
import socket
from pathlib import Path
from typing import Any, Literal

from classroom_hub.errors import BusError

log = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def mosquitto_binary() -> str | None:
    """The machine's Mosquitto, if installed (Debian puts it in /usr/sbin, often not on PATH)."""
    found = shutil.which("mosquitto")
    if found is None and Path("/usr/sbin/mosquitto").exists():
        found = "/usr/sbin/mosquitto"
    return found


class EmbeddedBroker:
    """A broker on a loopback port, anonymous, no persistence between runs: Mosquitto when
    installed (``engine="auto"``), else amqtt."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, engine: Literal["auto", "mosquitto", "amqtt"] = "auto"
    ) -> None:
        if not _loopback(host):
            raise BusError(
                f"the embedded broker listens on the loopback address only, not {host!r}: it has no passwords;"
                " for devices on the network set mqtt.url to the room's Mosquitto"
            )
        self.host = host
        self.port = port or free_port(host)
        self._broker: Any = None
        binary = mosquitto_binary() if engine != "amqtt" else None
        if engine == "mosquitto" and binary is None:
            raise BusError("mosquitto is not installed (apt-get install mosquitto)")
        self._mosquitto = binary
        self._process: asyncio.subprocess.Process | None = None
        self._log_task: asyncio.Task[None] | None = None

    @property
    def engine(self) -> Literal["mosquitto", "amqtt"]:
        return "mosquitto" if self._mosquitto is not None else "amqtt"

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    async def start(self) -> None:
        if self._mosquitto is not None:
            await self._start_mosquitto(self._mosquitto)
        else:
            await self._start_amqtt()
        log.info("event=embedded_broker_started url=%s engine=%s", self.url, self.engine)

    async def _start_mosquitto(self, binary: str) -> None:
        # Everything on the command line: no file to write, nothing kept between runs.
        process = await asyncio.create_subprocess_exec(
            binary, "-c", "/dev/stdin", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert process.stdin is not None and process.stderr is not None
        # Started by root, Mosquitto switches to a user of its own ('mosquitto', which a box
        # without the Debian package's setup lacks): it needs no file, so 'nobody' does.
        user = "nobody" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        conf = (f"listener {self.port} {self.host}\nallow_anonymous true\npersistence false\nuser {user}\n"
                "log_dest stderr\nlog_type error\nlog_type warning\nmax_queued_messages 100000\n")  # fmt: skip
        process.stdin.write(conf.encode())
        process.stdin.close()
        self._process = process
        self._log_task = asyncio.create_task(_relay(process.stderr), name="embedded-mosquitto-log")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        # A process says nothing when it listens: its port is the only sign.
        while True:
            if process.returncode is not None:
                raise BusError(f"embedded mosquitto exited at start (code {process.returncode}); see the log above")
            try:
                _reader, writer = await asyncio.open_connection(self.host, self.port)
            except OSError:
                if loop.time() > deadline:
                    await self.stop()
                    where = f"{self.host}:{self.port}"
                    raise BusError(f"embedded mosquitto did not listen on {where} within 10 s") from None
                await asyncio.sleep(0.02)
                continue
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return

    async def _start_amqtt(self) -> None:
        try:
            from amqtt.broker import Broker
        except ImportError as err:  # optional in spirit: production uses Mosquitto
            raise BusError("no broker in the room file ([mqtt] url) and the embedded one is not installed: set "
                           "mqtt.url to the room's Mosquitto, or pip install 'classroom-hub[demo]'") from err
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }
        # amqtt logs every connection at INFO; the hub's own log says what matters.
        for name in ("amqtt", "transitions"):
            logging.getLogger(name).setLevel(logging.WARNING)
        self._broker = Broker(config, loop=asyncio.get_running_loop())
        try:
            await self._broker.start()
        except Exception as err:
            raise BusError(f"embedded broker could not start on {self.host}:{self.port}: {err}") from err

    def state(self) -> Literal["up", "down", "stopped"]:
        """Mosquitto: up while its process runs; amqtt: its own state machine."""
        if self._process is not None:
            return "up" if self._process.returncode is None else "down"
        if self._broker is None:
            return "stopped"
        return "up" if self._broker.transitions.state == "started" else "down"

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            if process.returncode is None:
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), 5)
                except TimeoutError:
                    process.kill()
                    await process.wait()
            if self._log_task is not None:
                await self._log_task
                self._log_task = None
        if self._broker is not None:
            await self._broker.shutdown()
            self._broker = None


async def _relay(stream: asyncio.StreamReader) -> None:
    """Mosquitto's own warnings and errors, one log line each."""
    async for raw in stream:
        line = raw.decode(errors="replace").strip()
        if line:
            log.warning("event=embedded_mosquitto_said line=%r", line)


def _loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.IPv4Address(host).is_loopback
    except ValueError:
        return False
