"""The sketches as they would be uploaded: `make avr` builds both for the Uno, Nano and Mega 2560
with Debian's AVR toolchain, prints their sizes and fails past a board's limits; the RAM budget
in the firmware's README is what the Uno images hold."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.firmware_bridge.conftest import FIRMWARE_DIR, AvrFirmware

SIZE_LINE = re.compile(r"^(\w+/\w+)\s+flash\s+(\d+) of\s+(\d+) B\s+static RAM\s+(\d+) of\s+(\d+) B", re.MULTILINE)
LIMITS = {"uno": (32256, 1536), "nano": (30720, 1536), "mega": (253952, 7680)}


def sizes(avr: AvrFirmware) -> dict[str, tuple[int, int, int, int]]:
    return {name: (int(a), int(b), int(c), int(d)) for name, a, b, c, d in SIZE_LINE.findall(avr.sizes)}


def test_both_sketches_fit_every_board(avr_firmware: AvrFirmware) -> None:
    found = sizes(avr_firmware)
    assert set(found) == {f"{board}/{sketch}" for board in LIMITS for sketch in ("robot_kit", "vinaponics_node")}
    for name, (flash, flash_max, ram, ram_max) in found.items():
        assert (flash_max, ram_max) == LIMITS[name.split("/")[0]]
        assert flash <= flash_max and ram <= ram_max, name


def test_an_image_past_the_limit_fails_the_build(avr_firmware: AvrFirmware) -> None:
    image = FIRMWARE_DIR / "build" / "avr" / "uno" / "robot_kit.elf"
    result = subprocess.run(["sh", "avr_size.sh", str(image)], cwd=FIRMWARE_DIR, env={"PATH": "/usr/bin:/bin",
                            "RAM_MAX": "1024"}, capture_output=True, text=True, check=False)  # fmt: skip
    assert result.returncode == 1
    assert "uno/robot_kit: over the board limit" in result.stderr


def symbol_sizes(image: Path) -> dict[str, int]:
    """Static RAM by symbol (demangled names, sizes in bytes)."""
    listing = subprocess.run(["avr-nm", "-C", "-S", "-t", "d", str(image)], capture_output=True, text=True,
                             check=True).stdout  # fmt: skip
    out: dict[str, int] = {}
    for line in listing.splitlines():
        parts = line.split(maxsplit=3)
        if len(parts) == 4 and parts[2] in "bBdD":
            out[parts[3]] = int(parts[1])
    return out


def one(symbols: dict[str, int], pattern: str) -> int:
    (size,) = [n for name, n in symbols.items() if re.search(pattern, name)]
    return size


def readme_budget() -> dict[str, tuple[int, int]]:
    """Rows of the README's "RAM budget (Uno)" table: first words -> (robot_kit, vinaponics_node)."""
    readme = (FIRMWARE_DIR / "README.md").read_text()
    table = readme.split("## RAM budget (Uno)", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, tuple[int, int]] = {}
    for line in table.splitlines():
        cells = [cell.strip(" *") for cell in line.strip("|").split("|")]
        if len(cells) == 3 and cells[1].isdigit():
            rows[" ".join(cells[0].split()[:2])] = (int(cells[1]), int(cells[2]))
    return rows


def test_the_readme_ram_budget_is_what_the_uno_images_hold(avr_firmware: AvrFirmware) -> None:
    budget = readme_budget()
    for column, (sketch, kit_symbol) in enumerate((("robot_kit", "robot"), ("vinaponics_node", "node"))):
        image = FIRMWARE_DIR / "build" / "avr" / "uno" / f"{sketch}.elf"
        symbols = symbol_sizes(image)
        device, ring = one(symbols, r"deviceE|::device$"), one(symbols, r"rx_ring$")
        kit = one(symbols, rf"::{kit_symbol}$")
        total = sizes(avr_firmware)[f"uno/{sketch}"][2]
        assert budget["`kit::Device`: the"][column] == device
        assert budget["`kit::UartPort` receive"][column] == ring
        assert budget["the kit:"][column] == kit
        assert budget["the rest:"][column] == total - device - ring - kit
        assert budget["static RAM"][column] == total


def test_a_pin_the_board_lacks_is_a_build_error(tmp_path: Path) -> None:
    """The node's sketch wired for A6/A7 on a DIP Uno (which has A0..A5): refused at compile time."""
    sketch = (FIRMWARE_DIR / "sketches" / "vinaponics_node" / "vinaponics_node.ino").read_text()
    assert "#if NUM_ANALOG_INPUTS >= 8" in sketch
    source = tmp_path / "uno_with_a7.cpp"
    source.write_text("#include <Arduino.h>\n" + sketch.replace("#if NUM_ANALOG_INPUTS >= 8", "#if 1"))
    arduino = Path("/usr/share/arduino/hardware/arduino/avr")
    result = subprocess.run(
        ["avr-g++", "-fsyntax-only", "-mmcu=atmega328p", "-std=gnu++11", "-DF_CPU=16000000L", "-DARDUINO=10807",
         "-DARDUINO_AVR_UNO", "-DARDUINO_ARCH_AVR", f"-I{arduino}/cores/arduino", f"-I{arduino}/variants/standard",
         f"-I{FIRMWARE_DIR / 'ClassroomKit' / 'src'}", str(source)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "an analog pin this board does not have" in result.stderr
