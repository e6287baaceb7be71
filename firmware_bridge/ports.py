"""Where kit boards may be plugged in: USB serial ports picked by vendor and product id.

A VID/PID match only says "this could be a kit"; the supervisor confirms it with HELLO.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from serial.tools import list_ports
from serial.tools.list_ports_common import ListPortInfo

PortFinder = Callable[[], Sequence[str]]
"""Returns candidate port paths; called in an executor, so it may do blocking sysfs reads."""

# Boards and USB-serial bridges the reference firmware runs on (vid, pid).
KIT_USB_IDS: tuple[tuple[int, int], ...] = (
    (0x2341, 0x0043),  # Arduino Uno R3
    (0x2341, 0x0042),  # Arduino Mega 2560 R3
    (0x2341, 0x0058),  # Arduino Nano Every
    (0x2341, 0x8057),  # Arduino Nano 33 IoT
    (0x1A86, 0x7523),  # CH340 (Nano and Uno clones)
    (0x10C4, 0xEA60),  # Silicon Labs CP210x (ESP32 dev boards)
    (0x0403, 0x6001),  # FTDI FT232R
    (0x303A, 0x1001),  # Espressif native USB (ESP32-S3/C3)
    (0x2E8A, 0x000A),  # Raspberry Pi Pico (RP2040)
)


def select_ports(ports: Iterable[ListPortInfo], usb_ids: Iterable[tuple[int, int]]) -> list[str]:
    """Device paths of the ports whose USB vendor/product pair is in ``usb_ids``, sorted."""
    wanted = set(usb_ids)
    return sorted(p.device for p in ports if p.vid is not None and (p.vid, p.pid) in wanted)


def usb_ports(usb_ids: Iterable[tuple[int, int]] = KIT_USB_IDS) -> PortFinder:
    """A finder that lists serial ports now present with one of ``usb_ids``."""
    ids = tuple(usb_ids)

    def find() -> list[str]:
        return select_ports(list_ports.comports(), ids)

    return find


def fixed_ports(*paths: str) -> PortFinder:
    """A finder for ports named in the room config (e.g. ``/dev/serial/by-id/...``)."""
    return lambda: list(paths)
