"""config/examples/stem-lab.toml describes boards that can exist: one device per board, with the
id its sketch announces, on a USB id of a board its sketch fits, reading the sensors that board
has, driving the outputs the firmware names."""

from __future__ import annotations

import re
from pathlib import Path

from config.loader import load_settings
from config.settings import SerialTransport
from tests.firmware_bridge.conftest import FIRMWARE_DIR, AvrFirmware
from tests.firmware_bridge.test_avr_images import sizes

ROOM = Path(__file__).resolve().parents[2] / "config" / "examples" / "stem-lab.toml"
SKETCH = {"sensor_node": "vinaponics_node", "robot": "robot_kit"}
BOARD_BY_USB_ID = {(0x2341, 0x0043): "uno", (0x2341, 0x0042): "mega", (0x1A86, 0x7523): "nano"}
ANALOG_ONLY_ON_8_INPUTS = {"humidity", "light"}  # A6/A7: Nano and Mega, not a DIP Uno


def sketch_default(sketch: str, setting: str) -> str:
    text = (FIRMWARE_DIR / "sketches" / sketch / f"{sketch}.ino").read_text()
    match = re.search(rf'#define {setting} "?([^"\n]+)"?\n', text)
    assert match is not None, f"{sketch}: no default {setting}"
    return match.group(1)


def test_the_example_stem_lab_matches_the_firmware(avr_firmware: AvrFirmware) -> None:
    built = sizes(avr_firmware)
    devices = load_settings(ROOM).device_list()
    serial = [(device_id, device) for device_id, device in devices if isinstance(device.transport, SerialTransport)]
    assert {device.kind for _, device in serial} == {"sensor_node", "robot"}  # no separate actuator board
    for device_id, device in serial:
        transport = device.transport
        assert isinstance(transport, SerialTransport) and transport.usb_vid is not None
        board = BOARD_BY_USB_ID[(transport.usb_vid, transport.usb_pid or 0)]
        sketch = SKETCH[device.kind]
        assert f"{board}/{sketch}" in built  # it builds for that board within its limits
        if device_id.endswith("-1"):  # the first of each: the id the sketch ships with
            assert sketch_default(sketch, "KIT_DEVICE_ID") == device_id
        if device.kind == "sensor_node":
            sensors = set(getattr(device, "sensors", []))
            assert sensors <= {"ph", "water_temp", "do", "ec", "level", "air_temp", "humidity", "light"}
            if board == "uno":
                assert not sensors & ANALOG_ONLY_ON_8_INPUTS


def test_the_node_names_the_outputs_the_lab_drives() -> None:
    from stem_labs.sensors import VINAPONICS_ACTUATORS

    node = (FIRMWARE_DIR / "ClassroomKit" / "src" / "kits" / "vinaponics.cpp").read_text()
    outputs = re.search(r'VinaponicsNode::outputs\(\) \{ return KIT_TEXT\("([a-z,]+)"\)', node)
    commands = re.search(r'VinaponicsNode::commands\(\) \{ return KIT_TEXT\("([a-z_,]+)"\)', node)
    assert outputs is not None and commands is not None
    for actuator in VINAPONICS_ACTUATORS:  # what stem_labs sends: set {pump|aerator|lights}, feed {portions}
        assert actuator.command in commands.group(1).split(",")
        if actuator.command == "set":
            assert actuator.argument in outputs.group(1).split(",")
