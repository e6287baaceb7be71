"""The embedded MQTT broker (amqtt) for a hub with no broker configured, e.g. ``make demo``.

Production rooms use Mosquitto (see config/mosquitto/); the embedded broker keeps the
hub runnable with nothing but Python installed.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

from classroom_hub.errors import BusError

log = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


class EmbeddedBroker:
    """amqtt on a loopback port (or ``host``), anonymous, no persistence between runs."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
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
            raise BusError("the embedded broker needs the 'amqtt' package; or set mqtt.url") from err
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

    async def stop(self) -> None:
        if self._broker is not None:
            await self._broker.shutdown()
            self._broker = None
