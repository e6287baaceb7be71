"""A kit board emulated instruction by instruction: the AVR image of a sketch, built for an
Arduino Uno exactly as it would be uploaded, run by simavr through our harness
``firmware/build/kit_sim`` with the chip's UART on a pseudo-terminal.

The firmware tests run the same integration tests against it and against the host build;
``bench/serial_bridge.py`` measures command round trips through it. Images are built with
``make -C firmware_bridge/firmware avr-variant`` (Debian's gcc-avr, avr-libc and
arduino-core-avr), the harness with ``make ... sim`` (gcc and libsimavr-dev).
"""

from __future__ import annotations

import hashlib
import re
import shlex
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from firmware_bridge.errors import FrameError

FIRMWARE_DIR = Path(__file__).resolve().parent / "firmware"
BUILD = FIRMWARE_DIR / "build"
KIT_SIM = BUILD / "kit_sim"

SKETCHES = {"robot": "robot_kit", "vinaponics": "vinaponics_node"}
"""The sketch of each kit kind (IDENTIFY ``kind``)."""

SETTINGS = ("KIT_DEVICE_ID", "KIT_TELEMETRY_MS", "KIT_HEARTBEAT_MS", "KIT_HOST_TIMEOUT_MS", "KIT_DROP_COMMANDS",
            "KIT_DROP_REPLIES")  # fmt: skip
"""What a sketch lets a build set (its ``#ifndef`` defaults are what a school uploads)."""
_DEVICE_ID = re.compile(r"[A-Za-z0-9_.-]{1,32}\Z")


@dataclass(frozen=True, slots=True)
class AvrBoard:
    """An Arduino board as the emulator sees it."""

    name: str  # the board of `make avr`: uno, nano, mega
    mcu: str  # simavr's name of the chip
    hz: int
    analog_inputs: int


UNO = AvrBoard("uno", "atmega328p", 16_000_000, 6)

# The probes of a healthy tank, in millivolts on each analog input (the sketch's calibration
# turns them into pH 7.0, 25 °C, 6.0 mg/L, 1.4 mS/cm, 80 % full, 24 °C; 57 % RH and 350 lx
# on a board with A6/A7); the robot's battery divider at 3.7 V (50 %).
SENSOR_MILLIVOLTS: dict[str, dict[int, int]] = {
    "vinaponics": {0: 2500, 1: 2500, 2: 1250, 3: 1400, 4: 3300, 5: 740, 6: 2600, 7: 1750},
    "robot": {4: 3700},
}
# Inputs driven from the start: the robot's emergency-stop button (D4 = PD4, pulled up) is out.
START_PINS: dict[str, tuple[str, ...]] = {"robot": ("PD4=1",)}
ESTOP_PIN = "PD4"


def _make(*args: str) -> None:
    if shutil.which("make") is None or shutil.which("avr-gcc") is None:
        raise FrameError("cannot build the AVR firmware: apt-get install make gcc-avr avr-libc arduino-core-avr")
    result = subprocess.run(["make", "-s", "-C", str(FIRMWARE_DIR), *args], capture_output=True, text=True,
                            check=False)  # fmt: skip
    if result.returncode != 0:
        raise FrameError(f"make {' '.join(args)} failed: {(result.stderr or result.stdout)[-1500:]}")


def build_harness() -> Path:
    """Build (or find up to date) ``kit_sim``; raises FrameError when it cannot be built."""
    _make("sim")
    return KIT_SIM


def build_image(kit: str, settings: Mapping[str, str | int] | None = None, board: AvrBoard = UNO) -> Path:
    """The sketch of ``kit`` built for ``board`` with ``settings`` (``{"KIT_DEVICE_ID": "robot-3"}``)."""
    sketch = SKETCHES.get(kit)
    if sketch is None:
        raise FrameError(f"no sketch for kit {kit!r}: known {sorted(SKETCHES)}")
    defines: list[str] = []
    for key, value in sorted((settings or {}).items()):
        if key not in SETTINGS:
            raise FrameError(f"sketch setting {key!r} unknown: known {list(SETTINGS)}")
        if key == "KIT_DEVICE_ID" and not _DEVICE_ID.match(str(value)):
            raise FrameError(f"device id {value!r}: 1..32 characters of A-Z a-z 0-9 _ . -")
        text = f'"{value}"' if key == "KIT_DEVICE_ID" else str(int(value))
        defines.append(f"-D{key}={text}")
    name = f"{sketch}-{hashlib.sha1(' '.join(defines).encode()).hexdigest()[:12]}"
    _make("avr-variant", f"BOARD={board.name}", f"SKETCH={sketch}", f"NAME={name}",
          f"DEFINES={' '.join(shlex.quote(d) for d in defines)}")  # fmt: skip
    return BUILD / "avr" / board.name / "variants" / f"{name}.elf"


def harness_command(kit: str, image: Path, master_fd: int, board: AvrBoard = UNO, *pins: str) -> list[str]:
    """The command line that runs ``image`` with its UART on ``master_fd`` and the kit's probes wired."""
    command = [str(KIT_SIM), "--fd", str(master_fd), "--mcu", board.mcu, "--hz", str(board.hz)]
    for channel, millivolts in SENSOR_MILLIVOLTS.get(kit, {}).items():
        if channel < board.analog_inputs or board.analog_inputs >= 8:
            command += ["--adc", f"{channel}={millivolts}"]
    for pin in (*START_PINS.get(kit, ()), *pins):
        command += ["--pin", pin]
    return [*command, str(image)]
