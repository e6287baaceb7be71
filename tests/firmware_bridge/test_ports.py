"""Picking kit boards among the serial ports by USB vendor and product id."""

from __future__ import annotations

from serial.tools.list_ports_common import ListPortInfo

from firmware_bridge.ports import KIT_USB_IDS, fixed_ports, select_ports, usb_ports


def port(device: str, vid: int | None = None, pid: int | None = None) -> ListPortInfo:
    info = ListPortInfo(device, skip_link_detection=True)
    info.vid, info.pid = vid, pid
    return info


def test_only_known_kit_boards_are_candidates() -> None:
    ports = [
        port("/dev/ttyS0"),  # a motherboard UART: no USB ids
        port("/dev/ttyACM1", 0x2341, 0x0043),  # Arduino Uno
        port("/dev/ttyUSB0", 0x1A86, 0x7523),  # CH340 clone
        port("/dev/ttyUSB1", 0x067B, 0x2303),  # a Prolific adapter on the projector's RS-232
        port("/dev/ttyACM0", 0x2E8A, 0x000A),  # Raspberry Pi Pico
    ]
    assert select_ports(ports, KIT_USB_IDS) == ["/dev/ttyACM0", "/dev/ttyACM1", "/dev/ttyUSB0"]
    assert select_ports(ports, [(0x067B, 0x2303)]) == ["/dev/ttyUSB1"]


def test_usb_finder_scans_the_real_system_without_error() -> None:
    found = usb_ports([(0xFFFF, 0xFFFF)])()  # an id no real device has
    assert found == []


def test_fixed_ports_come_from_configuration() -> None:
    assert fixed_ports("/dev/serial/by-id/usb-kit-1")() == ["/dev/serial/by-id/usb-kit-1"]
