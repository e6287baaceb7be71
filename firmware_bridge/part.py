"""The kits on USB serial as a long-lived part of the hub.

For every device of the room file whose kind says its devices are kits of the reference
firmware (``serial_kit`` in the kind's declaration: ``sensor_node``, ``actuator``, ``robot``)
and whose transport is ``serial``, one :class:`KitSupervisor` looks for the board (at the
configured ``port``, or among the USB ports with its ``usb_vid``/``usb_pid``), confirms it
by HELLO and keeps it connected; the :class:`BusBridge` puts it on the room's MQTT tree.
``setup(app)`` is named by the package's declaration (firmware_bridge/declaration.py).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from serial.tools import list_ports

from classroom_hub.health import running
from classroom_hub.keys import COMMANDS, HEALTH, LINK, REJECTIONS, SETTINGS
from device_drivers.kinds import declared_kinds
from device_drivers.settings import SerialTransport
from firmware_bridge.bus_bridge import BusBridge
from firmware_bridge.keys import KITS
from firmware_bridge.ports import PortFinder, fixed_ports, usb_ports
from firmware_bridge.supervisor import KitSupervisor

log = logging.getLogger(__name__)



def kit_kinds() -> dict[str, str]:
    """Device kind -> the reference firmware's kit its devices run on USB serial (the kinds say)."""
    return {name: kind.serial_kit for name, kind in declared_kinds().items() if kind.serial_kit is not None}


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(kits_part)


def port_finder(transport: SerialTransport) -> PortFinder:
    """Where the room file says the board is: a fixed path, or a USB vendor (and product) id."""
    if transport.port is not None:
        return fixed_ports(transport.port)
    vid, pid = transport.usb_vid, transport.usb_pid
    if pid is not None and vid is not None:
        return usb_ports([(vid, pid)])

    def by_vendor() -> list[str]:
        return sorted(p.device for p in list_ports.comports() if p.vid is not None and p.vid == vid)

    return by_vendor


async def kits_part(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    bridge = BusBridge(app[LINK], settings.room.id, app[REJECTIONS])
    app[KITS] = bridge
    watched: list[KitSupervisor] = []
    # Up while every supervisor runs; an absent kit is the registry's news, not the hub's health.
    app[HEALTH].parts["kits"] = lambda: running(*(s.task for s in watched))
    async with contextlib.AsyncExitStack() as supervisors:
        for device_id, device in settings.device_list():
            transport = device.transport
            if device.kind not in kit_kinds() or not isinstance(transport, SerialTransport):
                continue
            supervisor = KitSupervisor(bridge, port_finder(transport), device_id=device_id,
                                       baudrate=transport.baudrate)  # fmt: skip
            await supervisors.enter_async_context(supervisor)
            watched.append(supervisor)
            bridge.attach(device_id, supervisor)
            if COMMANDS in app:  # the bridge answers the kit's commands: those replies are the hub's own
                app[COMMANDS].answered_by_hub.add(device_id)
            log.info("event=kit_supervised device=%s kind=%s port=%s usb=%s", device_id, device.kind,
                     transport.port, (transport.usb_vid, transport.usb_pid))  # fmt: skip
        try:
            yield
        finally:
            bridge.stopping()
    await bridge.close()
