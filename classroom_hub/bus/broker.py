"""The embedded MQTT broker (amqtt) for a hub with no broker configured, e.g. ``make demo``.

Production rooms use Mosquitto (see config/mosquitto/); the embedded broker keeps the
hub runnable with nothing but Python installed.

It listens on the loopback address only, and refuses any other: it has no passwords, no
topic rights and no client-id binding (amqtt's password plugin reads neither Mosquitto's
``$7$`` hashes nor its ACL file, and nothing in it stops a client from taking another's
client id), so on the room's Wi-Fi any student could pose as any device or as the hub.
On loopback only the hub and the simulators it starts for the demo can reach it; a room
whose devices connect over the network needs Mosquitto (docs/install.md, "The broker").
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from typing import Any, Literal

from classroom_hub.errors import BusError

log = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


class EmbeddedBroker:
    """amqtt on a loopback port, anonymous, no persistence between runs."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if not _loopback(host):
            raise BusError(
                f"the embedded broker listens on the loopback address only, not {host!r}: it has no passwords;"
                " for devices on the network set mqtt.url to the room's Mosquitto"
            )
        self.host = host
        self.port = port or free_port(host)
        self._broker: Any = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    async def start(self) -> None:
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
        log.info("event=embedded_broker_started url=%s", self.url)

    def state(self) -> Literal["up", "down", "stopped"]:
        """amqtt's own state machine: up once started, until it is shut down or fails."""
        if self._broker is None:
            return "stopped"
        return "up" if self._broker.transitions.state == "started" else "down"

    async def stop(self) -> None:
        if self._broker is not None:
            await self._broker.shutdown()
            self._broker = None


def _loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.IPv4Address(host).is_loopback
    except ValueError:
        return False
