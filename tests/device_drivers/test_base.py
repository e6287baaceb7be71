"""The driver interface: lookup by device kind, commands by name, health."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from device_drivers.base import DriverError, DriverHealth, InvalidCommand, register_driver
from device_drivers.display import DisplayDriver
from device_drivers.kinds import driver_for

REPO = Path(__file__).resolve().parents[2]
TCP = {"type": "tcp", "host": "127.0.0.1"}


def test_the_hub_finds_a_driver_by_kind_without_importing_it() -> None:
    code = (
        "import sys; from device_drivers.kinds import driver_for;"
        "assert 'device_drivers.display' not in sys.modules;"
        "print(driver_for('display').__name__)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "DisplayDriver"


def test_unknown_kind_is_a_driver_error_listing_known_kinds() -> None:
    with pytest.raises(DriverError, match=r"no driver for device kind 'toaster' \(known: .*display"):
        driver_for("toaster")
    with pytest.raises(DriverError, match=r"no driver for device kind '../etc'"):
        driver_for("../etc")


def test_a_kind_has_one_driver() -> None:
    assert driver_for("display") is DisplayDriver
    with pytest.raises(ValueError, match="already has driver DisplayDriver"):
        register_driver("display")(type("OtherDisplay", (DisplayDriver,), {}))
    with pytest.raises(ValueError, match="lower_snake_case"):
        register_driver("Display")


def test_options_from_the_room_file_are_checked_with_the_field_named() -> None:
    with pytest.raises(DriverError, match=r"display d1: .*protocol 'sony' is not one of samsung_mdc, viewsonic"):
        DisplayDriver.from_options("d1", {"protocol": "sony", "transport": TCP})
    with pytest.raises(DriverError, match=r"display_id 99 is outside 1..98 for viewsonic"):
        DisplayDriver.from_options("d1", {"protocol": "viewsonic", "display_id": 99, "transport": TCP})
    with pytest.raises(DriverError, match=r"display_id 254 is outside 0..253"):
        DisplayDriver.from_options("d1", {"display_id": 0xFE, "transport": TCP})
    with pytest.raises(DriverError, match=r"transport.serial.port: Field required"):
        DisplayDriver.from_options("d1", {"transport": {"type": "serial"}})


def test_transport_defaults_come_from_the_protocol() -> None:
    # Keys of the room file the driver does not use (id, name, size_inch...) are not its business.
    room_entry = {"kind": "display", "id": "d1", "size_inch": 86, "transport": TCP}
    assert str(DisplayDriver.from_options("d1", {**room_entry, "protocol": "samsung_mdc"})._link.endpoint) == (
        "tcp://127.0.0.1:1515"
    )
    assert str(DisplayDriver.from_options("d1", {**room_entry, "protocol": "viewsonic"})._link.endpoint) == (
        "tcp://127.0.0.1:5000"
    )
    serial = {"transport": {"type": "serial", "port": "/dev/ttyUSB0"}}
    assert str(DisplayDriver.from_options("d1", serial)._link.endpoint) == "serial:///dev/ttyUSB0@9600"


async def test_unknown_command_and_bad_parameters_are_invalid_commands() -> None:
    display = DisplayDriver.from_options("d1", {"transport": TCP})
    with pytest.raises(InvalidCommand, match="unknown command 'dance'"):
        await display.execute("dance", {})
    with pytest.raises(InvalidCommand, match="command 'mute': on: Field required"):
        await display.execute("mute", {})
    with pytest.raises(InvalidCommand, match="command 'power': colour: Extra inputs are not permitted"):
        await display.execute("power", {"on": True, "colour": "red"})


def test_health_counts_successes_and_failures() -> None:
    health = DriverHealth().after_ok().after_ok().after_failure(DriverError("display d1: no reply"))
    assert (health.commands_ok, health.commands_failed, health.last_error) == (2, 1, "display d1: no reply")
    assert health.last_ok is not None and health.last_ok.tzinfo is not None
